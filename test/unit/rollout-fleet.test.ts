/**
 * A rollout's daily quota on a shared PostgreSQL store with several appliances admitting: the read,
 * the plan and the admissions are one transaction under the rollout's advisory lock, and the members
 * are read inside it, so no interleaving of two appliances (nor an import landing between them) lets
 * a day admit more than its quota. Two ways: a fixed interleaving (appliance B imports and admits
 * between A's start and A's transaction), and appliances in threads of their own released at the same
 * instant, day after day, while a third imports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { openStore, type Store } from '../../daemon/store/db.js';
import { RolloutService } from '../../daemon/features/rollout/service.js';
import { RolloutRepo } from '../../daemon/features/rollout/store.js';
import { DAILY_LIMIT, DAY0_10H, fleetRolloutConfig, type ApplianceJob } from './helpers/rollout-appliance.js';
import { freshPgUrl } from './helpers/store-backends.js';

async function admissionsPerDay(url: string): Promise<Map<string, string[]>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const rows = (await c.query("SELECT admitted_on, computer FROM rollout_admissions WHERE profile = 'win11' ORDER BY admitted_on, computer")).rows as Array<{ admitted_on: string; computer: string }>;
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.admitted_on, [...(out.get(r.admitted_on) ?? []), r.computer]);
    return out;
  } finally {
    await c.end();
  }
}

function seed(store: Store, n: number): void {
  store.durable(() => {
    for (let i = 0; i < n; i += 1) {
      store.computers.insert({ name: `pc-${i}`, macs: [`52:54:00:0b:00:${i.toString(16).padStart(2, '0')}`], guid: null, profile: 'win11', kind: null, notes: '', sourceComputer: null }, 1);
    }
  });
}

test('rollout quota: appliance B importing and admitting between A\'s start and A\'s transaction does not make A admit past the quota', async () => {
  const url = freshPgUrl();
  const a = openStore(url, { serverName: 'a' });
  const b = openStore(url, { serverName: 'b' });
  try {
    seed(a, 6);
    const cfg = fleetRolloutConfig();
    const now = () => DAY0_10H;
    const serviceA = new RolloutService(RolloutRepo.open(a), () => cfg, { now });
    const serviceB = new RolloutService(RolloutRepo.open(b), () => cfg, { now });
    // The moment A's load opens its transaction, B has just imported three machines ranked first and
    // admitted them: the day's quota is full.
    const txA = a.tx.bind(a);
    let interleaved = false;
    a.tx = <T>(fn: () => T): T => {
      if (!interleaved) {
        interleaved = true;
        b.durable(() => {
          for (const i of [1, 2, 3]) b.computers.insert({ name: `new-${i}`, macs: [`52:54:00:0c:00:0${i}`], guid: null, profile: 'win11', kind: null, notes: '', sourceComputer: null }, 2);
        });
        serviceB.setMembers([1, 2, 3].map((i) => ({ computer: `new-${i}`, group: 'desktops', criticality: i })), 'import');
        assert.equal(serviceB.load(DAY0_10H)[0]?.plan.newlyAdmitted.length, DAILY_LIMIT);
      }
      return txA(fn);
    };
    const made = serviceA.load(DAY0_10H)[0]?.plan.newlyAdmitted.length;
    assert.ok(interleaved);
    assert.equal(made, 0, 'A admits nobody: B filled the day');
    // B's day: the quota shared round-robin between the new machines' group and the others.
    assert.deepEqual(await admissionsPerDay(url), new Map([['2025-03-03', ['new-1', 'new-2', 'pc-0']]]));
  } finally {
    a.close();
    b.close();
  }
});

test('rollout quota: two appliances admitting at the same instant, day after day, with imports landing meanwhile, never pass the daily quota', async () => {
  const url = freshPgUrl();
  const setup = openStore(url, { serverName: 'setup' });
  seed(setup, 40);
  setup.close();
  const days = 10;
  const flag = new SharedArrayBuffer(4);
  const counter = new Int32Array(flag);
  const jobs: ApplianceJob[] = [
    { rolloutAppliance: true, url, name: 'appliance-a', role: 'appliance', flag, days, rounds: 15 },
    { rolloutAppliance: true, url, name: 'appliance-b', role: 'appliance', flag, days, rounds: 15 },
    { rolloutAppliance: true, url, name: 'importer', role: 'admin', flag, days, rounds: 4 },
  ];
  const admittedBy = new Map<string, number>();
  const doneOfDay = new Map<number, number>();
  let wake: (() => void) | null = null;
  const workers = jobs.map((job) => {
    const w = new Worker(new URL('./helpers/rollout-appliance.js', import.meta.url), { workerData: job });
    w.on('message', (m: { day: number; admitted: number }) => {
      admittedBy.set(job.name, (admittedBy.get(job.name) ?? 0) + m.admitted);
      doneOfDay.set(m.day, (doneOfDay.get(m.day) ?? 0) + 1);
      wake?.();
    });
    return w;
  });
  const failed = new Promise<never>((_, reject) => {
    for (const w of workers) {
      w.on('error', reject);
      w.on('exit', (code) => { if (code !== 0) reject(new Error(`appliance thread exited with ${code}`)); });
    }
  });
  try {
    for (let day = 0; day < days; day += 1) {
      // Every thread is released at the same instant for the day.
      Atomics.store(counter, 0, day + 1);
      Atomics.notify(counter, 0);
      const deadline = Date.now() + 300_000;
      await Promise.race([failed, new Promise<void>((resolve, reject) => {
        const check = () => {
          if ((doneOfDay.get(day) ?? 0) === jobs.length) { wake = null; resolve(); return; }
          if (Date.now() > deadline) { reject(new Error(`day ${day} did not finish`)); return; }
          wake = check;
        };
        check();
      })]);
    }
  } finally {
    await Promise.all(workers.map((w) => new Promise((r) => { w.once('exit', r); if (w.threadId < 0) r(null); })));
  }
  const perDay = await admissionsPerDay(url);
  const counts = [...perDay.values()].map((v) => v.length);
  console.log(`admissions per day over ${days} days: ${counts.join(' ')}; by appliance: ${[...admittedBy].map(([n, c]) => `${n} ${c}`).join(', ')}`);
  assert.equal(perDay.size, days, 'a day\'s admissions every day');
  for (const [date, names] of perDay) assert.ok(names.length <= DAILY_LIMIT, `${date}: ${names.length} admitted (${names.join(', ')}), quota ${DAILY_LIMIT}`);
  assert.deepEqual(counts, Array(days).fill(DAILY_LIMIT), 'each day fills its quota, no more');
  const total = [...admittedBy.values()].reduce((x, y) => x + y, 0);
  assert.equal(total, days * DAILY_LIMIT, 'what the appliances say they admitted is what the store holds');
});
