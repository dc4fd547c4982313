/**
 * The HTTP side of password gating through app.inject(): the public /unlock route iPXE calls (401
 * challenge, Basic credentials, wrong / locked / ok), and the admin routes inside the real admin API
 * (token auth, set without echoing the password, status, clear, lift).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { adminApi } from '../../daemon/features/admin-api.js';
import { createLogger } from '../../daemon/log.js';
import type { Decision } from '../../daemon/policy/types.js';
import { openStore } from '../../daemon/store/db.js';
import { createStoreBackend } from '../../daemon/store/backend.js';
import { PasswordAdmin } from '../../daemon/features/password/service.js';
import { PasswordGate } from '../../daemon/features/password/gate.js';
import { createPasswordMetrics } from '../../daemon/features/password/metrics.js';
import { basicPassword, passwordAdminRoutes, unlockRoutes } from '../../daemon/features/password/api.js';
import { inPlace } from '../../daemon/features/feature.js';

const MAC = '52:54:00:77:00:01';
const PW = 'open-sesame-42';
const TOKEN = 'test-token-0123456789abcdef';
const cfg = validateConfig({
  profiles: { lab: { bootFiles: { 'efi-x64': 'ipxe.efi' }, ipxeScript: 'boot', password: { mode: 'required', files: ['vmlinuz'] } } },
  password: { maxFailures: 3, lockoutMinutes: 15 },
}, 'test');

const basic = (pw: string, user = 'bootgate') => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

async function unlockApp(decision: (mac: string) => Decision = () => ({ kind: 'password', profile: 'lab', target: { transport: 'http', path: 'ipxe/x.ipxe' }, computer: 'PC-01', reason: 'password-required' })) {
  const store = openStore(':memory:');
  const clock = { t: Date.UTC(2025, 0, 31) };
  const gate = new PasswordGate({ store, config: () => cfg, logger: createLogger('silent'), metrics: createPasswordMetrics(new Registry()), now: () => clock.t });
  await new PasswordAdmin(store, () => cfg, () => clock.t, { ln: 10, r: 8, p: 1 }).set(null, PW, 'test');
  const scripts: string[] = [];
  const app = Fastify();
  await app.register(unlockRoutes, {
    passwords: gate,
    lockoutMinutes: () => cfg.password.lockoutMinutes,
    decide: (mac) => decision(mac),
    script: async (mac, ip) => {
      scripts.push(`${mac}@${ip}`);
      return gate.unlocks.isUnlocked(mac, 'lab', ip) ? '#!ipxe\necho the profile script\n' : '#!ipxe\necho the script door\n';
    },
  });
  const get = (url: string, authorization?: string) => app.inject({ method: 'GET', url, remoteAddress: '10.77.0.101', headers: authorization ? { authorization } : {} });
  return { app, gate, store, clock, scripts, get, done: async () => { await app.close(); store.close(); } };
}

describe('GET /unlock (iPXE)', () => {
  test('without credentials: the 401 Basic challenge iPXE answers with the URL\'s userinfo', async () => {
    const s = await unlockApp();
    const r = await s.get(`/unlock?mac=52-54-00-77-00-01`);
    assert.equal(r.statusCode, 401);
    assert.match(String(r.headers['www-authenticate']), /^Basic realm="Bootgate boot password"/);
    assert.deepEqual(s.scripts, [], 'nothing decided or rendered before the credentials');
    await s.done();
  });

  test('a bad MAC is a 400', async () => {
    const s = await unlockApp();
    assert.equal((await s.get('/unlock?mac=nope', basic(PW))).statusCode, 400);
    assert.equal((await s.get('/unlock', basic(PW))).statusCode, 400);
    await s.done();
  });

  test('the right password: unlocked for this MAC and IP, answered with the script door\'s (now unlocked) script', async () => {
    const s = await unlockApp();
    const r = await s.get('/unlock?mac=52-54-00-77-00-01', basic(PW));
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '#!ipxe\necho the profile script\n');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(s.gate.unlocks.isUnlocked(MAC, 'lab', '10.77.0.101'), true);
    assert.deepEqual(s.scripts, [`${MAC}@10.77.0.101`]);
    await s.done();
  });

  test('wrong passwords: a script that says so and asks again, then the lockout script; the right one is refused while locked', async () => {
    const s = await unlockApp();
    const a = await s.get('/unlock?mac=52:54:00:77:00:01', basic('wrong-one-1'));
    assert.equal(a.statusCode, 200);
    assert.match(a.body, /echo Wrong password\. 2 more tries before a 15-minute lockout\./);
    assert.match(a.body, /login \|\| goto cancelled/);
    await s.get('/unlock?mac=52:54:00:77:00:01', basic('wrong-one-2'));
    const c = await s.get('/unlock?mac=52:54:00:77:00:01', basic('wrong-one-3'));
    assert.match(c.body, /Locked out for 15 minutes/);
    const d = await s.get('/unlock?mac=52:54:00:77:00:01', basic(PW));
    assert.match(d.body, /locked out for 15 more minutes/);
    assert.equal(s.gate.unlocks.isUnlocked(MAC, 'lab', '10.77.0.101'), false);
    assert.deepEqual(s.scripts, [], 'no profile script was handed out');
    await s.done();
  });

  test('a client that is not (or no longer) asked for a password gets what the script door says', async () => {
    const s = await unlockApp(() => ({ kind: 'pending', reason: 'pending' }));
    const r = await s.get('/unlock?mac=52:54:00:77:00:01', basic('anything-at-all'));
    assert.equal(r.body, '#!ipxe\necho the script door\n');
    await s.done();
  });

  test('Basic credentials: the password after the first colon, nothing for other schemes', () => {
    assert.equal(basicPassword(basic('a:b:c')), 'a:b:c');
    assert.equal(basicPassword(basic('')), '');
    assert.equal(basicPassword('Bearer x'), null);
    assert.equal(basicPassword(`Basic ${Buffer.from('no-colon').toString('base64')}`), null);
    assert.equal(basicPassword(undefined), null);
    assert.equal(basicPassword(`Basic ${'A'.repeat(2000)}`), null);
  });
});

describe('admin API /api/v1/password', () => {
  async function admin() {
    const logger = createLogger('silent');
    const store = openStore(':memory:');
    const backend = createStoreBackend(cfg, store, { logger });
    const pw = new PasswordAdmin(store, () => cfg, Date.now, { ln: 10, r: 8, p: 1 });
    const app = Fastify();
    await app.register(adminApi, {
      prefix: '/api/v1', backend, store, cfg, logger, env: { BOOTGATE_ADMIN_TOKEN: TOKEN },
      plugins: [async (a, o) => passwordAdminRoutes(a, { admin: inPlace(pw), actor: o.actor })],
    });
    const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, payload?: unknown, token = TOKEN) =>
      app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as string }) });
    return { call, store, pw, done: async () => { await app.close(); backend.close(); store.close(); } };
  }

  test('needs a token', async () => {
    const s = await admin();
    assert.equal((await s.call('GET', '/password', undefined, 'wrong-token-0123456789')).statusCode, 401);
    await s.done();
  });

  test('set (global and per profile), status without any secret, clear', async () => {
    const s = await admin();
    const put = await s.call('PUT', '/password', { password: PW });
    assert.equal(put.statusCode, 200);
    assert.equal(put.json().set, true);
    assert.match(put.json().updatedBy, /^api:[0-9a-f]{8}$/);
    assert.ok(!put.body.includes(PW));
    assert.equal((await s.call('PUT', '/password', { password: 'lab-own-pw', profile: 'lab' })).statusCode, 200);
    const st = await s.call('GET', '/password');
    assert.equal(st.statusCode, 200);
    const body = st.json();
    assert.equal(body.global.set, true);
    assert.deepEqual(body.profiles.map((p: { name: string; gated: boolean; uses: string }) => [p.name, p.gated, p.uses]), [['lab', true, 'profile']]);
    assert.ok(!st.body.includes(PW) && !st.body.includes('$scrypt$'));
    assert.equal((await s.call('DELETE', '/password?profile=lab')).statusCode, 204);
    assert.equal((await s.call('DELETE', '/password?profile=lab')).statusCode, 404);
    assert.equal((await s.call('GET', '/password')).json().profiles[0].uses, 'global');
    const audit = JSON.stringify(s.store.audit.query({ limit: 50 }));
    assert.ok(!audit.includes(PW) && !audit.includes('lab-own-pw'));
    await s.done();
  });

  test('a bad password is a 400 that does not quote it; unknown profiles and keys are refused', async () => {
    const s = await admin();
    for (const bad of ['short', 'ünïcödé-pass', 12345678]) {
      const r = await s.call('PUT', '/password', { password: bad });
      assert.equal(r.statusCode, 400, String(bad));
      assert.ok(!r.body.includes(String(bad)), r.body);
    }
    assert.equal((await s.call('PUT', '/password', { password: PW, profile: 'nope' })).statusCode, 404);
    assert.equal((await s.call('PUT', '/password', { pass: PW })).statusCode, 400);
    await s.done();
  });

  test('lift a lockout by MAC or IP; 404 when there is none', async () => {
    const s = await admin();
    s.pw.repo.setFailure(`mac:${MAC}`, { failures: 3, firstAt: Date.now(), lastAt: Date.now(), lockedUntil: Date.now() + 60_000 });
    const r = await s.call('DELETE', '/password/lockouts/52-54-00-77-00-01');
    assert.equal(r.statusCode, 200);
    assert.deepEqual([r.json().by, r.json().client, r.json().locked], ['mac', MAC, true]);
    assert.equal((await s.call('DELETE', '/password/lockouts/10.77.0.101')).statusCode, 404);
    assert.equal((await s.call('DELETE', '/password/lockouts/garbage')).statusCode, 400);
    await s.done();
  });
});
