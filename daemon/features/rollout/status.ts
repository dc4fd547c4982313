/**
 * The schedule table deployment teams keep: per group and per day, machines planned, admitted, done
 * and failed. Pure: built from a plan, the recorded results and the halts.
 *
 * - planned: the plan as it stands now: what was admitted on past days, the projection on later ones.
 * - admitted: machines actually admitted that day (today and before).
 * - done / failed: machines of that day's cohort (admitted that day) by their latest result, so a
 *   row says "of the 8 admitted on day 3, 6 are done and 1 failed".
 */
import { formatDayNumber, parseLocalDate } from './clock.js';
import { latestByComputer, type DeploymentResult } from './failures.js';
import type { Plan, RolloutSettings } from './plan.js';

export interface DayRow {
  day: number;
  /** The local date of the day, `YYYY-MM-DD`. */
  date: string;
  planned: number;
  admitted: number;
  done: number;
  failed: number;
}

export interface HaltInfo {
  at: number;
  by: string;
  reason: string;
}

export interface GroupStatus {
  group: string;
  machines: number;
  admitted: number;
  done: number;
  failed: number;
  /** The open halt, or null when the group is running. */
  halt: HaltInfo | null;
  /** The day the group's last machine is (projected to be) admitted; null = not within the horizon. */
  completeDay: number | null;
  days: DayRow[];
}

export interface RolloutStatus {
  profile: string;
  settings: RolloutSettings;
  /** Today's day index (negative before the start date) and local date. */
  today: number;
  todayDate: string;
  /** Every machine of the profile is admitted (as of today). */
  complete: boolean;
  /** The day the last machine is (projected to be) admitted; null when halted groups keep some out. */
  completeDay: number | null;
  totals: DayRow[];
  groups: GroupStatus[];
}

export interface StatusInput {
  profile: string;
  settings: RolloutSettings;
  plan: Plan;
  results: Iterable<DeploymentResult>;
  /** Open halts by group. */
  halts: ReadonlyMap<string, HaltInfo>;
}

/** Days shown: from day 0 to the last day anything happened or is planned (today included while the rollout runs). */
function lastShownDay(plan: Plan): number {
  let last = 0;
  for (const g of plan.groups) g.perDay.forEach((n, d) => { if (n > 0 && d > last) last = d; });
  return plan.complete ? last : Math.max(last, Math.min(plan.today, plan.lastDay));
}

function emptyRow(day0: number, day: number): DayRow {
  return { day, date: formatDayNumber(day0 + day), planned: 0, admitted: 0, done: 0, failed: 0 };
}

export function rolloutStatus(input: StatusInput): RolloutStatus {
  const { plan } = input;
  const day0 = parseLocalDate(input.settings.startDate) ?? 0;
  const last = lastShownDay(plan);
  const days = (): DayRow[] => Array.from({ length: last + 1 }, (_, d) => emptyRow(day0, d));
  const groups = new Map<string, GroupStatus>(plan.groups.map((g) => {
    const rows = days();
    rows.forEach((r) => { r.planned = g.perDay[r.day] ?? 0; });
    return [g.group, {
      group: g.group, machines: g.machines, admitted: 0, done: 0, failed: 0,
      halt: input.halts.get(g.group) ?? null, completeDay: g.completeDay, days: rows,
    }];
  }));
  for (const a of plan.admitted.values()) {
    const g = groups.get(a.group);
    if (!g) continue;
    g.admitted += 1;
    const r = g.days[a.day];
    if (r) r.admitted += 1;
  }
  for (const result of latestByComputer(input.results).values()) {
    // A result counts in its cohort (the computer's admission day); a machine that reports without
    // being admitted (e.g. deployed by hand) still counts in its group's totals.
    const a = plan.admitted.get(result.computer);
    const g = groups.get(a?.group ?? result.group);
    if (!g) continue;
    g[result.status] += 1;
    const r = a ? g.days[a.day] : undefined;
    if (r) r[result.status] += 1;
  }
  const totals = days();
  for (const g of groups.values()) {
    for (const r of g.days) {
      const t = totals[r.day] as DayRow;
      t.planned += r.planned;
      t.admitted += r.admitted;
      t.done += r.done;
      t.failed += r.failed;
    }
  }
  return {
    profile: input.profile, settings: input.settings, today: plan.today, todayDate: formatDayNumber(day0 + plan.today),
    complete: plan.groups.every((g) => g.machines === groups.get(g.group)?.admitted),
    completeDay: plan.complete ? Math.max(0, ...plan.groups.map((g) => g.completeDay ?? 0)) : null,
    totals, groups: [...groups.values()],
  };
}

function table(header: string[], rows: Array<Array<string | number>>): string[] {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const width = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  // Text columns left-aligned, numbers right-aligned, as a spreadsheet shows them.
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return cells.map((r) => r.map((c, i) => (numeric[i] ? c.padStart(width[i] ?? 0) : c.padEnd(width[i] ?? 0))).join('  ').trimEnd());
}

function describeSettings(s: RolloutSettings): string {
  const growth = s.growthFactor === 2 ? 'doubling daily' : `x${s.growthFactor} daily`;
  const perGroup = s.dailyLimitPerGroup === null ? '' : `, at most ${s.dailyLimitPerGroup} per group a day`;
  const total = s.dailyLimit === null ? '' : `, at most ${s.dailyLimit} a day in all`;
  return `${s.startPerGroup} per group on day 0, ${growth}${perGroup}${total}`;
}

/** The status as the CLI prints it: a summary per group, then the per-day table per group and in total. */
export function renderStatus(st: RolloutStatus): string {
  const when = st.today < 0 ? `starts ${st.settings.startDate} (in ${-st.today} day${st.today === -1 ? '' : 's'})` : `day ${st.today} (${st.todayDate})`;
  const lines = [
    `Rollout of profile ${st.profile}: ${when}, ${st.settings.timeZone}; ${describeSettings(st.settings)}`,
    st.complete ? 'Every machine is admitted.'
      : st.completeDay === null ? 'Halted groups keep some machines out: the plan does not complete until they are resumed.'
      : `The last machines are admitted on day ${st.completeDay} (${formatDayNumber((parseLocalDate(st.settings.startDate) ?? 0) + st.completeDay)}).`,
    '',
    ...table(
      ['group', 'machines', 'admitted', 'done', 'failed', 'state'],
      st.groups.map((g) => [g.group, g.machines, g.admitted, g.done, g.failed,
        g.halt ? `HALTED ${new Date(g.halt.at).toISOString()} by ${g.halt.by}: ${g.halt.reason}` : g.admitted === g.machines ? 'all admitted' : 'running']),
    ),
    '',
  ];
  const dayRows = (group: string, rows: DayRow[]) => rows.map((r) => [r.day === st.today ? `${r.day}*` : String(r.day), r.date, group, r.planned, r.admitted, r.done, r.failed]);
  lines.push(...table(['day', 'date', 'group', 'planned', 'admitted', 'done', 'failed'], [
    ...st.groups.flatMap((g) => dayRows(g.group, g.days)),
    ...dayRows('(all)', st.totals),
  ]));
  lines.push('', '* today');
  return lines.join('\n') + '\n';
}
