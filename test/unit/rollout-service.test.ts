/**
 * Rollouts on the real store (SQLite in memory or in a temp file) with an injected clock: membership,
 * admissions recorded day by day, the gate inside the policy backend's snapshot, results that halt a
 * group on their own, halt/resume by hand, the schedule table, metrics, and a change made by another
 * process (the CLI on the same database file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { Gatekeeper } from '../../daemon/boot/gatekeeper.js';
import { AdminError } from '../../daemon/http/admin/errors.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { createStoreBackend } from '../../daemon/store/backend.js';
import { openStore, type Store } from '../../daemon/store/db.js';
import { createLiveRollouts } from '../../daemon/features/rollout/live.js';
import { createRolloutMetrics } from '../../daemon/features/rollout/metrics.js';
import { RolloutService } from '../../daemon/features/rollout/service.js';
import { renderStatus } from '../../daemon/features/rollout/status.js';
import { RolloutRepo } from '../../daemon/features/rollout/store.js';
import { MIGRATIONS } from '../../daemon/store/migrations.js';

const logger = createLogger('silent');
/** Monday 2025-03-03 10:00 in Berlin (CET, UTC+1): day 0 of the rollout. */
const DAY0_10H = Date.parse('2025-03-03T09:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const cfg = validateConfig({
  policy: { unknown: { action: 'ignore' } },
  profiles: {
    win10: { bootFiles: { 'efi-x64': 'win10/bootmgfw.efi' } },
    win11: {
      kind: 'required', bootFiles: { 'efi-x64': 'win11/bootmgfw.efi' },
      rollout: {
        startDate: '2025-03-03', timeZone: 'Europe/Berlin', startPerGroup: 1, dailyLimit: 3,
        notAdmitted: 'previous', previousProfile: 'win10', haltAfter: { failures: 2 },
      },
    },
  },
  maintenanceWindows: { nights: { schedule: 'Mon-Fri 20:00-06:00', timeZone: 'Europe/Berlin', groups: ['servers'] } },
}, 'test');

const mac = (i: number) => `52:54:00:07:01:${String(i).padStart(2, '0')}`;
const client = (i: number): ClientInfo => ({
  mac: mac(i), archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: 'PXEClient:Arch:00007', ip: null, door: 'dhcp',
});

/** d1..d4 desktops (criticality 1..4), s5..s7 servers (criticality 5..7), all on win11. */
function fleet(store: Store): void {
  store.tx(() => {
    for (let i = 1; i <= 7; i += 1) {
      store.computers.insert({ name: i <= 4 ? `d${i}` : `s${i}`, macs: [mac(i)], guid: null, profile: 'win11', kind: null, notes: '', sourceComputer: null }, 1);
    }
  });
}

function setup(store: Store = openStore(':memory:')) {
  let t = DAY0_10H;
  const now = () => t;
  fleet(store);
  const repo = RolloutRepo.open(store);
  const done: string[] = [];
  const service = new RolloutService(repo, () => cfg, { now, onDone: (c) => done.push(c) });
  const registry = new Registry();
  const rm = createRolloutMetrics(registry);
  const live = createLiveRollouts(service, () => cfg, { now, logger, metrics: rm });
  const metrics = createMetrics(new Registry());
  // The change watch reads data_version before every decision here (pollIntervalMs 0), not once a second.
  const backend = createStoreBackend(cfg, store, { logger, metrics, now, pollIntervalMs: 0, parts: { rollout: () => live.gate() } });
  const gate = new Gatekeeper(backend, logger, metrics);
  service.setMembers([
    ...[1, 2, 3, 4].map((i) => ({ computer: `d${i}`, group: 'desktops', criticality: i })),
    ...[5, 6, 7].map((i) => ({ computer: mac(i), group: 'servers', criticality: i })),
  ], 'test');
  return {
    store, service, live, gate, registry, done,
    at: (ms: number) => { t = ms; },
    decide: (i: number) => { const d = gate.decide(client(i)); return [d.kind, 'profile' in d ? d.profile : null, d.reason]; },
    close: () => { live.close(); backend.close(); store.close(); },
  };
}

async function gauge(registry: Registry, name: string): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric(name)?.get();
  return Object.fromEntries((m?.values ?? []).map((v) => [`${String(v.labels.profile)}/${String(v.labels.group)}`, v.value]));
}

