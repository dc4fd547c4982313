/**
 * Sharing a subnet with another PXE server (WDS, a Configuration Manager PXE point): which clients this
 * appliance leaves to it. Pure: decide() asks `coexistWithholds` for a client the inventory does not
 * know, and the DHCP door asks `offerWaitSeconds` how long a proxy offer waits before it is sent.
 *
 *   none        answer every client the policy lets boot (the default);
 *   known-only  answer only computers in the inventory: an unknown one is ignored (reason
 *               `coexist-known-only`), never recorded as pending, so the site's PXE point gets it;
 *   delay       answer unknown computers only once the other server had `coexistDelaySeconds` to answer
 *               them; known computers are answered as without the switch.
 *
 * The delay is judged as the response delay is (Configuration Manager's rule): against the client's
 * `secs`, the seconds since it began. A client the other server left waiting that long is answered at
 * once. With a response delay too, an unknown client waits the longer of the two.
 */
import type { Decision } from './types.js';

export const COEXIST_MODES = ['none', 'known-only', 'delay'] as const;
export type CoexistMode = (typeof COEXIST_MODES)[number];

export interface CoexistRule {
  mode: CoexistMode;
  /** Used with `delay` only. */
  delaySeconds: number;
}

/** Whether decide() must stay silent to a client the inventory does not know. */
export function coexistWithholds(rule: CoexistRule): boolean {
  return rule.mode === 'known-only';
}

/**
 * Whether a decision is about a computer the inventory knows. Pending and ignored clients are unknown;
 * boot, local and password decisions name their computer (null for an unknown one).
 */
export function isKnownDecision(decision: Decision): boolean {
  return 'computer' in decision && decision.computer !== null;
}

export interface OfferWait {
  /** Seconds to hold the offer (0 = send now). */
  seconds: number;
  /** Which setting held it: the metric label and the log's reason. */
  reason: 'response-delay' | 'coexist-delay' | null;
}

/**
 * How long a proxy offer on port 67 waits. `responseDelaySeconds` applies to every client;
 * the coexistence delay, in `delay` mode, to unknown clients only; the longer wins. Both are counted
 * from the client's start (`secs`), so the wait is what is left of the longer delay.
 */
export function offerWaitSeconds(rule: CoexistRule, responseDelaySeconds: number, decision: Decision, secs: number): OfferWait {
  const coexist = rule.mode === 'delay' && !isKnownDecision(decision) ? rule.delaySeconds : 0;
  const longest = Math.max(responseDelaySeconds, coexist);
  const seconds = Math.max(0, longest - secs);
  if (seconds === 0) return { seconds: 0, reason: null };
  return { seconds, reason: coexist > responseDelaySeconds ? 'coexist-delay' : 'response-delay' };
}
