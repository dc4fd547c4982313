/**
 * The ramped rollout plan: which computers of a profile are admitted on which day. Pure and
 * deterministic: a function of the settings, the members (group + criticality), what was already
 * recorded (admitted-on days, halts) and "today" as a day index. No clock, no store.
 *
 * The schedule, as deployment teams run a service pack out:
 * - Day 0 is `startDate` in `timeZone`; a day starts at local midnight (clock.ts).
 * - Each group (role) may admit `startPerGroup * growthFactor^k` new machines on a day, where k counts
 *   the days the group has been running (not halted) before it, capped by `dailyLimitPerGroup`.
 *   Counting running days rather than calendar days means a group resumed after a halt picks up at
 *   the rate it was halted at instead of jumping to the size the calendar would give it.
 * - A group admits its machines in criticality order (lower rank = less critical = earlier; machines
 *   without a rank come after every ranked one, as they were never judged safe; ties by name).
 * - The day's total is capped by `dailyLimit`. When the groups want more than that, the slots are
 *   shared round-robin, one slot per group per turn, until the limit is reached (max-min fairness: no
 *   group starves because another is large). The turn order puts first the group whose next machine is
 *   the least critical, so when slots do not divide evenly, the spare ones go to less critical work.
 * - A halted group admits nobody new on the days it is halted (from the halt's day until the resume's
 *   day; a group resumed the day it was halted loses no day). Machines already admitted stay admitted:
 *   a day's admissions are made as the day begins (the service records them before it records a
 *   halt), so a halt at 10:00 on day 3 stops days 4 and later, and day 3's cohort is the one at risk.
 * - Machines recorded as admitted keep their day even if the plan would now choose others (the
 *   inventory, ranks or settings changed): nobody admitted yesterday is taken back today.
 */
import type { RolloutConfig } from '../../config/schema.js';
import { localTime, parseLocalDate } from './clock.js';

/** What a plan is computed from: a profile's rollout config without its fallback and halt rules. */
export type RolloutSettings = Pick<RolloutConfig, 'startDate' | 'timeZone' | 'startPerGroup' | 'growthFactor' | 'dailyLimit' | 'dailyLimitPerGroup'>;

export interface RolloutMember {
  name: string;
  group: string;
  /** Lower = less critical = earlier; null = not ranked (last). */
  criticality: number | null;
}

/** A group halted on days [fromDay, toDay); toDay null = still halted. */
export interface HaltSpan {
  group: string;
  fromDay: number;
  toDay: number | null;
}

export interface PlanInput {
  settings: RolloutSettings;
  members: readonly RolloutMember[];
  /** Recorded admissions: lower-case computer name -> day index. */
  admittedOn: ReadonlyMap<string, number>;
  halts: readonly HaltSpan[];
  /** Today's day index (negative before the start date). */
  today: number;
  /** How far ahead the projection may run (days after today); default 3650. */
  horizonDays?: number;
}

export interface GroupPlan {
  group: string;
  machines: number;
  /** Halted today. */
  halted: boolean;
  /** New admissions per day index, 0..plan.lastDay: as recorded up to today, projected after. */
  perDay: number[];
  /** The day the group's last machine is (or is projected to be) admitted; null = not within the horizon. */
  completeDay: number | null;
}

export interface Admission {
  name: string;
  group: string;
  day: number;
}

export interface Plan {
  today: number;
  /** Members admitted on or before today, by lower-case name. */
  admitted: Map<string, Admission>;
  /** Admissions for days up to today that were not recorded yet: the caller persists them. */
  newlyAdmitted: Admission[];
  groups: GroupPlan[];
  /** Last day index covered by the per-day arrays (at least today). */
  lastDay: number;
  /** Every member is admitted by lastDay. */
  complete: boolean;
}

const DEFAULT_HORIZON = 3650;

/**
 * The day index of `instant`: local calendar days since startDate in the rollout's time zone (0 on the
 * start date, negative before it). A day begins at local midnight, so DST days count as one day.
 */
