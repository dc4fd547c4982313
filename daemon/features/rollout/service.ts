/**
 * Rollouts as plain functions on the store, for the admin API, the CLI and the live gate: group
 * membership, the plan of each profile (recording who gets admitted on which day), the schedule
 * table, deployment results with automatic halts, and halting/resuming by hand. Errors are AdminError
 * (HTTP status, exact message), every change leaves an audit event naming who made it.
 */
import type { BootgateConfig, RolloutConfig } from '../../config/schema.js';
import { AdminError } from '../../http/admin/errors.js';
import { auditAdmin, type AdminAuditExtra } from '../events/service.js';
import { findComputer, InventoryService } from '../inventory/service.js';
import { defineService, type ServiceContext } from '../feature.js';
import type { ComputerRecord } from '../../store/computers.js';
import { formatDayNumber, parseLocalDate } from './clock.js';
import { settingsOf, windowsOf } from './config.js';
import { groupsToHalt, type ResultStatus } from './failures.js';
import { planRollout, rolloutDay, type HaltSpan, type Plan, type RolloutMember, type RolloutSettings } from './plan.js';
import { rolloutStatus, type HaltInfo, type RolloutStatus } from './status.js';
import { RolloutRepo, type HaltRecord, type MemberRecord, type ResultRecord } from './store.js';

/** The group of a computer nobody assigned to one. */
export const UNGROUPED = 'ungrouped';
export const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CRITICALITY_MAX = 1_000_000;

export interface MemberInput {
  /** Computer name, MAC or SMBIOS GUID. */
  computer: string;
  group: string;
  criticality?: number | null;
  window?: string | null;
}

export interface ResultInput {
  /** Computer name, MAC or SMBIOS GUID. */
  computer: string;
  status: ResultStatus;
  /** The profile deployed; default the computer's profile. */
  profile?: string;
  detail?: string;
}

export interface ResultOutcome {
  computer: string;
  profile: string;
  group: string;
  status: ResultStatus;
  /** The reason, when this result halted the computer's group. */
  halted: string | null;
}

/** A profile's rollout as loaded from the store for one instant. */
export interface LoadedRollout {
  profile: string;
  rollout: RolloutConfig;
  settings: RolloutSettings;
  plan: Plan;
  halts: HaltRecord[];
  results: ResultRecord[];
}

export interface RolloutServiceOptions {
  now?: () => number;
  /** Called after a `done` result (the composition root marks the required deployment consumed). */
  onDone?: (computer: string, actor: string) => void;
}

/** What the live gate is built from (live.ts). */
export interface GateInputs {
  loaded: LoadedRollout[];
  members: MemberRecord[];
  computers: string[];
}

export class RolloutService {
  private readonly now: () => number;

