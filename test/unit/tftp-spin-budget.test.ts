import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStat, SpinBudget } from '../../daemon/tftp/spin-budget.js';

/** A /proc/stat whose aggregate line has these idle and busy jiffies (user holds the busy ones). */
function stat(idle: number, busy: number): string {
  return `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2 3\n`;
}

/**
 * A budget on a fake clock and a fake /proc/stat: `periods` lists, per 250 ms period, the idle and busy
 * jiffies the machine adds (2 CPUs x 25 jiffies = 50 a period) and the ms the loop spun.
 */
function run(cpus: number, periods: Array<{ idle: number; busy: number; spunMs?: number }>): boolean[] {
  let t = 0;
  let idle = 1000;
  let busy = 1000;
  const b = new SpinBudget(() => t, () => stat(idle, busy), cpus, 250);
  const out: boolean[] = [];
  for (const p of periods) {
    b.spent(p.spunMs ?? 0);
    t += 250;
    idle += p.idle;
    busy += p.busy;
    out.push(b.allowed());
  }
  return out;
}

test('/proc/stat: idle is idle + iowait, total the first eight fields; garbage is null', () => {
  assert.deepEqual(parseProcStat('cpu  10 1 5 100 4 1 1 2 7 0\ncpu0 ...\n'), { idle: 104, total: 124 });
  assert.equal(parseProcStat('intr 1 2 3\n'), null);
  assert.equal(parseProcStat('cpu  1 2 x 4 5\n'), null);
  assert.equal(parseProcStat('cpu  1 2\n'), null);
  assert.equal(parseProcStat(''), null);
});

test('spin budget: a quiet machine (more than one CPU idle) lets the loop spin', () => {
  assert.deepEqual(run(2, [{ idle: 40, busy: 10 }, { idle: 30, busy: 20 }]), [true, true]);
});

test('spin budget: a busy machine (the client emulated on the same CPUs) stops the spin', () => {
  // 2 CPUs, 0.4 of a CPU idle, none of it the loop's: spinning would take a CPU someone needs.
  assert.deepEqual(run(2, [{ idle: 10, busy: 40 }, { idle: 5, busy: 45 }]), [false, false]);
});

test('spin budget: the loop\'s own spinning counts as spare (that CPU would be idle without it)', () => {
  // 0.2 CPUs idle while the loop spun 200 of 250 ms (0.8 CPUs): 1.0 in all, enough.
  assert.deepEqual(run(2, [{ idle: 5, busy: 45, spunMs: 200 }]), [true]);
  // 0.2 idle and 0.4 spun: the machine is short of a CPU.
  assert.deepEqual(run(2, [{ idle: 5, busy: 45, spunMs: 100 }]), [false]);
});

test('spin budget: it follows the machine: off while busy, on again once a CPU is free', () => {
  assert.deepEqual(run(2, [{ idle: 5, busy: 45 }, { idle: 45, busy: 5 }, { idle: 2, busy: 48 }]), [false, true, false]);
});

test('spin budget: one CPU never spins; unreadable /proc/stat keeps the spin as before', () => {
  assert.deepEqual(run(1, [{ idle: 25, busy: 0 }]), [false]);
  let t = 0;
  const blind = new SpinBudget(() => t, () => null, 4, 250);
  assert.equal(blind.allowed(), false, 'nothing measured yet');
  t = 250;
  assert.equal(blind.allowed(), true);
});

test('spin budget: after a quiet stretch the first period does not spin, then the machine as it is now decides', () => {
  let t = 0;
  let idle = 1000;
  let busy = 1000;
  const b = new SpinBudget(() => t, () => stat(idle, busy), 2, 250);
  // Ten idle seconds before the first transfer: averaged, the machine looks free.
  t = 10_000;
  idle += 2000;
  assert.equal(b.allowed(), false, 'the idle stretch says nothing of now');
  // The transfer's first period: its client (an emulated machine) keeps both CPUs busy.
  t += 250;
  idle += 5;
  busy += 45;
  assert.equal(b.allowed(), false);
  // On a machine that is really idle now, the next period spins.
  t += 250;
  idle += 45;
  busy += 5;
  assert.equal(b.allowed(), true);
});

test('spin budget: /proc/stat is read once a period, not per call', () => {
  let t = 0;
  let reads = 0;
  const b = new SpinBudget(() => t, () => {
    reads += 1;
    return stat(1000 + t, 1000);
  }, 2, 250);
  for (let i = 0; i < 1000; i++) {
    t += 1; // 1000 calls over 1 s
    b.allowed();
  }
  assert.equal(reads, 1 + 4, 'once at start, then once per 250 ms');
});
