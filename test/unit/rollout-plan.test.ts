/**
 * The ramped rollout plan with an injected day: doubling per group, the per-group and total daily
 * limits, round-robin sharing, criticality order, halts that stop only their group, recorded
 * admissions that are never taken back, and the day index in a time zone across DST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  groupQuota, planRollout, rolloutDay, shareRoundRobin,
  type HaltSpan, type Plan, type PlanInput, type RolloutMember, type RolloutSettings,
} from '../../daemon/features/rollout/plan.js';

const SETTINGS: RolloutSettings = {
  startDate: '2025-03-03', timeZone: 'Europe/Berlin', startPerGroup: 1, growthFactor: 2, dailyLimit: 40, dailyLimitPerGroup: null,
};

/** 300 machines in 19 groups of uneven sizes (4 to 33), criticality ranks scrambled within each group. */
function fleet(): RolloutMember[] {
  const sizes = Array.from({ length: 19 }, (_, i) => 4 + ((i * 11) % 23));
  const short = 300 - sizes.reduce((a, b) => a + b, 0);
  sizes[0] = (sizes[0] ?? 0) + short;
  const members: RolloutMember[] = [];
  sizes.forEach((n, g) => {
    for (let i = 0; i < n; i += 1) {
      members.push({ name: `pc-${String(g).padStart(2, '0')}-${String(i).padStart(3, '0')}`, group: `g${String(g).padStart(2, '0')}`, criticality: (i * 37) % 101 });
    }
  });
  return members;
}

function plan(over: Partial<PlanInput> = {}): Plan {
  return planRollout({ settings: SETTINGS, members: fleet(), admittedOn: new Map(), halts: [], today: 0, ...over });
}

const dayTotals = (p: Plan): number[] => Array.from({ length: p.lastDay + 1 }, (_, d) => p.groups.reduce((s, g) => s + (g.perDay[d] ?? 0), 0));

test('groupQuota: start, doubling, the per-group cap; other factors round down', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((k) => groupQuota({ startPerGroup: 1, growthFactor: 2, dailyLimitPerGroup: null }, k)), [1, 2, 4, 8, 16, 32]);
  assert.deepEqual([0, 1, 2, 3, 4].map((k) => groupQuota({ startPerGroup: 2, growthFactor: 2, dailyLimitPerGroup: 10 }, k)), [2, 4, 8, 10, 10]);
  assert.deepEqual([0, 1, 2, 3].map((k) => groupQuota({ startPerGroup: 1, growthFactor: 1.5, dailyLimitPerGroup: null }, k)), [1, 1, 2, 3]);
  assert.equal(groupQuota({ startPerGroup: 1, growthFactor: 2, dailyLimitPerGroup: 25 }, 5000), 25, 'no overflow after years');
});

test('shareRoundRobin: one slot per group per turn in the given order', () => {
  assert.deepEqual(shareRoundRobin([5, 1, 10], 8, [0, 1, 2]), [4, 1, 3]);
  assert.deepEqual(shareRoundRobin([5, 1, 10], 8, [2, 1, 0]), [3, 1, 4]);
  assert.deepEqual(shareRoundRobin([5, 1, 10], 100, [0, 1, 2]), [5, 1, 10]);
  assert.deepEqual(shareRoundRobin([5, 0, 10], 0, [0, 1, 2]), [0, 0, 0]);
});

test('shareRoundRobin equals handing out one slot at a time (property)', () => {
  const oneByOne = (wants: number[], capacity: number, order: number[]): number[] => {
    const g = wants.map(() => 0);
    let left = capacity;
    while (left > 0 && order.some((i) => (g[i] ?? 0) < (wants[i] ?? 0))) {
      for (const i of order) if (left > 0 && (g[i] ?? 0) < (wants[i] ?? 0)) { g[i] = (g[i] ?? 0) + 1; left -= 1; }
    }
    return g;
  };
  fc.assert(fc.property(fc.array(fc.nat(30), { minLength: 1, maxLength: 12 }), fc.nat(200), fc.boolean(), (wants, capacity, reverse) => {
    const order = wants.map((_, i) => i);
    if (reverse) order.reverse();
    const got = shareRoundRobin(wants, capacity, order);
    assert.deepEqual(got, oneByOne(wants, capacity, order));
    assert.equal(got.reduce((a, b) => a + b, 0), Math.min(capacity, wants.reduce((a, b) => a + b, 0)));
  }), { numRuns: 300 });
});

test('a small plan worked by hand: 3 groups, 5 a day, ties by group name', () => {
  const members: RolloutMember[] = [
    ...Array.from({ length: 10 }, (_, i) => ({ name: `a${i}`, group: 'a', criticality: null })),
    ...Array.from({ length: 3 }, (_, i) => ({ name: `b${i}`, group: 'b', criticality: null })),
    ...Array.from({ length: 6 }, (_, i) => ({ name: `c${i}`, group: 'c', criticality: null })),
  ];
  const p = planRollout({ settings: { ...SETTINGS, dailyLimit: 5 }, members, admittedOn: new Map(), halts: [], today: 0 });
  assert.deepEqual(p.groups.map((g) => [g.group, g.perDay, g.completeDay]), [
    ['a', [1, 2, 3, 3, 1], 4],
    ['b', [1, 2, 0, 0, 0], 1],
    ['c', [1, 1, 2, 2, 0], 3],
  ]);
  assert.deepEqual(dayTotals(p), [3, 5, 5, 5, 1]);
  assert.equal(p.complete, true);
  assert.deepEqual([...p.admitted.keys()].sort(), ['a0', 'b0', 'c0']);
});