  constructor(
    readonly repo: RolloutRepo,
    private readonly cfg: () => BootgateConfig,
    private readonly opts: RolloutServiceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Announces a change made through this service on the store's one change watch (the live gate rebuilds). */
  private changed(): void {
    this.store.notify('rollout');
  }

  private get store() {
    return this.repo.store;
  }

  private audit(actor: string, detail: string, extra: AdminAuditExtra = {}): void {
    auditAdmin(this.store, this.now(), actor, detail, extra);
  }

  private computer(ref: string): ComputerRecord {
    return findComputer(this.store, ref);
  }

  private rolloutOf(profile: string): RolloutConfig {
    const p = Object.hasOwn(this.cfg().profiles, profile) ? this.cfg().profiles[profile] : undefined;
    if (!p) throw new AdminError(404, 'ERR_NOT_FOUND', `no profile ${JSON.stringify(profile)}`);
    if (!p.rollout) throw new AdminError(404, 'ERR_NOT_FOUND', `profile ${JSON.stringify(profile)} has no rollout (profiles.${profile}.rollout in the configuration)`);
    return p.rollout;
  }

  // ---- membership -------------------------------------------------------------------------------

  members(): MemberRecord[] {
    return this.repo.members();
  }

  private checkMember(m: MemberInput, where: string): { value?: Omit<MemberRecord, 'updatedAt'>; problems: string[] } {
    const problems: string[] = [];
    let name: string | undefined;
    try {
      name = this.computer(m.computer).name;
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
      problems.push(`${where}: ${err.message}`);
    }
    if (!GROUP_PATTERN.test(m.group)) problems.push(`${where}: group ${JSON.stringify(m.group)} must be 1-64 letters, digits, ".", "_" or "-"`);
    const rank = m.criticality ?? null;
    if (rank !== null && (!Number.isInteger(rank) || rank < 0 || rank > CRITICALITY_MAX)) {
      problems.push(`${where}: criticality must be a whole number from 0 to ${CRITICALITY_MAX} (lower = less critical = earlier), found ${JSON.stringify(rank)}`);
    }
    const window = m.window ?? null;
    if (window !== null && !Object.hasOwn(windowsOf(this.cfg()), window)) {
      problems.push(`${where}: window ${JSON.stringify(window)} is not in maintenanceWindows (${Object.keys(windowsOf(this.cfg())).join(', ') || 'none configured'})`);
    }
    return name === undefined || problems.length > 0 ? { problems } : { value: { computer: name, group: m.group, criticality: rank, window }, problems };
  }

  /** Sets the group, criticality and own window of computers: all or nothing. */
  setMembers(list: readonly MemberInput[], actor: string): MemberRecord[] {
    const checked = list.map((m, i) => this.checkMember(m, list.length === 1 ? m.computer : `members[${i}] (${m.computer})`));
    const problems = checked.flatMap((c) => c.problems);
    if (problems.length > 0) {
      const missing = problems.every((p) => p.includes(': no computer '));
      throw new AdminError(missing ? 404 : 400, missing ? 'ERR_NOT_FOUND' : 'ERR_VALIDATION', problems[0] ?? 'invalid', problems);
    }
    const t = this.now();
    this.store.durable(() => {
      for (const c of checked) {
        const v = c.value as Omit<MemberRecord, 'updatedAt'>;
        this.repo.setMember(v, t);
        this.audit(actor, `rollout member: group ${v.group}, criticality ${v.criticality ?? 'none'}, window ${v.window ?? 'group\'s'}`, { computer: v.computer });
      }
    });
    this.changed();
    const names = new Set(checked.map((c) => c.value?.computer.toLowerCase()));
    return this.repo.members().filter((m) => names.has(m.computer.toLowerCase()));
  }

  removeMember(ref: string, actor: string): void {
    const name = this.computer(ref).name;
    const removed = this.store.durable(() => {
      const ok = this.repo.deleteMember(name);
      if (ok) this.audit(actor, `rollout member removed (now ${UNGROUPED})`, { computer: name });
      return ok;
    });
    if (!removed) throw new AdminError(404, 'ERR_NOT_FOUND', `computer ${JSON.stringify(name)} has no rollout group`);
    this.changed();
  }

  // ---- plans and status -------------------------------------------------------------------------

  /**
   * Loads every rollout (or the one named) for the instant `t`, records the admissions the plan makes
   * up to today, and returns the plans.
   */
  load(t: number, only?: string): LoadedRollout[] {
    const cfg = this.cfg();
    const out: LoadedRollout[] = [];
    for (const [profile, p] of Object.entries(cfg.profiles)) {
      if (!p.rollout || (only !== undefined && only !== profile)) continue;
      const settings = settingsOf(p.rollout);
      // Read, plan and admit as one step per rollout: appliances sharing a store admit one at a time, so
      // two of them deciding at the same moment cannot both fill the day's quota. The members are read
      // inside that step too: a plan made from a member list read before another appliance admitted
      // (and before an import it saw) would not count those admissions against the day's quota.
      const { halts, plan } = this.store.tx(() => {
        this.store.serialize(`rollout:${profile}`);
        const membership = new Map(this.repo.members().map((m) => [m.computer.toLowerCase(), m]));
        const members: RolloutMember[] = this.store.computers.all().filter((c) => c.profile === profile).map((c) => {
          const m = membership.get(c.name.toLowerCase());
          return { name: c.name, group: m?.group ?? UNGROUPED, criticality: m?.criticality ?? null };
        });
        const halts = this.repo.halts(profile);
        const spans: HaltSpan[] = halts.map((h) => ({
          group: h.group, fromDay: rolloutDay(settings, h.haltedAt), toDay: h.resumedAt === null ? null : rolloutDay(settings, h.resumedAt),
        }));
        // Admissions are stored as local dates; the plan counts in day indexes from the start date.
        const day0 = parseLocalDate(settings.startDate) ?? 0;
        const admittedOn = new Map(this.repo.admissions(profile).map((a) => [a.computer.toLowerCase(), (parseLocalDate(a.date) ?? day0) - day0]));
        const plan = planRollout({ settings, members, admittedOn, halts: spans, today: rolloutDay(settings, t) });
        this.repo.admit(profile, plan.newlyAdmitted.map((a) => ({ ...a, date: formatDayNumber(day0 + a.day) })), t);
        return { halts, plan };
      });
      out.push({ profile, rollout: p.rollout, settings, plan, halts, results: this.repo.results(profile) });
    }
    return out;
  }

  /**
   * What the live gate is built from, read in one call: the plans (admitting the day's machines), the
   * group memberships and the computers' names.
   */
  gateInputs(t: number): GateInputs {
    return { loaded: this.load(t), members: this.repo.members(), computers: this.store.computers.all().map((c) => c.name) };
  }

  /** The schedule table of one profile's rollout, as of now. */
  status(profile: string): RolloutStatus {
    this.rolloutOf(profile);
    const loaded = this.load(this.now(), profile)[0];
    if (!loaded) throw new AdminError(404, 'ERR_NOT_FOUND', `profile ${JSON.stringify(profile)} has no rollout`);
    return statusOf(loaded);
  }

  /** Every rollout's status. */
  statuses(): RolloutStatus[] {
    return this.load(this.now()).map(statusOf);
  }

  // ---- halts --------------------------------------------------------------------------------------

  /** Also records today's admissions first, so a halt never takes back the ones the day began with. */
  private checkGroup(profile: string, group: string): void {
    const groups = new Set(this.load(this.now(), profile)[0]?.plan.groups.map((g) => g.group) ?? []);
    if (!groups.has(group)) {
      throw new AdminError(404, 'ERR_NOT_FOUND', `no group ${JSON.stringify(group)} in the rollout of ${profile} (groups: ${[...groups].join(', ') || 'none'})`);
    }
  }

  /** Stops a group admitting anyone new (machines admitted already keep their deployment). */
  halt(profile: string, group: string, actor: string, reason = 'halted by hand'): RolloutStatus {
    this.rolloutOf(profile);
    this.checkGroup(profile, group);
    this.store.durable(() => {
      if (this.repo.openHalt(profile, group)) throw new AdminError(409, 'ERR_CONFLICT', `group ${JSON.stringify(group)} of ${profile} is halted already`);
      this.repo.halt(profile, group, this.now(), actor, reason);
      this.audit(actor, `rollout halted: group ${group} (${reason})`, { profile });
    });
    this.changed();
    return this.status(profile);
  }

  /** Lets a halted group go on at the rate it stopped at; failures before now no longer count. */
  resume(profile: string, group: string, actor: string): RolloutStatus {
    this.rolloutOf(profile);
    this.store.durable(() => {
      if (!this.repo.resume(profile, group, this.now(), actor)) throw new AdminError(409, 'ERR_CONFLICT', `group ${JSON.stringify(group)} of ${profile} is not halted`);
      this.audit(actor, `rollout resumed: group ${group}`, { profile });
    });
    this.changed();
    return this.status(profile);
  }

  // ---- results ------------------------------------------------------------------------------------

  /** A deployment reports how it ended; a failure may halt the computer's group. */
  recordResult(input: ResultInput, actor: string): ResultOutcome {
    const c = this.computer(input.computer);
    const profile = input.profile ?? c.profile;
    if (!Object.hasOwn(this.cfg().profiles, profile)) throw new AdminError(400, 'ERR_VALIDATION', `profile ${JSON.stringify(profile)} is not in the configuration`);
    const group = this.repo.members().find((m) => m.computer.toLowerCase() === c.name.toLowerCase())?.group ?? UNGROUPED;
    const rollout = this.cfg().profiles[profile]?.rollout ?? null;
    const t = this.now();
    // Today's admissions happen at the day's start: record them before a halt can stop them.
    if (rollout) this.load(t, profile);
    const halted = this.store.durable(() => {
      this.repo.addResult({ profile, computer: c.name, group, status: input.status, at: t, detail: input.detail ?? null, actor });
      this.audit(actor, `deployment ${input.status}${input.detail ? `: ${input.detail}` : ''}`, { computer: c.name, profile, mac: c.macs[0] ?? null });
      return rollout ? this.autoHalt(profile, group, rollout, t) : null;
    });
    this.changed();
    if (input.status === 'done') this.opts.onDone?.(c.name, actor);
    return { computer: c.name, profile, group, status: input.status, halted };
  }

  /** Inside the result's transaction: halts the group when its failures cross the threshold. */
  private autoHalt(profile: string, group: string, rollout: RolloutConfig, t: number): string | null {
    if (this.repo.openHalt(profile, group)) return null;
    const halts = this.repo.halts(profile).filter((h) => h.group === group);
    const lastResume = Math.max(0, ...halts.map((h) => h.resumedAt ?? 0));
    const results = this.repo.results(profile).filter((r) => r.group === group);
    const hit = groupsToHalt(results, rollout.haltAfter, new Set(), () => lastResume)[0];
    if (!hit) return null;
    this.repo.halt(profile, group, t, 'auto', hit.reason);
    this.audit('auto', `rollout halted: group ${group} (${hit.reason})`, { profile });
    return hit.reason;
  }
}

export function statusOf(l: LoadedRollout): RolloutStatus {
  const open = new Map<string, HaltInfo>();
  for (const h of l.halts) if (h.resumedAt === null) open.set(h.group, { at: h.haltedAt, by: h.haltedBy, reason: h.reason });
  return rolloutStatus({ profile: l.profile, settings: l.settings, plan: l.plan, results: l.results, halts: open });
}

/** A rollout service on this store; a `done` result consumes the computer's required deployment, as `computers done` does. */
export function rolloutServiceOn(c: ServiceContext): RolloutService {
  return new RolloutService(RolloutRepo.open(c.store), c.config, {
    now: c.now, onDone: (computer, actor) => new InventoryService(c.store, c.config).deploymentDone(computer, actor),
  });
}

/** The admin API's RolloutService (on the service host's thread with the shared store). */
export const rolloutService = defineService('rollout', rolloutServiceOn);
