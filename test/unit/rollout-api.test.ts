/**
 * The rollout routes through app.inject(), with the admin API's validators and error handler: status,
 * halt/resume, results (which halt a group on their own), membership, and exact 400/404/409 errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { validateConfig } from '../../daemon/config/load.js';
import { adminErrorHandler, makeAjv } from '../../daemon/http/admin/errors.js';
import { createLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/store/db.js';
import { rolloutRoutes } from '../../daemon/features/rollout/api.js';
import { RolloutService } from '../../daemon/features/rollout/service.js';
import { RolloutRepo } from '../../daemon/features/rollout/store.js';
import { inPlace } from '../../daemon/features/feature.js';

/** Wednesday 2025-03-05 12:00 UTC: day 2 of a rollout that started on Monday. */
const NOW = Date.parse('2025-03-05T12:00:00Z');

const cfg = validateConfig({
  profiles: {
    win11: { kind: 'required', bootFiles: { 'efi-x64': 'win11/bootmgfw.efi' }, rollout: { startDate: '2025-03-03', timeZone: 'UTC', haltAfter: { failures: 2 } } },
    plain: { bootFiles: { 'efi-x64': 'plain.efi' } },
  },
}, 'test');

async function setup() {
  const store = openStore(':memory:');
  store.tx(() => {
    for (let i = 1; i <= 6; i += 1) {
      store.computers.insert({ name: `PC-${i}`, macs: [`52:54:00:07:02:0${i}`], guid: null, profile: 'win11', kind: null, notes: '', sourceComputer: null }, 1);
    }
  });
  const service = new RolloutService(RolloutRepo.open(store), () => cfg, { now: () => NOW });
  const app = Fastify();
  // What adminApi sets up around its route plugins.
  const bodyAjv = makeAjv(false);
  const queryAjv = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema));
  app.setErrorHandler(adminErrorHandler(createLogger('silent')));
  await app.register(rolloutRoutes(inPlace(service)), { prefix: '/api/v1', actor: () => 'api:test' });
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({ method, url: `/api/v1${url}`, ...(payload === undefined ? {} : { payload: payload as string }) });
  return { app, store, call, done: async () => { await app.close(); store.close(); } };
}

test('members, status per group and day, halt and resume', async () => {
  const s = await setup();
  try {
    const put = await s.call('PUT', '/rollout-members', { members: [
      { computer: 'pc-1', group: 'kiosks', criticality: 1 }, { computer: '52-54-00-07-02-02', group: 'kiosks', criticality: 2 },
      { computer: 'PC-3', group: 'kiosks', criticality: 3 }, { computer: 'PC-4', group: 'labs' }, { computer: 'PC-5', group: 'labs' },
    ] });
    assert.equal(put.statusCode, 200);
    assert.deepEqual(put.json().members.map((m: { computer: string; group: string }) => `${m.computer}:${m.group}`), ['PC-1:kiosks', 'PC-2:kiosks', 'PC-3:kiosks', 'PC-4:labs', 'PC-5:labs']);
    const st = await s.call('GET', '/rollouts/win11');
    assert.equal(st.statusCode, 200);
    const body = st.json();
    assert.deepEqual([body.today, body.todayDate, body.complete, body.completeDay], [2, '2025-03-05', true, 1]);
    assert.deepEqual(body.groups.map((g: { group: string; machines: number; admitted: number; halt: unknown }) => [g.group, g.machines, g.admitted, g.halt]),
      [['kiosks', 3, 3, null], ['labs', 2, 2, null], ['ungrouped', 1, 1, null]]);
    assert.deepEqual(body.groups[0].days, [
      { day: 0, date: '2025-03-03', planned: 1, admitted: 1, done: 0, failed: 0 },
      { day: 1, date: '2025-03-04', planned: 2, admitted: 2, done: 0, failed: 0 },
    ], 'a finished rollout shows the days up to its last admission');
    const halted = await s.call('POST', '/rollouts/win11/groups/labs/halt', { reason: 'BIOS update pending' });
    assert.equal(halted.statusCode, 200);
    assert.deepEqual(halted.json().groups[1].halt, { at: '2025-03-05T12:00:00.000Z', by: 'api:test', reason: 'BIOS update pending' });
    const noBody = await s.call('POST', '/rollouts/win11/groups/kiosks/halt');
    assert.deepEqual([noBody.statusCode, noBody.json().groups[0].halt.reason], [200, 'halted by hand']);
    const again = await s.call('POST', '/rollouts/win11/groups/labs/halt', {});
    assert.deepEqual([again.statusCode, again.json().code, again.json().message], [409, 'ERR_CONFLICT', 'group "labs" of win11 is halted already']);
    assert.equal((await s.call('POST', '/rollouts/win11/groups/labs/resume')).json().groups[1].halt, null);
    const list = await s.call('GET', '/rollouts');
    assert.deepEqual(list.json().rollouts.map((r: { profile: string }) => r.profile), ['win11']);
  } finally {
    await s.done();
  }
});

