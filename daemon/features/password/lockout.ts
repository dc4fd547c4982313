/**
 * Lockout arithmetic for password attempts, kept separately per MAC and per IP. Pure: state in, state
 * out, the clock is the caller's.
 *
 * Rules (defaults 5 failures, then 15 minutes):
 * - failures count until the key has been quiet (no wrong password) for `lockoutMs`; then a new count
 *   starts. A fixed window from the first failure would let an attacker fit almost twice the limit
 *   around its edge; this way no period of `lockoutMs` ever holds more than `maxFailures` checked guesses;
 * - the failure that reaches `maxFailures` locks the key for `lockoutMs` from that moment;
 * - while locked, attempts are refused without being checked (even a right password) and are not counted;
 * - when the lockout ends, the count starts again from zero;
 * - a right password (when not locked) clears the key; an admin may clear it at any time.
 */
export interface LockoutPolicy {
  maxFailures: number;
  lockoutMs: number;
}

export interface FailureState {
  failures: number;
  firstAt: number;
  lastAt: number;
  /** Set once `failures` reached the limit; the key is locked until then. */
  lockedUntil: number | null;
}

/** Milliseconds the key stays locked, 0 when it may try. */
export function lockedFor(state: FailureState | undefined, now: number): number {
  if (!state || state.lockedUntil === null) return 0;
  return Math.max(0, state.lockedUntil - now);
}

/** The state with stale parts dropped: an ended lockout or a quiet period counts as no failures. */
function current(state: FailureState | undefined, now: number, policy: LockoutPolicy): FailureState | undefined {
  if (!state) return undefined;
  if (state.lockedUntil !== null) return state.lockedUntil > now ? state : undefined;
  return now - state.lastAt < policy.lockoutMs ? state : undefined;
}

/** Failures that still count (0 after a quiet period or a finished lockout). */
export function failuresCounted(state: FailureState | undefined, now: number, policy: LockoutPolicy): number {
  return current(state, now, policy)?.failures ?? 0;
}

/** Wrong passwords this key may still type before it is locked out. */
export function triesLeft(state: FailureState | undefined, now: number, policy: LockoutPolicy): number {
  if (lockedFor(state, now) > 0) return 0;
  return Math.max(0, policy.maxFailures - failuresCounted(state, now, policy));
}

/**
 * The state after one more wrong password. A key that is still locked is returned unchanged (attempts
 * during a lockout are refused before they are checked, so they never extend it).
 */
export function afterFailure(state: FailureState | undefined, now: number, policy: LockoutPolicy): FailureState {
  const live = current(state, now, policy);
  if (live && lockedFor(live, now) > 0) return live;
  const failures = (live?.failures ?? 0) + 1;
  const firstAt = live?.firstAt ?? now;
  return { failures, firstAt, lastAt: now, lockedUntil: failures >= policy.maxFailures ? now + policy.lockoutMs : null };
}

/** True when the failure just recorded is the one that started a lockout. */
export function startedLockout(before: FailureState | undefined, after: FailureState, now: number): boolean {
  return lockedFor(before, now) === 0 && lockedFor(after, now) > 0;
}

/** A row that no longer affects anything and may be deleted. */
export function isStale(state: FailureState, now: number, policy: LockoutPolicy): boolean {
  return current(state, now, policy) === undefined;
}
