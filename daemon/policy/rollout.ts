/**
 * The rollout gate decide() consults for a known computer: is the computer admitted to its profile's
 * rollout, and, for a required deployment, is its maintenance window open. Pure data evaluated for one
 * instant; daemon/features/rollout/service.ts rebuilds it when the day, a window's state or the rollout state
 * changes, so a decision costs two map lookups.
 */
import type { RolloutCheck, RolloutGate } from './decide.js';

export interface ProfileAdmission {
  /** Lower-case names of the computers admitted so far. */
  admitted: ReadonlySet<string>;
  /** What a computer not admitted yet boots instead: a profile name, or null for its local disk. */
  fallback: string | null;
}

export interface GateData {
  /** Profiles with a rollout. */
  rollouts: ReadonlyMap<string, ProfileAdmission>;
  /** Lower-case computer name -> the maintenance window it keeps. */
  windowOf: ReadonlyMap<string, string>;
  /** Window name -> open at the gate's instant. Windows missing here count as closed. */
  open: ReadonlyMap<string, boolean>;
}

const GO: RolloutCheck = { kind: 'go' };
const OUTSIDE: RolloutCheck = { kind: 'outside-window' };

export function buildGate(data: GateData): RolloutGate {
  const notAdmitted = new Map<string, RolloutCheck>();
  for (const [profile, r] of data.rollouts) notAdmitted.set(profile, { kind: 'not-admitted', fallback: r.fallback });
  return {
    check(computer, required) {
      const key = computer.name.toLowerCase();
      const rollout = data.rollouts.get(computer.profile);
      if (rollout && !rollout.admitted.has(key)) return notAdmitted.get(computer.profile) ?? GO;
      // Windows guard required deployments only: an available one is started by a person at the machine.
      if (!required) return GO;
      const window = data.windowOf.get(key);
      if (window === undefined) return GO;
      return data.open.get(window) === true ? GO : OUTSIDE;
    },
  };
}

/** The gate when no profile has a rollout and no window is configured: lets everything through. */
export const OPEN_GATE: RolloutGate = { check: () => GO };
