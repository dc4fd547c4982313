/**
 * Every admin API route through app.inject(): computers CRUD and import, pending approvals, boot-once,
 * profiles, sessions, events, settings; validation failures give exact 400s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { Gatekeeper } from '../../daemon/boot/gatekeeper.js';
import { adminApi } from '../../daemon/features/admin-api.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { createStoreBackend } from '../../daemon/store/backend.js';
import { openStore } from '../../daemon/store/db.js';

const TOKEN = 'test-token-0123456789abcdef';
const cfg = validateConfig({
  profiles: {
    winpe: { description: 'Windows PE', bootFiles: { 'efi-x64': 'boot/x64/wdsmgfw.efi' } },
    wipe: { kind: 'required', bootOnceMarker: 'sources/boot.wim', bootFiles: { 'efi-x64': 'wipe/wipe.efi' } },
  },
  policy: { unknown: { action: 'pending', profile: 'winpe' } },
}, 'test');

function client(mac: string): ClientInfo {
  return { mac, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: 'PXEClient:Arch:00007', ip: null, door: 'dhcp' };
}

async function setup(sessions?: () => unknown[]) {
  const logger = createLogger('silent');
  const metrics = createMetrics(new Registry());
  const store = openStore(':memory:');
  const backend = createStoreBackend(cfg, store, { logger, metrics });
  const gate = new Gatekeeper(backend, logger, metrics);
  const app = Fastify();
  await app.register(adminApi, { prefix: '/api/v1', backend, store, cfg, logger, env: { BOOTGATE_ADMIN_TOKEN: TOKEN }, ...(sessions ? { sessions } : {}) });
  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${TOKEN}`, ...headers }, ...(payload === undefined ? {} : { payload: payload as string }) });
  return { app, call, gate, backend, store, done: async () => { await app.close(); backend.close(); store.close(); } };
}

test('api: computers create, read (by name, MAC, GUID), replace, delete', async () => {
  const s = await setup();
  try {
    const created = await s.call('POST', '/computers', { name: 'PC-01', macs: ['52-54-00-00-00-01'], guid: '00112233-4455-6677-8899-AABBCCDDEE01', profile: 'wipe', notes: 'bench 1' });
    assert.equal(created.statusCode, 201);
    assert.deepEqual(created.json().macs, ['52:54:00:00:00:01']);
    assert.equal(created.json().effectiveKind, 'required');
    for (const ref of ['pc-01', '52:54:00:00:00:01', '33221100-5544-7766-8899-aabbccddee01']) {
      const got = await s.call('GET', `/computers/${ref}`);
      assert.deepEqual([got.statusCode, got.json().name], [200, 'PC-01'], ref);
    }
    const list = await s.call('GET', '/computers?profile=wipe');
    assert.deepEqual(list.json().computers.map((c: { name: string }) => c.name), ['PC-01']);
    assert.deepEqual((await s.call('GET', '/computers?profile=winpe')).json(), { computers: [] });
    const put = await s.call('PUT', '/computers/PC-01', { name: 'PC-01', macs: ['52:54:00:00:00:02'], profile: 'winpe' });
    assert.deepEqual([put.statusCode, put.json().macs, put.json().guid], [200, ['52:54:00:00:00:02'], null]);
    assert.equal(s.gate.decide(client('52:54:00:00:00:02')).reason, 'known', 'the running policy sees the change at once');
    assert.equal((await s.call('DELETE', '/computers/PC-01')).statusCode, 204);
    const gone = await s.call('GET', '/computers/PC-01');
    assert.deepEqual(gone.json(), { statusCode: 404, code: 'ERR_NOT_FOUND', error: 'Not Found', message: 'no computer "PC-01" (looked up by name)' });
  } finally {
    await s.done();
  }
});

test('api: exact 400s for bodies, 409 for clashes', async () => {
  const s = await setup();
  try {
    await s.call('POST', '/computers', { name: 'PC-01', macs: ['52:54:00:00:00:01'], profile: 'winpe' });
    const rows: Array<[unknown, number, string[]]> = [
      [{ macs: ['52:54:00:00:00:02'], profile: 'winpe', color: 'red' }, 400, ['body.name is required', 'body.color is not a known property']],
      [{ name: 'PC-02', macs: '52:54:00:00:00:02', profile: 'winpe' }, 400, ['body.macs must be array, found "52:54:00:00:00:02"']],
      [{ name: 'PC-02', macs: ['52:54:00:00:00:0g'], profile: 'nope' }, 400, [
        'body: MAC "52:54:00:00:00:0g" is not a MAC address (expected 6 octets such as 52:54:00:12:34:56)',
        'body: profile "nope" is not in the configuration (profiles: winpe, wipe)',
      ]],
      [{ name: 'PC-02', macs: ['52:54:00:00:00:01'], profile: 'winpe' }, 409, ['body: MAC 52:54:00:00:00:01 already belongs to computer "PC-01"']],
      [{ name: 'pc-01', macs: ['52:54:00:00:00:03'], profile: 'winpe' }, 409, ['body: computer "PC-01" already exists (import with update to replace it)']],
    ];
    for (const [body, status, problems] of rows) {
      const r = await s.call('POST', '/computers', body);
      assert.equal(r.statusCode, status, JSON.stringify(body));
      assert.deepEqual(r.json().problems, problems);
      assert.equal(r.json().message, problems[0]);
    }
    const notJson = await s.call('POST', '/computers', '{"name": ', { 'content-type': 'application/json' });
    assert.equal(notJson.statusCode, 400);
    assert.equal(notJson.json().code, 'FST_ERR_CTP_INVALID_JSON_BODY');
  } finally {
    await s.done();
  }
});

test('api: CSV and YAML import, all or nothing with every problem', async () => {
  const s = await setup();
  try {
    const csv = 'Name,MAC,Profile\nPC-1,52:54:00:00:00:01,winpe\nPC-2,52:54:00:00:00:02,wipe\n';
    const ok = await s.call('POST', '/computers/import', csv, { 'content-type': 'text/csv' });
    assert.deepEqual([ok.statusCode, ok.json()], [200, { created: 2, updated: 0, ignoredColumns: [] }]);
    const yaml = 'computers:\n  - name: PC-3\n    mac: "52:54:00:00:00:03"\n    profile: winpe\n';
    assert.equal((await s.call('POST', '/computers/import', yaml, { 'content-type': 'application/yaml' })).json().created, 1);
    const bad = await s.call('POST', '/computers/import', 'Name,MAC,Profile\nPC-4,52:54:00:00:00:04,winpe\nPC-1,52:54:00:00:00:05,winpe\n', { 'content-type': 'text/csv; charset=utf-8' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), {
      statusCode: 400, code: 'ERR_IMPORT', error: 'Bad Request', message: 'import refused, nothing was imported: 1 problem',
      problems: ['line 3: computer "PC-1" already exists (import with update to replace it)'],
    });
    assert.equal((await s.call('GET', '/computers')).json().computers.length, 3, 'PC-4 was not imported');
    const upd = await s.call('POST', '/computers/import?update=true', 'Name,MAC\nPC-1,52:54:00:00:00:05\n', { 'content-type': 'text/csv' });
    assert.equal(upd.statusCode, 400, 'no profile column and no default');
    const upd2 = await s.call('POST', '/computers/import?update=true&profile=wipe', 'Name,MAC\nPC-1,52:54:00:00:00:05\n', { 'content-type': 'text/csv' });
    assert.deepEqual(upd2.json(), { created: 0, updated: 1, ignoredColumns: [] });
    const plain = await s.call('POST', '/computers/import', csv, { 'content-type': 'text/plain' });
    assert.equal(plain.json().message, 'cannot tell the file format from Content-Type "text/plain"; send text/csv or application/yaml, or add ?format=csv|yaml');
    const fmt = await s.call('POST', '/computers/import?format=xml', csv, { 'content-type': 'text/plain' });
    assert.equal(fmt.json().message, 'querystring.format must be one of "csv", "yaml", found "xml"');
  } finally {
    await s.done();
  }
});

test('api: pending list, approve, reject, forget', async () => {
  const s = await setup();
  try {
    for (const mac of ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03']) s.gate.decide(client(mac));
    s.backend.flush();
    const list = (await s.call('GET', '/pending')).json().devices as Array<{ mac: string; attempts: number; arch: string }>;
    assert.deepEqual(list.map((d) => [d.mac, d.attempts, d.arch]), [['02:00:00:00:00:01', 1, 'efi-x64'], ['02:00:00:00:00:02', 1, 'efi-x64'], ['02:00:00:00:00:03', 1, 'efi-x64']]);
    const approved = await s.call('POST', '/pending/02:00:00:00:00:01/approve', { name: 'NEW-1', profile: 'wipe' });
    assert.deepEqual([approved.statusCode, approved.json().name, approved.json().profile], [201, 'NEW-1', 'wipe']);
    assert.equal(s.gate.decide(client('02:00:00:00:00:01')).reason, 'known');
    const noBody = await s.call('POST', '/pending/02-00-00-00-00-02/approve');
    assert.deepEqual([noBody.statusCode, noBody.json().name], [201, 'pc-020000000002']);
    const rejected = await s.call('POST', '/pending/02:00:00:00:00:03/reject');
    assert.deepEqual([rejected.statusCode, rejected.json().status], [200, 'rejected']);
    assert.equal(s.gate.decide(client('02:00:00:00:00:03')).reason, 'rejected');
    assert.deepEqual((await s.call('GET', '/pending')).json(), { devices: [] });
    assert.equal((await s.call('GET', '/pending?status=rejected')).json().devices.length, 1);
    assert.equal((await s.call('DELETE', '/pending/02:00:00:00:00:03')).statusCode, 204);
    assert.equal((await s.call('POST', '/pending/02:00:00:00:00:03/reject')).statusCode, 404);
    const badKind = await s.call('POST', '/pending/02:00:00:00:00:09/approve', { kind: 'once' });
    assert.equal(badKind.json().message, 'body.kind must be one of "required", "available", found "once"');
  } finally {
    await s.done();
  }
});

test('api: boot-once done and clear', async () => {
  const s = await setup();
  try {
    await s.call('POST', '/computers', { name: 'W-1', macs: ['52:54:00:00:00:07'], profile: 'wipe' });
    const done = await s.call('POST', '/computers/W-1/done');
    assert.equal(done.json().bootOnce.consumedBy, 'reported done');
    assert.equal(s.gate.decide(client('52:54:00:00:00:07')).kind, 'local');
    const cleared = await s.call('POST', '/computers/52:54:00:00:00:07/clear');
    assert.deepEqual(cleared.json().bootOnce, { consumedAt: null, consumedBy: null });
    assert.equal(s.gate.decide(client('52:54:00:00:00:07')).kind, 'boot');
  } finally {
    await s.done();
  }
});

test('api: profiles, sessions, events, settings', async () => {
  const sessions = [{ door: 'tftp', client: '10.77.0.50', file: 'boot/x64/boot.wim', bytes: 1234 }];
  const s = await setup(() => sessions);
  try {
    const profiles = (await s.call('GET', '/profiles')).json().profiles;
    assert.deepEqual(profiles[1], {
      name: 'wipe', description: '', kind: 'required', bootOnceMarker: 'sources/boot.wim', bootFiles: { 'efi-x64': 'wipe/wipe.efi' },
      httpBootFiles: {}, secureBootFiles: {}, ipxeScript: false, bcdPath: null,
    });
    assert.equal((await s.call('GET', '/profiles/winpe')).json().description, 'Windows PE');
    assert.equal((await s.call('GET', '/profiles/none')).statusCode, 404);
    assert.deepEqual((await s.call('GET', '/sessions')).json(), { sessions });

    s.gate.decide(client('02:00:00:00:00:0a'));
    s.gate.decide(client('02:00:00:00:00:0b'));
    s.backend.flush();
    const mine = (await s.call('GET', '/events?mac=02-00-00-00-00-0A')).json().events;
    assert.deepEqual(mine.map((e: { mac: string; reason: string; type: string }) => [e.type, e.mac, e.reason]), [['decision', '02:00:00:00:00:0a', 'unknown-pending']]);
    const at = Date.parse(mine[0].at);
    // Both decisions ran on the real clock: filter against the newest event, not 0a's millisecond.
    const newest = Math.max(...(await s.call('GET', '/events?limit=100')).json().events.map((e: { at: string }) => Date.parse(e.at)));
    assert.equal((await s.call('GET', `/events?since=${new Date(newest + 1).toISOString()}`)).json().events.length, 0);
    assert.ok((await s.call('GET', `/events?since=${new Date(at).toISOString()}`)).json().events.length >= 2, 'since includes its own instant');
    assert.equal((await s.call('GET', `/events?until=${new Date(at + 60_000).toISOString()}&limit=1`)).json().events.length, 1);
    assert.equal((await s.call('GET', '/events?mac=zz')).json().message, '"zz" is not a MAC address');

    const patched = await s.call('PATCH', '/settings', { answering: false, interfaces: ['br0'] });
    assert.deepEqual(patched.json().effective, { answering: false, responseDelaySeconds: 0, interfaces: ['br0'] });
    assert.equal(s.backend.settings().answering, false);
    assert.deepEqual((await s.call('GET', '/settings')).json().overrides, { answering: false, interfaces: ['br0'] });
    const empty = await s.call('PATCH', '/settings', {});
    assert.equal(empty.json().message, 'body must set at least 1 property');
    const bad = await s.call('PATCH', '/settings', { responseDelaySeconds: 61, interfaces: ['this-name-is-too-long'] });
    assert.deepEqual(bad.json().problems, ['body.responseDelaySeconds must be <= 60, found 61', 'body.interfaces[0] must match ^[A-Za-z0-9._@-]{1,15}$, found "this-name-is-too-long"']);
    assert.equal((await s.call('PATCH', '/settings', { answering: null })).json().effective.answering, true);
  } finally {
    await s.done();
  }
});