export function rolloutDay(s: Pick<RolloutSettings, 'startDate' | 'timeZone'>, instant: number): number {
  const start = parseLocalDate(s.startDate);
  if (start === null) throw new RangeError(`rollout startDate ${JSON.stringify(s.startDate)} is not a date YYYY-MM-DD`);
  return localTime(instant, s.timeZone).dayNumber - start;
}

/** The group's quota on its k-th running day (k from 0), before the total limit. */
export function groupQuota(s: Pick<RolloutSettings, 'startPerGroup' | 'growthFactor' | 'dailyLimitPerGroup'>, k: number): number {
  // factor^k overflows to Infinity for long rollouts: the caps below bound it.
  const grown = Math.floor(s.startPerGroup * s.growthFactor ** k);
  return Math.min(grown, s.dailyLimitPerGroup ?? Infinity);
}

/**
 * Shares `capacity` slots among wants, one slot per group per turn in `order` (indices into wants),
 * until every want is met or the slots are gone. Returns the grant per group.
 */
export function shareRoundRobin(wants: readonly number[], capacity: number, order: readonly number[]): number[] {
  const grant = wants.map(() => 0);
  let left = capacity;
  let active = order.filter((g) => (wants[g] ?? 0) > 0);
  while (left > 0 && active.length > 0) {
    // Whole turns at once (the same result as one slot at a time, without looping per slot).
    const turns = Math.floor(left / active.length);
    if (turns === 0) {
      for (const g of active.slice(0, left)) grant[g] = (grant[g] ?? 0) + 1;
      break;
    }
    for (const g of active) {
      const give = Math.min(turns, (wants[g] ?? 0) - (grant[g] ?? 0));
      grant[g] = (grant[g] ?? 0) + give;
      left -= give;
    }
    active = active.filter((g) => (grant[g] ?? 0) < (wants[g] ?? 0));
  }
  return grant;
}

function byCriticality(a: RolloutMember, b: RolloutMember): number {
  const ra = a.criticality ?? Infinity;
  const rb = b.criticality ?? Infinity;
  if (ra !== rb) return ra < rb ? -1 : 1;
  return a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0;
}

interface GroupState {
  name: string;
  queue: RolloutMember[];
  /** Next queue position that may be unadmitted. */
  next: number;
  unadmitted: number;
  runningDays: number;
  perDay: number[];
  recordedPerDay: Map<number, number>;
  halts: HaltSpan[];
  completeDay: number | null;
}

function haltedOn(g: GroupState, day: number): boolean {
  return g.halts.some((h) => h.fromDay <= day && (h.toDay === null || day < h.toDay));
}

/** Halted on `day` and never resumed: the projection cannot move this group any further. */
function stuckFrom(g: GroupState, day: number): boolean {
  return g.halts.some((h) => h.toDay === null && h.fromDay <= day);
}

function buildGroups(input: PlanInput, admitted: Map<string, Admission>): GroupState[] {
  const byGroup = new Map<string, RolloutMember[]>();
  for (const m of input.members) {
    const list = byGroup.get(m.group) ?? [];
    list.push(m);
    byGroup.set(m.group, list);
  }
  return [...byGroup.keys()].sort().map((name) => {
    const queue = (byGroup.get(name) ?? []).sort(byCriticality);
    const recordedPerDay = new Map<number, number>();
    let unadmitted = 0;
    for (const m of queue) {
      const day = input.admittedOn.get(m.name.toLowerCase());
      if (day === undefined) { unadmitted += 1; continue; }
      admitted.set(m.name.toLowerCase(), { name: m.name, group: name, day });
      recordedPerDay.set(day, (recordedPerDay.get(day) ?? 0) + 1);
    }
    return {
      name, queue, next: 0, unadmitted, runningDays: 0, perDay: [], recordedPerDay,
      halts: input.halts.filter((h) => h.group === name), completeDay: unadmitted === 0 && queue.length > 0 ? lastRecorded(recordedPerDay) : null,
    };
  });
}

function lastRecorded(perDay: Map<number, number>): number | null {
  return perDay.size === 0 ? null : Math.max(...perDay.keys());
}

