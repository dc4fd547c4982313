/**
 * Failure accounting: latest result per computer, tallies per group, the count and ratio thresholds,
 * and a resume that acknowledges the failures seen before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupsToHalt, haltReason, latestByComputer, tallyByGroup, type DeploymentResult, type HaltThreshold } from '../../daemon/features/rollout/failures.js';

const r = (computer: string, group: string, status: 'done' | 'failed', at: number): DeploymentResult => ({ computer, group, status, at });
const COUNT3: HaltThreshold = { failures: 3, failureRatio: null, minResults: 5 };

test('a computer counts once, by its latest result', () => {
  const results = [r('pc1', 'a', 'failed', 10), r('pc1', 'a', 'done', 20), r('pc2', 'a', 'done', 15), r('pc2', 'a', 'failed', 30), r('pc3', 'a', 'failed', 5)];
  assert.deepEqual([...latestByComputer(results)].map(([k, v]) => [k, v.status]), [['pc1', 'done'], ['pc2', 'failed'], ['pc3', 'failed']]);
  assert.deepEqual(tallyByGroup(results).get('a'), { done: 1, failed: 2 });
  // Results only count from `since` on.
  assert.deepEqual(tallyByGroup(results, () => 16).get('a'), { done: 1, failed: 1 });
});

test('the count threshold halts the group that reached it, and only that group', () => {
  const results = [
    r('a1', 'kiosks', 'failed', 1), r('a2', 'kiosks', 'failed', 2), r('a3', 'kiosks', 'failed', 3), r('a4', 'kiosks', 'done', 4),
    r('b1', 'servers', 'failed', 1), r('b2', 'servers', 'failed', 2), r('b3', 'servers', 'done', 3),
  ];
  assert.deepEqual(groupsToHalt(results, COUNT3, new Set()), [{ group: 'kiosks', reason: '3 failed deployments (threshold 3)' }]);
  assert.deepEqual(groupsToHalt(results, COUNT3, new Set(['kiosks'])), [], 'already halted');
  // A retry that succeeded takes the machine out of the failures.
  assert.deepEqual(groupsToHalt([...results, r('a1', 'kiosks', 'done', 9)], COUNT3, new Set()), []);
});

test('the ratio threshold waits for minResults', () => {
  const t: HaltThreshold = { failures: null, failureRatio: 0.5, minResults: 4 };
  assert.equal(haltReason({ done: 1, failed: 1 }, t), null, 'two results are too few to judge');
  assert.equal(haltReason({ done: 2, failed: 1 }, t), null);
  assert.equal(haltReason({ done: 2, failed: 2 }, t), '2 of 4 deployments failed (50%, threshold 50%)');
  assert.equal(haltReason({ done: 7, failed: 3 }, t), null, '30% < 50%');
  assert.equal(haltReason({ done: 0, failed: 0 }, { failures: null, failureRatio: 0.1, minResults: 1 }), null);
  assert.equal(haltReason({ done: 0, failed: 1 }, { failures: 1, failureRatio: null, minResults: 5 }), '1 failed deployment (threshold 1)');
  assert.equal(haltReason({ done: 0, failed: 9 }, { failures: null, failureRatio: null, minResults: 5 }), null, 'no threshold, no halt');
});

test('a resume acknowledges earlier failures: only later ones count toward the next halt', () => {
  const results = [r('a1', 'kiosks', 'failed', 1), r('a2', 'kiosks', 'failed', 2), r('a3', 'kiosks', 'failed', 3)];
  const resumedAt = (g: string) => (g === 'kiosks' ? 100 : 0);
  assert.deepEqual(groupsToHalt(results, COUNT3, new Set(), resumedAt), []);
  const later = [...results, r('a4', 'kiosks', 'failed', 101), r('a5', 'kiosks', 'failed', 102)];
  assert.deepEqual(groupsToHalt(later, COUNT3, new Set(), resumedAt), []);
  assert.deepEqual(groupsToHalt([...later, r('a1', 'kiosks', 'failed', 103)], COUNT3, new Set(), resumedAt), [{ group: 'kiosks', reason: '3 failed deployments (threshold 3)' }]);
});
