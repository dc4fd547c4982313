/**
 * The fleet view's heartbeats: boots counted per minute for the last hour; a beat handed to the store
 * backend is written by its writer's next batch (not on the caller's turn), on SQLite (one appliance)
 * and on a shared PostgreSQL store with two appliances, each seeing both through GET /appliances; an
 * appliance silent for three beats shows as stale.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import yargs from 'yargs';
import type { CliIo } from '../../daemon/cli/index.js';
import { createAppliancesCommand } from '../../daemon/features/appliances/cli.js';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { appliancesRoutes } from '../../daemon/features/appliances/api.js';
import { BootCounter, Heartbeat } from '../../daemon/features/appliances/heartbeat.js';
import { AppliancesService, STALE_AFTER_MS, type ApplianceDto } from '../../daemon/features/appliances/service.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import type { ApplianceBeat } from '../../daemon/store/appliances.js';
import { createStoreBackend, type StoreBackend } from '../../daemon/store/backend.js';
import { openStore, type Store } from '../../daemon/store/db.js';
import { freshPgUrl } from './helpers/store-backends.js';
import { inPlace } from '../../daemon/features/feature.js';

const logger = createLogger('silent');
const cfg = validateConfig({ profiles: { winpe: {} } }, 'test');

const opened: Array<{ store: Store; backend: StoreBackend }> = [];
after(() => {
  for (const o of opened) {
    o.backend.close();
    o.store.close();
  }
});

function appliance(location: string, name: string) {
  const store = openStore(location, { serverName: name });
  const backend = createStoreBackend(cfg, store, { logger, metrics: createMetrics(new Registry()), flushIntervalMs: 100, link: { pingMs: 500, backoff: { minMs: 100, maxMs: 1000 } } });
  opened.push({ store, backend });
  return { store, backend };
}

function beat(name: string, at: number, extra: Partial<ApplianceBeat> = {}): ApplianceBeat {
  return { name, version: '0.1.0', subnets: ['10.0.5.0/24'], ready: true, readiness: [], storeState: 'ok', bootsLastHour: 3, startedAt: at - 60_000, at, ...extra };
}

async function viaApi(service: AppliancesService): Promise<ApplianceDto[]> {
  const app = Fastify();
  try {
    await app.register(appliancesRoutes(inPlace(service)), { actor: () => 'test' });
    const res = await app.inject({ method: 'GET', url: '/appliances' });
    assert.equal(res.statusCode, 200);
    return (res.json() as { appliances: ApplianceDto[] }).appliances;
  } finally {
    await app.close();
  }
}

test('boots are counted per minute for the last hour only', () => {
  const c = new BootCounter();
  const t0 = 1_700_000_000_000;
  c.add(t0);
  c.add(t0 + 1000);
  c.add(t0 + 30 * 60_000);
  assert.equal(c.lastHour(t0 + 30 * 60_000), 3);
  // 61 minutes on, the first two fell out of the window; the bucket they used is reused cleanly.
  assert.equal(c.lastHour(t0 + 61 * 60_000), 1);
  c.add(t0 + 60 * 60_000 + 5000);
  assert.equal(c.lastHour(t0 + 61 * 60_000), 2);
  assert.equal(c.lastHour(t0 + 3 * 3600_000), 0);
});

test('a heartbeat carries the state the root reports and the boots counted; a failing probe queues nothing and throws nothing', async () => {
  const boots = new BootCounter();
  const t = Date.now();
  boots.add(t);
  const hb = new Heartbeat({ name: 'a1', version: '9.9.9', intervalMs: 15_000, now: () => t, logger, boots });
  const written: ApplianceBeat[] = [];
  await hb.beat({ state: async () => ({ subnets: ['192.168.7.0/24'], ready: false, readiness: ['root: ENOENT'], storeState: 'ok' }), write: (b) => written.push(b) });
  assert.deepEqual(written.map((b) => [b.name, b.version, b.subnets, b.ready, b.readiness, b.bootsLastHour]), [['a1', '9.9.9', ['192.168.7.0/24'], false, ['root: ENOENT'], 1]]);
  await hb.beat({ state: async () => { throw new Error('probe failed'); }, write: (b) => written.push(b) });
  assert.equal(written.length, 1);
});

test('SQLite: the one appliance\'s beat is written by the recorder\'s next batch, not on the caller\'s turn; silent for 3 beats it is stale', async () => {
  const a = appliance(':memory:', 'solo');
  const t = Date.now();
  a.backend.heartbeat(beat('solo', t));
  assert.equal((a.store.db.prepare('SELECT COUNT(*) AS n FROM appliances').get() as { n: number }).n, 0, 'not written synchronously');
  // A newer beat replaces the queued one.
  a.backend.heartbeat(beat('solo', t + 1, { bootsLastHour: 4 }));
  a.backend.flush();
  const list = await viaApi(new AppliancesService(a.store, () => t + 1000));
  assert.equal(list.length, 1);
  assert.deepEqual({ ...list[0], lastSeen: undefined, startedAt: undefined }, {
    name: 'solo', version: '0.1.0', subnets: ['10.0.5.0/24'], ready: true, readiness: [], storeState: 'ok', bootsLastHour: 4,
    secondsSinceSeen: 1, stale: false, self: true, lastSeen: undefined, startedAt: undefined,
  });
  const later = new AppliancesService(a.store, () => t + 1 + STALE_AFTER_MS + 1000).list();
  assert.equal(later[0]?.stale, true);
});

test('PostgreSQL: two appliances on one store each write their beat through the journal and each lists both', async () => {
  const url = freshPgUrl();
  const a = appliance(url, 'appliance-a');
  const b = appliance(url, 'appliance-b');
  const t = Date.now();
  a.backend.heartbeat(beat('appliance-a', t, { subnets: ['10.0.5.0/24'] }));
  b.backend.heartbeat(beat('appliance-b', t, { subnets: ['10.0.6.0/24', '10.0.7.0/24'], ready: false, readiness: ['store: degraded'], storeState: 'degraded: test' }));
  await Promise.all([a.backend.drain(), b.backend.drain()]);
  // The journal writes on its timer: wait (bounded) until both rows are there.
  const deadline = Date.now() + 60_000;
  while (new AppliancesService(a.store).list().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const fromA = await viaApi(new AppliancesService(a.store));
  const fromB = await viaApi(new AppliancesService(b.store));
  assert.deepEqual(fromA.map((x) => [x.name, x.subnets, x.ready, x.storeState, x.self]), [
    ['appliance-a', ['10.0.5.0/24'], true, 'ok', true],
    ['appliance-b', ['10.0.6.0/24', '10.0.7.0/24'], false, 'degraded: test', false],
  ]);
  assert.deepEqual(fromB.map((x) => [x.name, x.self]), [['appliance-a', false], ['appliance-b', true]]);
  assert.deepEqual(fromB[1]?.readiness, ['store: degraded']);
  // The next beat updates the row in place.
  b.backend.heartbeat(beat('appliance-b', t + 15_000, { ready: true, readiness: [], storeState: 'ok', bootsLastHour: 12 }));
  const until = Date.now() + 60_000;
  while (new AppliancesService(a.store).list()[1]?.bootsLastHour !== 12 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const again = new AppliancesService(a.store).list();
  assert.equal(again.length, 2);
  assert.deepEqual([again[1]?.ready, again[1]?.bootsLastHour, again[1]?.storeState], [true, 12, 'ok']);
});

test('`bootgate appliances` on the database file: a table, or --json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-appliances-cli-'));
  try {
    const db = join(dir, 'bootgate.db');
    const config = join(dir, 'bootgate.yaml');
    writeFileSync(config, `http: { enabled: false }\nstore: { path: ${db} }\n`);
    const a = appliance(db, 'lab-01');
    a.backend.heartbeat(beat('lab-01', Date.parse('2026-01-02T03:04:05Z'), { subnets: ['10.0.5.0/24', '10.0.6.0/24'], ready: false, readiness: ['root: ENOENT'] }));
    a.backend.flush();
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { env: {}, fetch: globalThis.fetch, out: (t) => out.push(t), err: (t) => err.push(t), setExitCode: () => undefined, readFile: () => '' };
    const run = (...argv: string[]) => yargs(argv).command(createAppliancesCommand(io)).strict().exitProcess(false).parseAsync();
    await run('appliances', '--config', config);
    await run('appliances', '--config', config, '--json');
    assert.deepEqual(err, []);
    assert.deepEqual((out[0] ?? '').split('\n').slice(0, 2).map((l) => l.replace(/\s+/g, ' ').trim()), [
      'NAME VERSION SUBNETS READY STORE LAST SEEN BOOTS/H',
      'lab-01 0.1.0 10.0.5.0/24 10.0.6.0/24 no (root: ENOENT) ok 2026-01-02 03:04:05Z (stale) 3',
    ]);
    assert.equal((JSON.parse(out[1] ?? '[]') as ApplianceDto[])[0]?.name, 'lab-01');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