test('a database whose rollout tables had their own schema table is adopted by the one migration sequence, rows kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-rollout-legacy-'));
  const path = join(dir, 'b.db');
  try {
    // What an appliance of the previous release left: store migrations 1-2, rollout tables versioned in rollout_schema.
    const old = openStore(path, { migrations: MIGRATIONS.filter((m) => m.version <= 2) });
    const legacySql = (MIGRATIONS.find((m) => m.version === 3)?.sql ?? '').replaceAll(' IF NOT EXISTS', '').replace('DROP TABLE IF EXISTS rollout_schema;', '');
    old.db.exec(legacySql);
    old.db.exec('CREATE TABLE rollout_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    old.db.prepare('INSERT INTO rollout_schema VALUES (1, ?, 0)').run('rollout members, admissions, results, halts');
    RolloutRepo.open(old).setMember({ computer: 'WS-001', group: 'desktops', criticality: 2, window: null }, 1);
    old.close();

    const store = openStore(path);
    try {
      assert.equal(store.schemaVersion(), MIGRATIONS.length);
      assert.equal(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'rollout_schema'").get(), undefined);
      assert.deepEqual(RolloutRepo.open(store).members().map((m) => [m.computer, m.group, m.criticality]), [['WS-001', 'desktops', 2]]);
    } finally {
      store.close();
    }
    // Opened again: nothing is applied twice.
    const again = openStore(path);
    assert.equal((again.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n, MIGRATIONS.length);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('day by day: admitted machines boot the profile, the others their previous one; servers keep their window', () => {
  const s = setup();
  try {
    // Day 0, 10:00: one desktop and one server admitted; the server is outside its night window.
    assert.deepEqual(s.decide(1), ['boot', 'win11', 'known']);
    assert.deepEqual(s.decide(2), ['boot', 'win10', 'rollout-not-admitted']);
    assert.deepEqual(s.decide(5), ['local', null, 'outside-window']);
    assert.deepEqual(s.decide(6), ['boot', 'win10', 'rollout-not-admitted']);
    s.at(DAY0_10H + 11 * HOUR); // 21:00
    assert.deepEqual(s.decide(5), ['boot', 'win11', 'known']);
    // Day 1: quota 2 per group, 3 in total, shared round-robin (desktops' next machine is less critical).
    s.at(DAY0_10H + DAY);
    assert.deepEqual([2, 3, 4, 6, 7].map((i) => s.decide(i)[2]), ['known', 'known', 'rollout-not-admitted', 'outside-window', 'rollout-not-admitted']);
    const days = s.store.db.prepare('SELECT computer, admitted_on FROM rollout_admissions WHERE profile = ? ORDER BY admitted_on, computer').all('win11');
    assert.deepEqual(days, [
      { computer: 'd1', admitted_on: '2025-03-03' }, { computer: 's5', admitted_on: '2025-03-03' },
      { computer: 'd2', admitted_on: '2025-03-04' }, { computer: 'd3', admitted_on: '2025-03-04' }, { computer: 's6', admitted_on: '2025-03-04' },
    ]);
  } finally {
    s.close();
  }
});

test('failures halt only their group; the others go on; a resume counts only later failures', async () => {
  const s = setup();
  try {
    s.at(DAY0_10H + DAY);
    s.decide(1);
    assert.equal(s.service.recordResult({ computer: 's5', status: 'failed', detail: 'disk not found' }, 'test').halted, null);
    const second = s.service.recordResult({ computer: mac(6), status: 'failed' }, 'test');
    assert.deepEqual(second, { computer: 's6', profile: 'win11', group: 'servers', status: 'failed', halted: '2 failed deployments (threshold 2)' });
    s.service.recordResult({ computer: 'd1', status: 'done' }, 'test');
    assert.deepEqual(s.done, ['d1'], 'a done result is handed on (boot-once)');
    // Day 2: desktops go on (d4), servers admit nobody new (s7 keeps win10).
    s.at(DAY0_10H + 2 * DAY + 11 * HOUR);
    assert.deepEqual(s.decide(4), ['boot', 'win11', 'known']);
    assert.deepEqual(s.decide(7), ['boot', 'win10', 'rollout-not-admitted']);
    const st = s.service.status('win11');
    const servers = st.groups.find((g) => g.group === 'servers');
    assert.equal(servers?.halt?.by, 'auto');
    assert.deepEqual(servers?.days.map((d) => [d.planned, d.admitted, d.done, d.failed]), [[1, 1, 0, 1], [1, 1, 0, 1], [0, 0, 0, 0]]);
    assert.deepEqual(st.totals.map((d) => [d.planned, d.admitted, d.done, d.failed]), [[2, 2, 1, 1], [3, 3, 0, 1], [1, 1, 0, 0]]);
    assert.deepEqual(await gauge(s.registry, 'bootgate_rollout_halted_groups'), { 'win11/desktops': 0, 'win11/servers': 1 });
    assert.deepEqual(await gauge(s.registry, 'bootgate_rollout_failed_machines'), { 'win11/desktops': 0, 'win11/servers': 2 });
    assert.deepEqual(await gauge(s.registry, 'bootgate_rollout_admitted_machines'), { 'win11/desktops': 4, 'win11/servers': 2 });
    // Resumed: the two old failures are acknowledged; the group admits s7 the same day.
    s.service.resume('win11', 'servers', 'test');
    assert.deepEqual(await gauge(s.registry, 'bootgate_rollout_halted_groups'), { 'win11/desktops': 0, 'win11/servers': 0 }, 'metrics follow without a decision');
    assert.deepEqual(s.decide(7), ['boot', 'win11', 'known']);
    assert.equal(s.service.recordResult({ computer: 's7', status: 'failed' }, 'test').halted, null);
  } finally {
    s.close();
  }
});

test('halt and resume by hand, with exact errors', () => {
  const s = setup();
  try {
    const st = s.service.halt('win11', 'desktops', 'api:1234', 'driver issue');
    assert.deepEqual(st.groups.find((g) => g.group === 'desktops')?.halt, { at: DAY0_10H, by: 'api:1234', reason: 'driver issue' });
    const err = (fn: () => unknown, status: number, message: string) => assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof AdminError);
      assert.deepEqual([e.status, e.message], [status, message]);
      return true;
    });
    err(() => s.service.halt('win11', 'desktops', 'x'), 409, 'group "desktops" of win11 is halted already');
    err(() => s.service.resume('win11', 'servers', 'x'), 409, 'group "servers" of win11 is not halted');
    err(() => s.service.halt('win11', 'labs', 'x'), 404, 'no group "labs" in the rollout of win11 (groups: desktops, servers)');
    err(() => s.service.halt('win10', 'desktops', 'x'), 404, 'profile "win10" has no rollout (profiles.win10.rollout in the configuration)');
    err(() => s.service.status('nope'), 404, 'no profile "nope"');
    err(() => s.service.recordResult({ computer: 'pc-99', status: 'done' }, 'x'), 404, 'no computer "pc-99" (looked up by name)');
    s.service.resume('win11', 'desktops', 'api:1234');
    // A halt stops the days after it: what day 0 began with stays admitted, day 1 admits nobody new.
    s.service.halt('win11', 'desktops', 'api:1234', 'again');
    s.at(DAY0_10H + DAY);
    assert.deepEqual([1, 2].map((i) => s.decide(i)[2]), ['known', 'rollout-not-admitted']);
    s.service.resume('win11', 'desktops', 'api:1234');
    const events = s.store.audit.query({ type: 'admin', limit: 10 }).map((e) => [e.actor, e.detail]);
    assert.deepEqual(events.slice(2, 4), [['api:1234', 'rollout resumed: group desktops'], ['api:1234', 'rollout halted: group desktops (driver issue)']]);
  } finally {
    s.close();
  }
});

test('membership changes are all or nothing, with every problem named', () => {
  const s = setup();
  try {
    assert.throws(() => s.service.setMembers([
      { computer: 'd1', group: 'labs', window: 'weekends' },
      { computer: 'd2', group: 'bad group', criticality: -1 },
    ], 'test'), (e: unknown) => {
      assert.ok(e instanceof AdminError);
      assert.equal(e.status, 400);
      assert.deepEqual(e.problems, [
        'members[0] (d1): window "weekends" is not in maintenanceWindows (nights)',
        'members[1] (d2): group "bad group" must be 1-64 letters, digits, ".", "_" or "-"',
        'members[1] (d2): criticality must be a whole number from 0 to 1000000 (lower = less critical = earlier), found -1',
      ]);
      return true;
    });
    assert.equal(s.service.members().find((m) => m.computer === 'd1')?.group, 'desktops', 'nothing changed');
    assert.throws(() => s.service.setMembers([{ computer: 'ghost', group: 'x' }], 'test'), (e: unknown) => e instanceof AdminError && e.status === 404);
    // A computer of its own window: d1 now keeps "nights" although its group has none.
    s.service.setMembers([{ computer: 'D1', group: 'desktops', criticality: 1, window: 'nights' }], 'test');
    assert.deepEqual(s.decide(1), ['local', null, 'outside-window']);
    s.service.removeMember('d1', 'test');
    assert.deepEqual(s.decide(1), ['boot', 'win11', 'known'], 'admitted on day 0, and no window any more');
  } finally {
    s.close();
  }
});

test('the schedule table as the CLI prints it', () => {
  const s = setup();
  try {
    s.at(DAY0_10H + DAY);
    s.service.recordResult({ computer: 'd1', status: 'done' }, 'test');
    const text = renderStatus(s.service.status('win11'));
    assert.equal(text, [
      'Rollout of profile win11: day 1 (2025-03-04), Europe/Berlin; 1 per group on day 0, doubling daily, at most 3 a day in all',
      'The last machines are admitted on day 2 (2025-03-05).',
      '',
      'group     machines  admitted  done  failed  state',
      'desktops         4         3     1       0  running',
      'servers          3         2     0       0  running',
      '',
      'day  date        group     planned  admitted  done  failed',
      '0    2025-03-03  desktops        1         1     1       0',
      '1*   2025-03-04  desktops        2         2     0       0',
      '2    2025-03-05  desktops        1         0     0       0',
      '0    2025-03-03  servers         1         1     0       0',
      '1*   2025-03-04  servers         1         1     0       0',
      '2    2025-03-05  servers         1         0     0       0',
      '0    2025-03-03  (all)           2         2     1       0',
      '1*   2025-03-04  (all)           3         3     0       0',
      '2    2025-03-05  (all)           2         0     0       0',
      '',
      '* today',
      '',
    ].join('\n'));
  } finally {
    s.close();
  }
});

test('a change committed by another process (the CLI on the database file) reaches the running gate at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-rollout-'));
  const path = join(dir, 'bootgate.db');
  const s = setup(openStore(path));
  const cli = openStore(path);
  try {
    s.at(DAY0_10H + DAY);
    assert.deepEqual(s.decide(1), ['boot', 'win11', 'known']);
    // Same minute, same day: only the data_version poll can tell the gate that d1 keeps a window now.
    const other = new RolloutService(RolloutRepo.open(cli), () => cfg, { now: () => DAY0_10H + DAY });
    other.setMembers([{ computer: 'd1', group: 'desktops', criticality: 1, window: 'nights' }], 'cli');
    assert.deepEqual(s.decide(1), ['local', null, 'outside-window']);
  } finally {
    cli.close();
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('admissions are kept as local dates: moving the start date does not move what happened', () => {
  const store = openStore(':memory:');
  try {
    fleet(store);
    let current = cfg;
    const withStart = (startDate: string) => validateConfig({
      ...structuredClone(cfg), profiles: { ...cfg.profiles, win11: { ...cfg.profiles.win11, rollout: { ...cfg.profiles.win11?.rollout, startDate } } },
    }, 'test');
    let t = DAY0_10H;
    const service = new RolloutService(RolloutRepo.open(store), () => current, { now: () => t });
    service.setMembers([1, 2, 3, 4].map((i) => ({ computer: `d${i}`, group: 'desktops', criticality: i })), 'test');
    service.load(t);
    // The admin postpones the start by a day: d1 (admitted on the 3rd) stays admitted, day 0 is now the 4th.
    current = withStart('2025-03-04');
    t = DAY0_10H + DAY;
    const [loaded] = service.load(t);
    assert.deepEqual([...(loaded?.plan.admitted.values() ?? [])].map((a) => [a.name, a.day]).sort(), [['d1', -1], ['d2', 0], ['s5', -1], ['s6', 0]]);
    assert.deepEqual(store.db.prepare('SELECT computer, admitted_on FROM rollout_admissions ORDER BY admitted_on, computer').all().map((r) => Object.values(r as object)),
      [['d1', '2025-03-03'], ['s5', '2025-03-03'], ['d2', '2025-03-04'], ['s6', '2025-03-04']]);
    const st = service.status('win11');
    // Day rows start at the (new) day 0; the earlier admissions count in the totals only.
    assert.deepEqual(st.groups.map((g) => [g.group, g.admitted, g.days.map((d) => d.admitted), g.days.map((d) => d.planned)]),
      [['desktops', 2, [1, 0], [1, 2]], ['ungrouped', 2, [1, 0], [1, 1]]]);
  } finally {
    store.close();
  }
});

test('the live gate: a window opens on its minute; a reloaded config applies at once', () => {
  const store = openStore(':memory:');
  let current = cfg;
  // Monday 2025-03-03 19:59:59.999 in Berlin (CET).
  let t = Date.parse('2025-03-03T18:59:59.999Z');
  try {
    fleet(store);
    const service = new RolloutService(RolloutRepo.open(store), () => current, { now: () => t });
    service.setMembers([{ computer: 's5', group: 'servers', criticality: 1 }], 'test');
    const live = createLiveRollouts(service, () => current, { now: () => t, logger });
    const s5 = { name: 's5', profile: 'win11', kind: null, bootOnceConsumed: false };
    assert.deepEqual(live.gate().check(s5, true), { kind: 'outside-window' });
    t += 1;
    assert.deepEqual(live.gate().check(s5, true), { kind: 'go' }, '20:00:00.000');
    // Reload without the rollout and the window: every machine is let through.
    current = validateConfig({ ...structuredClone(cfg), maintenanceWindows: {}, profiles: { ...cfg.profiles, win11: { ...cfg.profiles.win11, rollout: null } } }, 'test');
    assert.deepEqual(live.gate().check({ ...s5, name: 'd4' }, true), { kind: 'go' });
    live.close();
  } finally {
    store.close();
  }
});