test('results count per group and halt it at the threshold', async () => {
  const s = await setup();
  try {
    await s.call('PUT', '/rollout-members', { members: [{ computer: 'PC-1', group: 'kiosks' }, { computer: 'PC-2', group: 'kiosks' }] });
    const first = await s.call('POST', '/results', { computer: 'PC-1', status: 'failed', detail: '0x80070002' });
    assert.deepEqual([first.statusCode, first.json()], [200, { computer: 'PC-1', profile: 'win11', group: 'kiosks', status: 'failed', halted: null }]);
    const second = await s.call('POST', '/results', { computer: '52:54:00:07:02:02', status: 'failed' });
    assert.equal(second.json().halted, '2 failed deployments (threshold 2)');
    const done = await s.call('POST', '/results', { computer: 'PC-3', status: 'done' });
    assert.deepEqual([done.json().group, done.json().halted], ['ungrouped', null]);
    const st = (await s.call('GET', '/rollouts/win11')).json();
    assert.deepEqual(st.groups.map((g: { group: string; done: number; failed: number; halt: { by: string } | null }) => [g.group, g.done, g.failed, g.halt?.by ?? null]),
      [['kiosks', 0, 2, 'auto'], ['ungrouped', 1, 0, null]]);
  } finally {
    await s.done();
  }
});

test('exact 400 and 404 errors', async () => {
  const s = await setup();
  try {
    const cases: Array<[Parameters<typeof s.call>, number, string]> = [
      [['POST', '/results', { computer: 'PC-1', status: 'ok' }], 400, 'body.status must be one of "done", "failed", found "ok"'],
      [['POST', '/results', { status: 'done' }], 400, 'body.computer is required'],
      [['POST', '/results', { computer: 'PC-9', status: 'done' }], 404, 'no computer "PC-9" (looked up by name)'],
      [['POST', '/results', { computer: 'PC-1', status: 'done', profile: 'gone' }], 400, 'profile "gone" is not in the configuration'],
      [['GET', '/rollouts/plain'], 404, 'profile "plain" has no rollout (profiles.plain.rollout in the configuration)'],
      [['POST', '/rollouts/win11/groups/labs/halt', {}], 404, 'no group "labs" in the rollout of win11 (groups: ungrouped)'],
      [['PUT', '/rollout-members', { members: [{ computer: 'PC-1', group: 'a', extra: 1 }] }], 400, 'body.members[0].extra is not a known property'],
      [['PUT', '/rollout-members', { members: [{ computer: 'PC-1', group: 'a', window: 'nights' }] }], 400, 'window "nights" is not in maintenanceWindows (none configured)'],
      [['DELETE', '/rollout-members/PC-1'], 404, 'computer "PC-1" has no rollout group'],
    ];
    for (const [args, status, message] of cases) {
      const res = await s.call(...args);
      assert.deepEqual([res.statusCode, res.json().message], [status, message.startsWith('window') ? `PC-1: ${message}` : message], `${args[0]} ${args[1]}`);
    }
  } finally {
    await s.done();
  }
});

test('inside adminApi: behind its bearer tokens (read-only tokens cannot halt) and in its OpenAPI document', async () => {
  const { adminApi } = await import('../../daemon/features/admin-api.js');
  const { createStoreBackend } = await import('../../daemon/store/backend.js');
  const { createMetrics } = await import('../../daemon/metrics.js');
  const { Registry } = await import('prom-client');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'bg-rollout-api-'));
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, 'rw-token-0123456789abcdef\nro-token-0123456789abcdef:ro\n');
  const logger = createLogger('silent');
  const store = openStore(':memory:');
  store.tx(() => store.computers.insert({ name: 'PC-1', macs: ['52:54:00:07:02:01'], guid: null, profile: 'win11', kind: null, notes: '', sourceComputer: null }, 1));
  const admin = { ...cfg, admin: { ...cfg.admin, tokensFile: tokens } };
  const backend = createStoreBackend(admin, store, { logger, metrics: createMetrics(new Registry()) });
  const service = new RolloutService(RolloutRepo.open(store), () => admin, { now: () => NOW });
  const app = Fastify();
  await app.register(adminApi, { prefix: '/api/v1', backend, store, cfg: admin, logger, env: {}, plugins: [rolloutRoutes(inPlace(service))] });
  const call = (method: 'GET' | 'POST', url: string, token?: string) =>
    app.inject({ method, url: `/api/v1${url}`, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(method === 'POST' ? { payload: {} } : {}) });
  try {
    assert.equal((await call('GET', '/rollouts/win11')).statusCode, 401);
    assert.equal((await call('GET', '/rollouts/win11', 'ro-token-0123456789abcdef')).statusCode, 200);
    assert.equal((await call('POST', '/rollouts/win11/groups/ungrouped/halt', 'ro-token-0123456789abcdef')).statusCode, 403);
    const halted = await call('POST', '/rollouts/win11/groups/ungrouped/halt', 'rw-token-0123456789abcdef');
    assert.equal(halted.statusCode, 200);
    assert.match(halted.json().groups[0].halt.by, /^api:[0-9a-f]{8}$/, 'the audit names the token by its digest');
    const doc = (await call('GET', '/openapi.json')).json();
    assert.ok(['/api/v1/rollouts/{profile}', '/api/v1/results', '/api/v1/rollout-members'].every((p) => p in doc.paths), Object.keys(doc.paths).join(' '));
  } finally {
    await app.close();
    backend.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
