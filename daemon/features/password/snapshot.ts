/**
 * Puts the password gate into the one decision path without touching the store backend: the policy
 * snapshot gets the gate's live unlock view, and every recorded decision is shown to the gate (a new
 * DHCP exchange on port 67 ends the previous boot's unlock). The composition root hands this wrapper,
 * not the bare backend, to the Gatekeeper.
 */
import type { DecisionContext, PolicyBackend } from '../../boot/gatekeeper.js';
import type { PolicySnapshot } from '../../policy/decide.js';
import type { ClientInfo, Decision } from '../../policy/types.js';
import { passwordFacts, type UnlockView } from '../../policy/password.js';

/** What the wrapper needs of the gate (gate.ts `PasswordGate`). */
export interface DecisionObserver {
  readonly unlocks: UnlockView;
  observe(client: ClientInfo, decision: Decision): void;
}

export function withPasswordGate(backend: PolicyBackend, gate: DecisionObserver, cfg: () => { password: { required: boolean } }): PolicyBackend {
  let last: { base: PolicySnapshot; snap: PolicySnapshot } | null = null;
  return {
    snapshot(): PolicySnapshot {
      const base = backend.snapshot();
      // The backend rebuilds its snapshot only on changes; keep one wrapped copy per rebuilt snapshot.
      if (last?.base !== base) {
        last = { base, snap: { ...base, password: { ...(base.password ?? passwordFacts(cfg())), unlocks: gate.unlocks } } };
      }
      return last.snap;
    },
    record(client: ClientInfo, decision: Decision, context: DecisionContext): void {
      backend.record(client, decision, context);
      try {
        gate.observe(client, decision);
      } catch {
        // observe() only forgets an unlock; it must never cost a decision.
      }
    },
  };
}
