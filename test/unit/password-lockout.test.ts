/**
 * Lockout arithmetic with an injected clock: 5 wrong passwords (per MAC, per IP), then 15 minutes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  afterFailure, failuresCounted, isStale, lockedFor, startedLockout, triesLeft, type FailureState, type LockoutPolicy,
} from '../../daemon/features/password/lockout.js';

const POLICY: LockoutPolicy = { maxFailures: 5, lockoutMs: 15 * 60_000 };
const MIN = 60_000;
const T0 = 1_700_000_000_000;

function fail(n: number, start: number, stepMs: number, from?: FailureState): FailureState | undefined {
  let s = from;
  for (let i = 0; i < n; i++) s = afterFailure(s, start + i * stepMs, POLICY);
  return s;
}

test('no failures: not locked, all tries left', () => {
  assert.equal(lockedFor(undefined, T0), 0);
  assert.equal(triesLeft(undefined, T0, POLICY), 5);
  assert.equal(failuresCounted(undefined, T0, POLICY), 0);
});

test('four failures leave one try; the fifth locks for 15 minutes from that failure', () => {
  const four = fail(4, T0, 10_000);
  assert.equal(lockedFor(four, T0 + 40_000), 0);
  assert.equal(triesLeft(four, T0 + 40_000, POLICY), 1);
  const fifthAt = T0 + 40_000;
  const five = afterFailure(four, fifthAt, POLICY);
  assert.equal(five.failures, 5);
  assert.equal(five.lockedUntil, fifthAt + 15 * MIN);
  assert.equal(startedLockout(four, five, fifthAt), true);
  assert.equal(lockedFor(five, fifthAt), 15 * MIN);
  assert.equal(lockedFor(five, fifthAt + 15 * MIN - 1), 1);
  assert.equal(triesLeft(five, fifthAt + MIN, POLICY), 0);
});

test('the lockout ends exactly after its length, and the count starts again from zero', () => {
  const locked = fail(5, T0, 1000) as FailureState;
  const end = (locked.lockedUntil ?? 0);
  assert.equal(lockedFor(locked, end), 0);
  assert.equal(triesLeft(locked, end, POLICY), 5);
  const next = afterFailure(locked, end, POLICY);
  assert.equal(next.failures, 1);
  assert.equal(next.lockedUntil, null);
  assert.equal(next.firstAt, end);
});

test('failures during a lockout neither count nor extend it', () => {
  const locked = fail(5, T0, 1000) as FailureState;
  const again = afterFailure(locked, T0 + 10 * MIN, POLICY);
  assert.deepEqual(again, locked);
  assert.equal(startedLockout(locked, again, T0 + 10 * MIN), false);
});

test('slow guessing still locks: failures count until the key has been quiet for the lockout length', () => {
  // One failure every 14 minutes: never quiet for 15, so the 5th locks.
  const slow = fail(5, T0, 14 * MIN) as FailureState;
  assert.equal(slow.failures, 5);
  assert.equal(slow.lockedUntil, T0 + 56 * MIN + 15 * MIN);
  // One every 15 minutes: each follows a full quiet period, the count restarts every time.
  const spaced = fail(5, T0, 15 * MIN) as FailureState;
  assert.equal(spaced.lockedUntil, null);
  assert.equal(spaced.failures, 1);
  assert.equal(failuresCounted(spaced, T0 + 60 * MIN + 1, POLICY), 1);
});

test('a configurable policy: 3 failures, 1 minute', () => {
  const p: LockoutPolicy = { maxFailures: 3, lockoutMs: MIN };
  let s: FailureState | undefined;
  for (let i = 0; i < 3; i++) s = afterFailure(s, T0 + i, p);
  assert.equal(lockedFor(s, T0 + 2), MIN);
  assert.equal(lockedFor(s, T0 + 2 + MIN), 0);
});

test('stale rows: a quiet period or an ended lockout may be deleted, a live count may not', () => {
  const two = afterFailure(afterFailure(undefined, T0, POLICY), T0 + 10 * MIN, POLICY);
  assert.equal(isStale(two, T0 + 24 * MIN, POLICY), false);
  assert.equal(isStale(two, T0 + 25 * MIN, POLICY), true);
  const locked = fail(5, T0, 1) as FailureState;
  assert.equal(isStale(locked, T0 + 10 * MIN, POLICY), false);
  assert.equal(isStale(locked, (locked.lockedUntil ?? 0), POLICY), true);
});

test('property: whatever the timing, never more than maxFailures wrong passwords are checked per lockout period', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 * MIN }), { minLength: 1, maxLength: 40 }), (gaps) => {
    let t = T0;
    let s: FailureState | undefined;
    const checked: number[] = [];
    for (const g of gaps) {
      t += g;
      // A caller checks the password only when not locked (gate.ts does the same).
      if (lockedFor(s, t) > 0) continue;
      checked.push(t);
      s = afterFailure(s, t, POLICY);
    }
    // In any window of lockoutMs there can be at most maxFailures checked attempts.
    for (let i = 0; i < checked.length; i++) {
      const inWindow = checked.filter((x) => x >= (checked[i] as number) && x < (checked[i] as number) + POLICY.lockoutMs).length;
      assert.ok(inWindow <= POLICY.maxFailures, `${inWindow} attempts checked within one lockout window`);
    }
  }));
});
