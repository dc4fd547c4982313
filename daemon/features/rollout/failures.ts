/**
 * Failure accounting for a rollout: deployment results reported per computer, tallied per group, and
 * the threshold that halts a group on its own. Pure functions over the recorded results.
 *
 * Rules:
 * - A computer counts once, by its latest result (a machine that failed and then succeeded on a
 *   retry is done, not failed).
 * - A resume acknowledges the failures seen so far: the threshold only counts results reported after
 *   the group's last resume. Otherwise a resumed group would halt again on the very next result.
 * - Threshold: `failures` failed machines, or a failed share of `failureRatio` once at least
 *   `minResults` machines reported (a ratio over two results means nothing). Either may be null.
 */

export type ResultStatus = 'done' | 'failed';

export interface DeploymentResult {
  /** Lower-case computer name. */
  computer: string;
  group: string;
  status: ResultStatus;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface HaltThreshold {
  failures: number | null;
  failureRatio: number | null;
  minResults: number;
}

export interface Tally {
  done: number;
  failed: number;
}

/** The latest result of each computer (ties on `at`: the later one in the list wins). */
export function latestByComputer(results: Iterable<DeploymentResult>): Map<string, DeploymentResult> {
  const latest = new Map<string, DeploymentResult>();
  for (const r of results) {
    const prev = latest.get(r.computer);
    if (!prev || r.at >= prev.at) latest.set(r.computer, r);
  }
  return latest;
}

/**
 * Done and failed machines per group, by each machine's latest result; only results at or after
 * `since(group)` count (the group's last resume; 0 = all).
 */
export function tallyByGroup(results: Iterable<DeploymentResult>, since: (group: string) => number = () => 0): Map<string, Tally> {
  const counted: DeploymentResult[] = [];
  for (const r of results) if (r.at >= since(r.group)) counted.push(r);
  const tally = new Map<string, Tally>();
  for (const r of latestByComputer(counted).values()) {
    const t = tally.get(r.group) ?? { done: 0, failed: 0 };
    t[r.status] += 1;
    tally.set(r.group, t);
  }
  return tally;
}

/** Why a tally crosses the threshold, or null when it does not. */
export function haltReason(t: Tally, threshold: HaltThreshold): string | null {
  if (threshold.failures !== null && t.failed >= threshold.failures) {
    return `${t.failed} failed deployment${t.failed === 1 ? '' : 's'} (threshold ${threshold.failures})`;
  }
  const reported = t.done + t.failed;
  if (threshold.failureRatio !== null && reported >= threshold.minResults && reported > 0 && t.failed / reported >= threshold.failureRatio) {
    return `${t.failed} of ${reported} deployments failed (${Math.round((t.failed / reported) * 100)}%, threshold ${Math.round(threshold.failureRatio * 100)}%)`;
  }
  return null;
}

/**
 * The groups the threshold halts now: not already halted, with results counted since their last
 * resume crossing it. Sorted by group name, each with the reason for the audit trail.
 */
export function groupsToHalt(
  results: Iterable<DeploymentResult>,
  threshold: HaltThreshold,
  halted: ReadonlySet<string>,
  lastResume: (group: string) => number = () => 0,
): Array<{ group: string; reason: string }> {
  const out: Array<{ group: string; reason: string }> = [];
  for (const [group, t] of tallyByGroup(results, lastResume)) {
    if (halted.has(group)) continue;
    const reason = haltReason(t, threshold);
    if (reason !== null) out.push({ group, reason });
  }
  return out.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}