/** Takes the group's next `n` unadmitted members (in criticality order) for `day`. */
function admitNext(g: GroupState, n: number, day: number, admitted: Map<string, Admission>): Admission[] {
  const out: Admission[] = [];
  while (out.length < n && g.next < g.queue.length) {
    const m = g.queue[g.next] as RolloutMember;
    g.next += 1;
    const key = m.name.toLowerCase();
    if (admitted.has(key)) continue;
    const a = { name: m.name, group: g.name, day };
    admitted.set(key, a);
    out.push(a);
  }
  g.unadmitted -= out.length;
  return out;
}

/** Turn order for the day: the group whose next machine is least critical first, then by name. */
function turnOrder(groups: GroupState[], admitted: ReadonlyMap<string, Admission>): number[] {
  const head = groups.map((g) => {
    while (g.next < g.queue.length && admitted.has((g.queue[g.next] as RolloutMember).name.toLowerCase())) g.next += 1;
    return g.queue[g.next];
  });
  return groups.map((_, i) => i).sort((a, b) => {
    const ha = head[a];
    const hb = head[b];
    if (!ha || !hb) return ha ? -1 : hb ? 1 : 0;
    const byRank = (ha.criticality ?? Infinity) - (hb.criticality ?? Infinity);
    return Number.isNaN(byRank) || byRank === 0 ? ((groups[a] as GroupState).name < (groups[b] as GroupState).name ? -1 : 1) : byRank;
  });
}

/** One day of the schedule: returns the admissions made that day. */
function planDay(input: PlanInput, groups: GroupState[], day: number, admitted: Map<string, Admission>): Admission[] {
  const s = input.settings;
  const recorded = groups.map((g) => g.recordedPerDay.get(day) ?? 0);
  const wants = groups.map((g, i) => {
    if (haltedOn(g, day) || g.unadmitted === 0) return 0;
    return Math.max(0, Math.min(groupQuota(s, g.runningDays) - (recorded[i] ?? 0), g.unadmitted));
  });
  const used = recorded.reduce((a, b) => a + b, 0);
  const capacity = s.dailyLimit === null ? Infinity : Math.max(0, s.dailyLimit - used);
  const grants = shareRoundRobin(wants, capacity, turnOrder(groups, admitted));
  const made: Admission[] = [];
  groups.forEach((g, i) => {
    const got = admitNext(g, grants[i] ?? 0, day, admitted);
    made.push(...got);
    g.perDay[day] = (recorded[i] ?? 0) + got.length;
    if (!haltedOn(g, day)) g.runningDays += 1;
    if (g.unadmitted === 0 && g.completeDay === null && g.queue.length > 0) g.completeDay = Math.max(day, lastRecorded(g.recordedPerDay) ?? day);
  });
  return made;
}

export function planRollout(input: PlanInput): Plan {
  const admitted = new Map<string, Admission>();
  const groups = buildGroups(input, admitted);
  const newlyAdmitted: Admission[] = [];
  const horizon = Math.max(input.today, 0) + (input.horizonDays ?? DEFAULT_HORIZON);
  // Recorded admissions past today (a clock set back) still have to appear in the table.
  const lastRecordedDay = Math.max(-1, ...groups.map((g) => lastRecorded(g.recordedPerDay) ?? -1));
  let day = 0;
  for (; day <= horizon; day += 1) {
    const canMove = groups.some((g) => g.unadmitted > 0 && !stuckFrom(g, day));
    if (day > input.today && day > lastRecordedDay && !canMove) break;
    const made = planDay(input, groups, day, admitted);
    if (day <= input.today) newlyAdmitted.push(...made);
  }
  const lastDay = Math.max(day - 1, input.today, 0);
  for (const g of groups) for (let d = 0; d <= lastDay; d += 1) g.perDay[d] ??= 0;
  // Only admissions up to today admit anyone; later ones are the projection.
  for (const [name, a] of admitted) if (a.day > input.today && !input.admittedOn.has(name)) admitted.delete(name);
  return {
    today: input.today,
    admitted,
    newlyAdmitted,
    groups: groups.map((g) => ({ group: g.name, machines: g.queue.length, halted: haltedOn(g, input.today), perDay: g.perDay, completeDay: g.completeDay })),
    lastDay,
    complete: groups.every((g) => g.unadmitted === 0),
  };
}