test('spare slots go to the group whose next machine is least critical', () => {
  const members: RolloutMember[] = [
    { name: 'db1', group: 'databases', criticality: 90 }, { name: 'db2', group: 'databases', criticality: 91 },
    { name: 'kiosk1', group: 'kiosks', criticality: 1 }, { name: 'kiosk2', group: 'kiosks', criticality: 2 },
  ];
  const p = planRollout({ settings: { ...SETTINGS, startPerGroup: 2, dailyLimit: 3 }, members, admittedOn: new Map(), halts: [], today: 0 });
  assert.deepEqual(p.groups.map((g) => [g.group, g.perDay]), [['databases', [1, 1]], ['kiosks', [2, 0]]]);
  assert.deepEqual([...p.admitted.keys()].sort(), ['db1', 'kiosk1', 'kiosk2']);
});

test('300 machines in 19 groups, at most 40 a day: doubling with the cap, every machine in the end', () => {
  const members = fleet();
  const p = plan({ today: 30 });
  const totals = dayTotals(p);
  assert.equal(p.groups.length, 19);
  assert.equal(totals.reduce((a, b) => a + b, 0), 300);
  assert.ok(totals.every((t) => t <= 40), `daily totals ${totals.join(',')}`);
  assert.deepEqual(totals.slice(0, 3), [19, 38, 40], 'day 0: one per group; day 1: two per group; day 2: capped');
  assert.equal(p.complete, true);
  assert.equal(p.admitted.size, 300);
  for (const g of p.groups) {
    const size = members.filter((m) => m.group === g.group).length;
    assert.equal(g.perDay[0], 1, `${g.group} starts with one`);
    assert.equal(g.perDay[1], 2, `${g.group} doubles on day 1`);
    let left = size;
    g.perDay.forEach((n, d) => {
      assert.ok(n <= 2 ** d, `${g.group} day ${d}: ${n} > ${2 ** d}`);
      // Where the total limit did not bind, the group got exactly its doubling (or what it had left).
      if ((totals[d] ?? 0) < 40) assert.equal(n, Math.min(2 ** d, left), `${g.group} day ${d}`);
      left -= n;
    });
    assert.equal(left, 0);
  }
  // Within a group, less critical machines are never admitted after more critical ones.
  for (const g of p.groups) {
    const days = members.filter((m) => m.group === g.group).sort((a, b) => (a.criticality ?? 0) - (b.criticality ?? 0))
      .map((m) => p.admitted.get(m.name.toLowerCase())?.day ?? Infinity);
    assert.deepEqual(days, [...days].sort((a, b) => a - b), g.group);
  }
  assert.deepEqual(totals.slice(0, 9), [19, 38, 40, 40, 40, 40, 40, 40, 3]);
  assert.equal(p.lastDay, 30, 'the table runs to today');
  assert.ok(totals.slice(9).every((t) => t === 0));
});

test('on a given day only the machines admitted so far are admitted; the rest is a projection', () => {
  const p = plan({ today: 2 });
  assert.equal(p.admitted.size, 19 + 38 + 40);
  assert.equal(p.newlyAdmitted.length, 97);
  assert.ok([...p.admitted.values()].every((a) => a.day <= 2));
  assert.equal(p.lastDay, 8, 'the projection still runs to the end');
  const before = plan({ today: -3 });
  assert.equal(before.admitted.size, 0);
  assert.equal(before.newlyAdmitted.length, 0);
  assert.deepEqual(dayTotals(before), dayTotals(p), 'the same schedule, seen before the start');
});

test('a halt stops only its group; others keep their pace or use the freed slots', () => {
  const free = plan({ today: 30 });
  const halts: HaltSpan[] = [{ group: 'g03', fromDay: 2, toDay: null }];
  const p = plan({ today: 30, halts });
  const g03 = p.groups.find((g) => g.group === 'g03');
  assert.deepEqual(g03?.perDay.slice(0, 2), [1, 2]);
  assert.ok(g03?.perDay.slice(2).every((n) => n === 0), 'nothing new after the halt');
  assert.equal(g03?.halted, true);
  assert.equal(g03?.completeDay, null);
  assert.equal(p.complete, false);
  assert.ok(dayTotals(p).every((t) => t <= 40));
  for (const g of p.groups.filter((x) => x.group !== 'g03')) {
    const f = free.groups.find((x) => x.group === g.group);
    let mine = 0;
    let theirs = 0;
    g.perDay.forEach((n, d) => {
      mine += n;
      theirs += f?.perDay[d] ?? 0;
      assert.ok(mine >= Math.min(theirs, g.machines), `${g.group} fell behind on day ${d}`);
    });
    assert.equal(mine, g.machines, `${g.group} completes`);
  }
});

test('a resumed group picks up at the rate it was halted at', () => {
  const members = Array.from({ length: 40 }, (_, i) => ({ name: `m${i}`, group: 'solo', criticality: i }));
  const settings = { ...SETTINGS, dailyLimit: null };
  const p = planRollout({ settings, members, admittedOn: new Map(), halts: [{ group: 'solo', fromDay: 2, toDay: 4 }], today: 7 });
  // Days 2 and 3 halted; day 4 is its third running day: 4, not 16.
  assert.deepEqual(p.groups[0]?.perDay, [1, 2, 0, 0, 4, 8, 16, 9]);
  const sameDay = planRollout({ settings, members, admittedOn: new Map(), halts: [{ group: 'solo', fromDay: 2, toDay: 2 }], today: 0 });
  assert.deepEqual(sameDay.groups[0]?.perDay, [1, 2, 4, 8, 16, 9], 'halted and resumed the same day loses nothing');
});

test('recorded admissions are kept and count against their day', () => {
  const members = Array.from({ length: 10 }, (_, i) => ({ name: `M${i}`, group: 'g', criticality: i }));
  // M9, the most critical, was admitted on day 0 (its rank was changed since): it stays, and uses day 0's slot.
  const p = planRollout({ settings: SETTINGS, members, admittedOn: new Map([['m9', 0]]), halts: [], today: 1 });
  assert.deepEqual(p.groups[0]?.perDay, [1, 2, 4, 3]);
  assert.deepEqual(p.newlyAdmitted.map((a) => [a.name, a.day]), [['M0', 1], ['M1', 1]]);
  assert.equal(p.admitted.get('m9')?.day, 0);
  // A recorded machine that left the profile does not count.
  const gone = planRollout({ settings: SETTINGS, members, admittedOn: new Map([['old-pc', 0]]), halts: [], today: 0 });
  assert.deepEqual(gone.newlyAdmitted.map((a) => a.name), ['M0']);
});

test('recording day by day gives the same schedule as planning at once', () => {
  const members = fleet();
  const admittedOn = new Map<string, number>();
  for (let today = 0; today <= 9; today += 1) {
    const p = planRollout({ settings: SETTINGS, members, admittedOn, halts: [], today });
    for (const a of p.newlyAdmitted) admittedOn.set(a.name.toLowerCase(), a.day);
  }
  const once = plan({ today: 9 });
  assert.deepEqual(new Map([...once.admitted].map(([k, a]) => [k, a.day])), admittedOn);
  // Skipped days (the daemon was down) are filled in with their own days.
  const late = plan({ today: 5 });
  assert.deepEqual([...new Set(late.newlyAdmitted.map((a) => a.day))], [0, 1, 2, 3, 4, 5]);
});

test('the plan does not depend on the order the members are listed in', () => {
  const members = fleet();
  const shuffled = [...members].sort((a, b) => (a.name.split('').reverse().join('') < b.name.split('').reverse().join('') ? -1 : 1));
  assert.deepEqual(plan({ members: shuffled, today: 3 }), plan({ members, today: 3 }));
});

test('the per-group daily limit caps the doubling', () => {
  const p = plan({ settings: { ...SETTINGS, dailyLimit: null, dailyLimitPerGroup: 3 }, today: 30 });
  assert.ok(p.groups.every((g) => g.perDay.every((n) => n <= 3)));
  assert.equal(p.complete, true);
});

test('the day index counts local midnights in the time zone, DST days included', () => {
  const s = { startDate: '2025-03-29', timeZone: 'Europe/Berlin' };
  assert.equal(rolloutDay(s, Date.parse('2025-03-28T22:59:59Z')), -1);
  assert.equal(rolloutDay(s, Date.parse('2025-03-28T23:00:00Z')), 0, 'Sat 00:00 CET');
  assert.equal(rolloutDay(s, Date.parse('2025-03-29T22:59:59Z')), 0);
  assert.equal(rolloutDay(s, Date.parse('2025-03-29T23:00:00Z')), 1, 'Sun 00:00 CET: the 23-hour day begins');
  assert.equal(rolloutDay(s, Date.parse('2025-03-30T21:59:59Z')), 1);
  assert.equal(rolloutDay(s, Date.parse('2025-03-30T22:00:00Z')), 2, 'Mon 00:00 CEST');
  const ny = { startDate: '2025-11-01', timeZone: 'America/New_York' };
  assert.equal(rolloutDay(ny, Date.parse('2025-11-02T04:00:00Z')), 1, 'Sun 00:00 EDT');
  assert.equal(rolloutDay(ny, Date.parse('2025-11-03T04:59:59Z')), 1, 'Sun 23:59 EST: the 25-hour day');
  assert.equal(rolloutDay(ny, Date.parse('2025-11-03T05:00:00Z')), 2);
});
