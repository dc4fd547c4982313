/**
 * The console's server side without a browser: sign-in exchanges a token for a cookie with the right
 * attributes, sign-out revokes it on the server, changes need the CSRF header, a read-only session
 * changes nothing, the lockout after repeated failures, every change audited with who, the CSV
 * preview writes nothing, and the live boot feed over server-sent events.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { consoleFeature, type AttachedConsole } from '../../daemon/features/console/index.js';
import { SessionStore, csrfMatches, sessionIdFrom } from '../../daemon/features/console/sessions.js';
import { createLogger } from '../../daemon/log.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { openStore, type Store } from '../../daemon/store/db.js';
import { STORE_BACKENDS } from './helpers/store-backends.js';
import { PasswordRepo } from '../../daemon/features/password/store.js';
import { RolloutService } from '../../daemon/features/rollout/service.js';
import { RolloutRepo } from '../../daemon/features/rollout/store.js';

const RW = 'rw-token-0123456789abcdef';
const RO = 'ro-token-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'bg-console-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Setup { app: FastifyInstance; store: Store; attached: AttachedConsole; registry: Registry; close: () => Promise<void> }

async function setup(extra: Record<string, unknown> = {}): Promise<Setup> {
  const tokensFile = join(dir, `tokens-${Math.random().toString(16).slice(2)}`);
  writeFileSync(tokensFile, `${RW}\n${RO}:ro\n`);
  const cfg = validateConfig({ admin: { tokensFile }, profiles: { winpe: {}, linux: {} }, policy: { unknown: { action: 'pending', profile: 'winpe' } }, ...extra }, 'test');
  const store = openStore(':memory:');
  const registry = new Registry();
  const attached = consoleFeature.attach({
    store, config: () => cfg, logger: createLogger('silent'), registry, macOfIp: () => undefined, sessions: () => [],
  });
  const app = Fastify();
  await attached.mount(app);
  return {
    app, store, attached, registry,
    close: async () => { attached.close?.(); await app.close(); store.close(); },
  };
}

async function signIn(app: FastifyInstance, token: string, ip = '127.0.0.1') {
  const res = await app.inject({ method: 'POST', url: '/console/api/session', payload: { token }, remoteAddress: ip });
  const cookie = String(res.headers['set-cookie'] ?? '');
  const body = res.json() as { csrf: string; readOnly: boolean; actor: string };
  return { res, cookie: cookie.split(';')[0] ?? '', csrf: body.csrf, body };
}

function addPending(store: Store, mac: string): void {
  store.devices.seen({ mac, guid: '33221100-5544-7766-8899-aabbccddee01', arch: 'bios', archCode: 0, vendorClass: 'PXEClient', ip: null, firstSeen: 1, lastSeen: 2, attempts: 1 }, true);
}

describe('console sessions', () => {
  test('sign-in sets an HttpOnly, Secure, SameSite=Strict, expiring cookie; the session reads; sign-out revokes it on the server', async () => {
    const s = await setup();
    try {
      const { res, cookie, csrf, body } = await signIn(s.app, RW);
      assert.equal(res.statusCode, 201);
      const setCookie = String(res.headers['set-cookie']);
      for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/console/']) assert.ok(setCookie.includes(attr), `${attr} in ${setCookie}`);
      assert.match(setCookie, /Max-Age=\d+/);
      assert.equal(body.readOnly, false);
      assert.match(body.actor, /^console:[0-9a-f]{8}$/);
      assert.ok(!setCookie.includes(RW), 'the token is not the cookie');

      const who = await s.app.inject({ method: 'GET', url: '/console/api/session', headers: { cookie } });
      assert.equal(who.statusCode, 200);
      const out = await s.app.inject({ method: 'DELETE', url: '/console/api/session', headers: { cookie, 'x-csrf-token': csrf } });
      assert.equal(out.statusCode, 204);
      assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
      // The old cookie, replayed, is worth nothing: revocation is on the server.
      const again = await s.app.inject({ method: 'GET', url: '/console/api/pending', headers: { cookie } });
      assert.equal(again.statusCode, 401);
      const audit = s.store.audit.query({ type: 'admin', limit: 10 }).map((e) => `${e.actor} ${e.detail}`);
      assert.ok(audit.some((a) => a === `${body.actor} console sign-out`), audit.join('\n'));
    } finally {
      await s.close();
    }
  });

  test('a wrong token is refused, and after 10 failures from one address even the right one is, with Retry-After', async () => {
    const s = await setup();
    try {
      for (let i = 0; i < 10; i++) assert.equal((await signIn(s.app, 'wrong-token-0123456789', '10.0.0.9')).res.statusCode, 401);
      const locked = await signIn(s.app, RW, '10.0.0.9');
      assert.equal(locked.res.statusCode, 429);
      assert.ok(Number(locked.res.headers['retry-after']) > 0);
      assert.equal((await signIn(s.app, RW, '10.0.0.10')).res.statusCode, 201, 'another address is not locked out');
    } finally {
      await s.close();
    }
  });

  test('without a session every API route is refused; the page itself is served with a strict CSP', async () => {
    const s = await setup();
    try {
      for (const url of ['/console/api/pending', '/console/api/boots', '/console/api/computers', '/console/api/audit']) {
        assert.equal((await s.app.inject({ method: 'GET', url })).statusCode, 401, url);
      }
      const forged = await s.app.inject({ method: 'POST', url: '/console/api/pending/52:54:00:00:00:01/approve', headers: { cookie: 'bootgate_console=made-up' }, payload: {} });
      assert.equal(forged.statusCode, 401);
      const page = await s.app.inject({ method: 'GET', url: '/console/' });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
      assert.match(page.body, /<script src="console.js"/);
    } finally {
      await s.close();
    }
  });

  test('a change without the CSRF header, or with a wrong one, is refused and changes nothing', async () => {
    const s = await setup();
    try {
      addPending(s.store, '52:54:00:00:00:01');
      const { cookie, csrf } = await signIn(s.app, RW);
      const url = '/console/api/pending/52:54:00:00:00:01/approve';
      const none = await s.app.inject({ method: 'POST', url, headers: { cookie }, payload: { profile: 'winpe' } });
      assert.equal(none.statusCode, 403);
      assert.equal(none.json().code, 'ERR_CSRF');
      const wrong = await s.app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': `${csrf.slice(0, -1)}x` }, payload: { profile: 'winpe' } });
      assert.equal(wrong.statusCode, 403);
      assert.equal(s.store.devices.count('pending'), 1);
      const ok = await s.app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': csrf }, payload: { name: 'lab-pc-1', profile: 'winpe' } });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal(s.store.devices.count('pending'), 0);
      const who = s.store.audit.query({ type: 'admin', mac: '52:54:00:00:00:01', limit: 5 });
      assert.ok(who.some((e) => e.detail === 'approved as lab-pc-1' && /^console:/.test(e.actor ?? '')), JSON.stringify(who));
    } finally {
      await s.close();
    }
  });

  test('a read-only session reads everything and the server refuses every change, even with its CSRF token', async () => {
    const s = await setup();
    try {
      addPending(s.store, '52:54:00:00:00:02');
      const { cookie, csrf, body } = await signIn(s.app, RO);
      assert.equal(body.readOnly, true);
      const list = await s.app.inject({ method: 'GET', url: '/console/api/pending', headers: { cookie } });
      assert.equal(list.statusCode, 200);
      assert.equal(list.json().devices[0].guidFirmware, '00112233-4455-6677-8899-aabbccddee01');
      const changes = [
        { method: 'POST' as const, url: '/console/api/pending/52:54:00:00:00:02/approve', payload: { profile: 'winpe' } },
        { method: 'POST' as const, url: '/console/api/pending/52:54:00:00:00:02/reject', payload: {} },
        { method: 'POST' as const, url: '/console/api/pending/bulk', payload: { action: 'approve', macs: ['52:54:00:00:00:02'] } },
        { method: 'POST' as const, url: '/console/api/import', payload: 'Name,MAC\npc1,52:54:00:00:00:09\n', ct: 'text/csv' },
        { method: 'DELETE' as const, url: '/console/api/computers/pc1' },
        { method: 'PATCH' as const, url: '/console/api/settings', payload: { answering: false } },
      ];
      for (const c of changes) {
        const res = await s.app.inject({ method: c.method, url: c.url, headers: { cookie, 'x-csrf-token': csrf, ...(c.ct ? { 'content-type': c.ct } : {}) }, payload: c.payload });
        assert.equal(res.statusCode, 403, `${c.method} ${c.url}`);
        assert.equal(res.json().code, 'ERR_READ_ONLY');
      }
      assert.equal(s.store.devices.count('pending'), 1);
      assert.equal(s.store.computers.all().length, 0);
      assert.deepEqual(s.store.settings.overrides(), {});
      // Signing out is allowed.
      assert.equal((await s.app.inject({ method: 'DELETE', url: '/console/api/session', headers: { cookie, 'x-csrf-token': csrf } })).statusCode, 204);
    } finally {
      await s.close();
    }
  });

  test('bad input gets the API\'s exact problem: an unknown profile, a bad name', async () => {
    const s = await setup();
    try {
      addPending(s.store, '52:54:00:00:00:03');
      const { cookie, csrf } = await signIn(s.app, RW);
      const url = '/console/api/pending/52:54:00:00:00:03/approve';
      const bad = await s.app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': csrf }, payload: { profile: 'nope' } });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().message, /nope/);
      const badName = await s.app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': csrf }, payload: { name: 'a b', profile: 'winpe' } });
      assert.equal(badName.statusCode, 400);
      assert.equal(s.store.devices.count('pending'), 1);
    } finally {
      await s.close();
    }
  });

  test('the CSV preview lists every bad row and writes nothing; the fixed file imports in one go', async () => {
    const s = await setup();
    try {
      const { cookie, csrf } = await signIn(s.app, RW);
      const headers = { cookie, 'x-csrf-token': csrf, 'content-type': 'text/csv' };
      const bad = 'Name,MAC,Profile\npc1,52:54:00:00:01:01,winpe\npc2,not-a-mac,winpe\npc3,52:54:00:00:01:03,nope\npc4,52:54:00:00:01:04,winpe\n';
      const preview = await s.app.inject({ method: 'POST', url: '/console/api/import/preview', headers, payload: bad });
      assert.equal(preview.statusCode, 200, preview.body);
      const p = preview.json() as { problems: string[] };
      assert.equal(p.problems.length, 2, p.problems.join('\n'));
      assert.ok(p.problems.some((x) => /line 3/.test(x)) && p.problems.some((x) => /line 4/.test(x)), p.problems.join('\n'));
      assert.equal(s.store.computers.all().length, 0);
      const refused = await s.app.inject({ method: 'POST', url: '/console/api/import', headers, payload: bad });
      assert.equal(refused.statusCode, 400);
      assert.equal(s.store.computers.all().length, 0);
      const good = bad.replace('not-a-mac', '52:54:00:00:01:02').replace(',nope', ',winpe');
      const done = await s.app.inject({ method: 'POST', url: '/console/api/import', headers, payload: good });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.json().created, 4);
      const page = await s.app.inject({ method: 'GET', url: '/console/api/computers?q=pc&sort=name&order=desc&limit=2', headers: { cookie } });
      assert.deepEqual(page.json().computers.map((c: { name: string }) => c.name), ['pc4', 'pc3']);
      assert.equal(page.json().total, 4);
      const byMac = await s.app.inject({ method: 'GET', url: '/console/api/computers?q=00:01:03', headers: { cookie } });
      assert.deepEqual(byMac.json().computers.map((c: { name: string }) => c.name), ['pc3'], 'a MAC fragment finds its computer');
      const wildcard = await s.app.inject({ method: 'GET', url: '/console/api/computers?q=pc_', headers: { cookie } });
      assert.equal(wildcard.json().total, 0, 'LIKE wildcards in the search are taken literally');
      const csv = await s.app.inject({ method: 'GET', url: '/console/api/computers.csv', headers: { cookie } });
      assert.match(csv.body, /^Name,MAC,SMBIOS GUID,Profile/);
      assert.match(csv.body, /pc2,52:54:00:00:01:02,,winpe/);
    } finally {
      await s.close();
    }
  });
});

describe('session store', () => {
  test('a session ends after its idle time and its maximum age; CSRF compares exactly', async () => {
    let t = 0;
    const db = openStore(':memory:');
    const store = new SessionStore(db, () => t, { maxAgeMs: 10_000, idleMs: 3000, maxSessions: 2 });
    const a = await store.create('console:a', false);
    t = 2000;
    assert.ok(await store.get(a.id));
    t = 4000;
    assert.ok(await store.get(a.id), 'used 2 s ago: still alive');
    t = 7001;
    assert.equal(await store.get(a.id), undefined, 'idle for 3 s: gone');
    const b = await store.create('console:b', false);
    for (let i = 1; i <= 4; i++) { t += 2000; assert.ok(await store.get(b.id), `at ${t}`); }
    t += 2000;
    assert.equal(await store.get(b.id), undefined, 'past its maximum age');
    const c = await store.create('console:c', false);
    await store.create('console:d', false);
    await store.create('console:e', false);
    assert.equal(await store.get(c.id), undefined, 'the oldest goes beyond maxSessions');
    assert.equal(csrfMatches(c, c.csrf), true);
    assert.equal(csrfMatches(c, undefined), false);
    assert.equal(csrfMatches(c, [c.csrf]), false);
    assert.equal(sessionIdFrom(`a=b; bootgate_console=${c.id}; x=y`), c.id);
    // The store holds the id's digest, never the id.
    const rows = db.db.prepare('SELECT digest FROM console_sessions').all() as Array<{ digest: string }>;
    assert.ok(rows.length > 0 && rows.every((r) => /^[0-9a-f]{64}$/.test(r.digest) && r.digest !== c.id));
    db.close();
  });

  for (const backend of STORE_BACKENDS) {
    test(`${backend.name}: a session survives a restart and is honoured by another appliance on the same store; signing out anywhere ends it everywhere`, async () => {
      const where = backend.location(dir);
      const a = openStore(where, { serverName: 'appliance-a' });
      const b = openStore(where, { serverName: 'appliance-b' });
      const opened = [a, b];
      try {
        const onA = new SessionStore(a);
        const s = await onA.create('console:0123abcd', true);
        // "A restart": a new SessionStore on a new connection to the same store.
        const c = openStore(where);
        opened.push(c);
        const restarted = new SessionStore(c);
        const again = await restarted.get(s.id);
        assert.deepEqual([again?.actor, again?.readOnly, again?.csrf], ['console:0123abcd', true, s.csrf]);
        const onB = new SessionStore(b);
        assert.equal((await onB.get(s.id))?.actor, 'console:0123abcd');
        assert.equal(await onB.size(), 1);
        let ended = 0;
        onA.onRevoke(s.id, () => { ended += 1; });
        assert.equal(await onB.revoke(s.id), true);
        assert.equal(await onA.get(s.id), undefined, 'signed out on B: gone on A');
        assert.equal(await restarted.get(s.id), undefined);
        assert.equal(await onA.revoke(s.id), false);
        assert.equal(ended, 1, 'A\'s own streams end at its revoke call (B\'s at their next beat)');
        assert.equal(await onB.get('x'.repeat(10_000)), undefined);
      } finally {
        for (const o of opened) o.close();
      }
    });
  }
});

describe('live boot feed over server-sent events', () => {
  test('a decision reaches a connected stream as an event; the stream ends when its session is revoked', async () => {
    const s = await setup();
    const { cookie, csrf } = await signIn(s.app, RW);
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (s.app.server.address() as { port: number }).port;
    try {
      const chunks: string[] = [];
      let ended!: () => void;
      const endedP = new Promise<void>((r) => { ended = r; });
      let got!: () => void;
      const gotP = new Promise<void>((r) => { got = r; });
      const req = request({ host: '127.0.0.1', port, path: '/console/api/boots/stream', headers: { cookie } }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /text\/event-stream/);
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          chunks.push(d);
          if (chunks.join('').includes('event: boot')) got();
          if (d.includes('retry:')) {
            const client: ClientInfo = {
              mac: '52:54:00:aa:bb:cc', archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null,
              vendorClass: 'PXEClient', ip: '10.1.2.3', door: 'dhcp',
            };
            s.attached.observe?.(client, { kind: 'pending', reason: 'unknown-pending' });
          }
        });
        res.on('end', () => ended());
      });
      req.end();
      await gotP;
      const text = chunks.join('');
      const data = /event: boot\ndata: (.*)\n/.exec(text)?.[1];
      assert.ok(data, text);
      const e = JSON.parse(data) as { mac: string; door: string; decision: string; reason: string };
      assert.deepEqual([e.mac, e.door, e.decision, e.reason], ['52:54:00:aa:bb:cc', 'dhcp', 'pending', 'unknown-pending']);
      const snap = await s.app.inject({ method: 'GET', url: '/console/api/boots', headers: { cookie } });
      assert.equal(snap.json().machines[0].mac, '52:54:00:aa:bb:cc');
      assert.equal(s.attached.feed.subscribers, 1);
      await s.app.inject({ method: 'DELETE', url: '/console/api/session', headers: { cookie, 'x-csrf-token': csrf } });
      // Signing out ends the session's streams at once, not at the next heartbeat.
      await endedP;
      assert.match(chunks.join(''), /event: signed-out/);
      assert.equal(s.attached.feed.subscribers, 0);
    } finally {
      await s.close();
    }
  });

  test('a stream started with ?after= replays what happened since that snapshot', async () => {
    const s = await setup();
    const { cookie } = await signIn(s.app, RW);
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (s.app.server.address() as { port: number }).port;
    try {
      const snap = (await s.app.inject({ method: 'GET', url: '/console/api/boots', headers: { cookie } })).json() as { lastId: number };
      // Between the snapshot and the stream's start: a transfer ends.
      s.attached.transferred?.({ door: 'http', clientIp: '10.1.2.3', path: 'vmlinuz', bytes: 8_000_000, result: 'ok' });
      const text = await new Promise<string>((res, rej) => {
        const req = request({ host: '127.0.0.1', port, path: `/console/api/boots/stream?after=${snap.lastId}`, headers: { cookie } }, (r) => {
          let got = '';
          r.setEncoding('utf8');
          r.on('data', (d: string) => {
            got += d;
            if (got.includes('event: boot')) { req.destroy(); res(got); }
          });
        });
        req.on('error', rej);
        req.end();
      });
      const e = JSON.parse(/data: (.*)\n/.exec(text.slice(text.indexOf('event: boot')))?.[1] ?? '{}') as { kind: string; file: string; bytes: number };
      assert.deepEqual([e.kind, e.file, e.bytes], ['transfer', 'vmlinuz', 8_000_000]);
    } finally {
      await s.close();
    }
  });
});

describe('console passwords and lockouts', () => {
  const SECRET = 'Sesame-42';
  const lockOut = (store: Store, mac: string) => {
    const t = Date.now();
    new PasswordRepo(store.db).setFailure(`mac:${mac}`, { failures: 5, firstAt: t - 1000, lastAt: t - 500, lockedUntil: t + 600_000 });
  };

  test('a profile password typed twice is set through the password service, audited with who, and never sent back', async () => {
    const s = await setup();
    try {
      const { cookie, csrf, body } = await signIn(s.app, RW);
      const headers = { cookie, 'x-csrf-token': csrf };
      const set = await s.app.inject({ method: 'PUT', url: '/console/api/passwords', headers, payload: { profile: 'winpe', password: SECRET, confirm: SECRET } });
      assert.equal(set.statusCode, 200, set.body);
      assert.equal(set.json().set, true);
      const status = await s.app.inject({ method: 'GET', url: '/console/api/passwords', headers: { cookie } });
      assert.equal(status.statusCode, 200);
      const winpe = (status.json().profiles as { name: string; own: { set: boolean; updatedBy: string } }[]).find((p) => p.name === 'winpe');
      assert.equal(winpe?.own.set, true);
      assert.equal(winpe?.own.updatedBy, body.actor);
      for (const text of [set.body, status.body]) assert.ok(!text.includes(SECRET) && !/scrypt|\$/.test(text), text);
      const audit = s.store.audit.query({ type: 'admin', limit: 10 });
      assert.ok(audit.some((e) => e.actor === body.actor && e.profile === 'winpe' && / set$/.test(e.detail ?? '')), JSON.stringify(audit));
      assert.ok(!JSON.stringify(audit).includes(SECRET));

      const cleared = await s.app.inject({ method: 'DELETE', url: '/console/api/passwords?profile=winpe', headers });
      assert.equal(cleared.statusCode, 204);
      assert.ok(s.store.audit.query({ type: 'admin', limit: 10 }).some((e) => e.actor === body.actor && / cleared$/.test(e.detail ?? '')));
      assert.equal((await s.app.inject({ method: 'DELETE', url: '/console/api/passwords?profile=winpe', headers })).statusCode, 404, 'nothing left to clear');
    } finally {
      await s.close();
    }
  });

  test('two typings that differ, a too-short password or an unknown profile are refused with the problem and store nothing, never quoting the password', async () => {
    const s = await setup();
    try {
      const { cookie, csrf } = await signIn(s.app, RW);
      const headers = { cookie, 'x-csrf-token': csrf };
      const put = (payload: object) => s.app.inject({ method: 'PUT', url: '/console/api/passwords', headers, payload });
      const differ = await put({ profile: 'winpe', password: SECRET, confirm: `${SECRET}x` });
      assert.equal(differ.statusCode, 400);
      assert.match(differ.json().message, /differ/);
      assert.ok(!differ.body.includes(SECRET));
      const short = await put({ profile: 'winpe', password: 'abc', confirm: 'abc' });
      assert.equal(short.statusCode, 400);
      assert.ok(!short.body.includes('"abc"'), short.body);
      const unknown = await put({ profile: 'nope', password: SECRET, confirm: SECRET });
      assert.equal(unknown.statusCode, 404);
      assert.match(unknown.json().message, /nope/);
      const missing = await put({ profile: 'winpe', password: SECRET });
      assert.equal(missing.statusCode, 400, 'the second typing is required');
      const extra = await put({ profile: 'winpe', password: SECRET, confirm: SECRET, hint: 'x' });
      assert.equal(extra.statusCode, 400, 'the API schema refuses unknown fields');
      const status = (await s.app.inject({ method: 'GET', url: '/console/api/passwords', headers: { cookie } })).json();
      assert.equal(status.global.set, false);
      assert.ok((status.profiles as { own: { set: boolean } }[]).every((p) => !p.own.set));
    } finally {
      await s.close();
    }
  });

  test('lockouts are listed and lifted with who in the audit; a bad client is the API\'s 400', async () => {
    const s = await setup();
    try {
      lockOut(s.store, '52:54:00:77:00:01');
      const { cookie, csrf, body } = await signIn(s.app, RW);
      const headers = { cookie, 'x-csrf-token': csrf };
      const list = (await s.app.inject({ method: 'GET', url: '/console/api/passwords', headers: { cookie } })).json();
      assert.deepEqual(list.lockouts.map((l: { client: string; locked: boolean }) => [l.client, l.locked]), [['52:54:00:77:00:01', true]]);
      const lifted = await s.app.inject({ method: 'DELETE', url: '/console/api/passwords/lockouts/52-54-00-77-00-01', headers });
      assert.equal(lifted.statusCode, 200, lifted.body);
      assert.equal((await s.app.inject({ method: 'GET', url: '/console/api/passwords', headers: { cookie } })).json().lockouts.length, 0);
      const audit = s.store.audit.query({ type: 'admin', mac: '52:54:00:77:00:01', limit: 5 });
      assert.ok(audit.some((e) => e.actor === body.actor && /lockout lifted/.test(e.detail ?? '')), JSON.stringify(audit));
      assert.equal((await s.app.inject({ method: 'DELETE', url: '/console/api/passwords/lockouts/garbage', headers })).statusCode, 400);
      assert.equal((await s.app.inject({ method: 'DELETE', url: '/console/api/passwords/lockouts/10.0.0.9', headers })).statusCode, 404);
    } finally {
      await s.close();
    }
  });

  test('a read-only session sees the state but cannot set, clear or lift; without CSRF nothing changes either', async () => {
    const s = await setup();
    try {
      lockOut(s.store, '52:54:00:77:00:02');
      const rw = await signIn(s.app, RW);
      assert.equal((await s.app.inject({ method: 'PUT', url: '/console/api/passwords', headers: { cookie: rw.cookie, 'x-csrf-token': rw.csrf }, payload: { profile: 'winpe', password: SECRET, confirm: SECRET } })).statusCode, 200);
      const noCsrf = [
        { method: 'PUT' as const, url: '/console/api/passwords', payload: { profile: 'winpe', password: 'Other-pass-1', confirm: 'Other-pass-1' } },
        { method: 'DELETE' as const, url: '/console/api/passwords?profile=winpe' },
        { method: 'DELETE' as const, url: '/console/api/passwords/lockouts/52:54:00:77:00:02' },
      ];
      for (const c of noCsrf) {
        const res = await s.app.inject({ method: c.method, url: c.url, headers: { cookie: rw.cookie }, payload: c.payload });
        assert.equal(res.statusCode, 403, `${c.method} ${c.url}`);
        assert.equal(res.json().code, 'ERR_CSRF');
      }
      const ro = await signIn(s.app, RO);
      const status = await s.app.inject({ method: 'GET', url: '/console/api/passwords', headers: { cookie: ro.cookie } });
      assert.equal(status.statusCode, 200);
      assert.equal(status.json().lockouts.length, 1);
      for (const c of noCsrf) {
        const res = await s.app.inject({ method: c.method, url: c.url, headers: { cookie: ro.cookie, 'x-csrf-token': ro.csrf }, payload: c.payload });
        assert.equal(res.statusCode, 403, `${c.method} ${c.url}`);
        assert.equal(res.json().code, 'ERR_READ_ONLY');
      }
      const after = (await s.app.inject({ method: 'GET', url: '/console/api/passwords', headers: { cookie: ro.cookie } })).json();
      assert.equal(after.lockouts.length, 1);
      const winpe = (after.profiles as { name: string; own: { set: boolean; updatedAt: string } }[]).find((p) => p.name === 'winpe');
      assert.equal(winpe?.own.set, true);
      assert.equal(winpe?.own.updatedAt, status.json().profiles.find((p: { name: string }) => p.name === 'winpe').own.updatedAt, 'the password was not replaced');
    } finally {
      await s.close();
    }
  });
});

describe('console computer edit', () => {
  const base = { name: 'lab-pc-1', macs: ['52:54:00:00:10:01'], guid: null, profile: 'winpe', kind: null, notes: '', sourceComputer: null };
  const put = (s: Setup, headers: Record<string, string>, ref: string, payload: object) =>
    s.app.inject({ method: 'PUT', url: `/console/api/computers/${encodeURIComponent(ref)}`, headers, payload });

  test('profile, kind, name, notes, MACs and GUID change through the inventory service, audited with who', async () => {
    const s = await setup();
    try {
      s.store.computers.insert(base, Date.now());
      const { cookie, csrf, body } = await signIn(s.app, RW);
      const headers = { cookie, 'x-csrf-token': csrf };
      const res = await put(s, headers, 'lab-pc-1', {
        name: 'lab-pc-2', macs: ['52-54-00-00-10-02', '52:54:00:00:10:03'], guid: '00112233-4455-6677-8899-aabbccddee02',
        profile: 'linux', kind: 'required', notes: 'moved to room 4', sourceComputer: null,
      });
      assert.equal(res.statusCode, 200, res.body);
      const c = s.store.computers.byName('lab-pc-2');
      assert.ok(c);
      assert.deepEqual([c.macs, c.guid, c.profile, c.kind, c.notes], [['52:54:00:00:10:02', '52:54:00:00:10:03'], '00112233-4455-6677-8899-aabbccddee02', 'linux', 'required', 'moved to room 4']);
      assert.equal(s.store.computers.byName('lab-pc-1'), undefined);
      assert.equal(s.store.computers.all().length, 1, 'replaced, not added');
      const audit = s.store.audit.query({ type: 'admin', limit: 10 });
      assert.ok(audit.some((e) => e.actor === body.actor && e.detail === 'computer replaced (was lab-pc-1)'), JSON.stringify(audit));
    } finally {
      await s.close();
    }
  });

  test('each problem comes back as the API words it and names its field; nothing changes', async () => {
    const s = await setup();
    try {
      s.store.computers.insert(base, Date.now());
      s.store.computers.insert({ ...base, name: 'other', macs: ['52:54:00:00:10:09'] }, Date.now());
      const { cookie, csrf } = await signIn(s.app, RW);
      const headers = { cookie, 'x-csrf-token': csrf };
      const bad = await put(s, headers, 'lab-pc-1', { ...base, macs: ['not-a-mac'], guid: 'zz', profile: 'nope' });
      assert.equal(bad.statusCode, 400);
      const b = bad.json() as { problems: string[]; fields: Record<string, string[]> };
      assert.match(b.fields.macs?.[0] ?? '', /MAC "not-a-mac" is not a MAC address/);
      assert.match(b.fields.guid?.[0] ?? '', /SMBIOS GUID "zz" is not a GUID/);
      assert.match(b.fields.profile?.[0] ?? '', /profile "nope" is not in the configuration/);
      assert.equal(b.fields.general, undefined, JSON.stringify(b.fields));
      // The API's PUT says exactly the same.
      const schemaBad = await put(s, headers, 'lab-pc-1', { ...base, kind: 'sometimes' });
      assert.equal(schemaBad.statusCode, 400);
      assert.match(schemaBad.json().fields.kind[0], /^body\.kind must be one of/);
      const taken = await put(s, headers, 'lab-pc-1', { ...base, macs: ['52:54:00:00:10:09'] });
      assert.equal(taken.statusCode, 409);
      assert.match(taken.json().fields.macs[0], /already belongs to computer "other"/);
      const missing = await put(s, headers, 'no-such-pc', base);
      assert.equal(missing.statusCode, 404);
      const c = s.store.computers.byName('lab-pc-1');
      assert.deepEqual([c?.macs, c?.profile], [['52:54:00:00:10:01'], 'winpe']);
    } finally {
      await s.close();
    }
  });

  test('a read-only session or a missing CSRF header edits nothing', async () => {
    const s = await setup();
    try {
      s.store.computers.insert(base, Date.now());
      const rw = await signIn(s.app, RW);
      const noCsrf = await put(s, { cookie: rw.cookie }, 'lab-pc-1', { ...base, profile: 'linux' });
      assert.equal(noCsrf.statusCode, 403);
      const ro = await signIn(s.app, RO);
      const refused = await put(s, { cookie: ro.cookie, 'x-csrf-token': ro.csrf }, 'lab-pc-1', { ...base, profile: 'linux' });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().code, 'ERR_READ_ONLY');
      assert.equal(s.store.computers.byName('lab-pc-1')?.profile, 'winpe');
    } finally {
      await s.close();
    }
  });
});

describe('console import skipping bad rows', () => {
  const bad = 'Name,MAC,Profile\npc1,52:54:00:00:01:01,winpe\npc2,not-a-mac,winpe\npc3,52:54:00:00:01:03,nope\npc4,52:54:00:00:01:04,winpe\n';
  const csvHeaders = (cookie: string, csrf: string) => ({ cookie, 'x-csrf-token': csrf, 'content-type': 'text/csv' });

  test('the preview names the bad lines; importing with exactly those skipped writes the good rows once and names the skipped lines in the audit', async () => {
    const s = await setup();
    try {
      const { cookie, csrf, body } = await signIn(s.app, RW);
      const headers = csvHeaders(cookie, csrf);
      const p = (await s.app.inject({ method: 'POST', url: '/console/api/import/preview', headers, payload: bad })).json();
      assert.deepEqual([p.badLines, p.goodRows, p.skippable], [[3, 4], 2, true]);
      const done = await s.app.inject({ method: 'POST', url: '/console/api/import/skipping?skip=3,4', headers, payload: bad });
      assert.equal(done.statusCode, 200, done.body);
      assert.deepEqual([done.json().created, done.json().skippedLines], [2, [3, 4]]);
      assert.deepEqual(s.store.computers.all().map((c) => c.name).sort(), ['pc1', 'pc4']);
      const audit = s.store.audit.query({ type: 'admin', limit: 5 });
      assert.ok(audit.some((e) => e.actor === body.actor && e.detail === 'import: 2 created, skipped 2 rows with problems (lines 3, 4)'), JSON.stringify(audit));
    } finally {
      await s.close();
    }
  });

  test('a skip list that is not exactly the bad lines, a file-level problem, or no good row imports nothing', async () => {
    const s = await setup();
    try {
      const { cookie, csrf } = await signIn(s.app, RW);
      const headers = csvHeaders(cookie, csrf);
      const tooFew = await s.app.inject({ method: 'POST', url: '/console/api/import/skipping?skip=3', headers, payload: bad });
      assert.equal(tooFew.statusCode, 409);
      assert.match(tooFew.json().message, /now 3, 4/);
      const tooMany = await s.app.inject({ method: 'POST', url: '/console/api/import/skipping?skip=2,3,4', headers, payload: bad });
      assert.equal(tooMany.statusCode, 409);
      const noHeader = await s.app.inject({ method: 'POST', url: '/console/api/import/skipping?skip=1', headers, payload: 'pc1;52:54:00:00:01:01\n' });
      assert.equal(noHeader.statusCode, 400, noHeader.body);
      const empty = await s.app.inject({ method: 'POST', url: '/console/api/import/skipping?skip=2', headers, payload: 'Name,MAC,Profile\n' });
      assert.equal(empty.statusCode, 400, empty.body);
      assert.match(empty.json().message, /about the file/);
      const allBad = await s.app.inject({ method: 'POST', url: '/console/api/import/skipping?skip=2', headers, payload: 'Name,MAC,Profile\npc2,not-a-mac,winpe\n' });
      assert.equal(allBad.statusCode, 400);
      const garbage = await s.app.inject({ method: 'POST', url: '/console/api/import/skipping?skip=3;drop', headers, payload: bad });
      assert.equal(garbage.statusCode, 400);
      assert.match(garbage.json().message, /querystring\.skip/);
      assert.equal(s.store.computers.all().length, 0);
      const pv = (await s.app.inject({ method: 'POST', url: '/console/api/import/preview', headers, payload: 'Name,MAC,Profile\npc1,52:54:00:00:01:01,winpe\n' })).json();
      assert.equal(pv.skippable, false, 'nothing to skip in a clean file');
    } finally {
      await s.close();
    }
  });

  test('a read-only session or a missing CSRF header cannot import with skipping', async () => {
    const s = await setup();
    try {
      const rw = await signIn(s.app, RW);
      const noCsrf = await s.app.inject({ method: 'POST', url: '/console/api/import/skipping?skip=3,4', headers: { cookie: rw.cookie, 'content-type': 'text/csv' }, payload: bad });
      assert.equal(noCsrf.statusCode, 403);
      const ro = await signIn(s.app, RO);
      const refused = await s.app.inject({ method: 'POST', url: '/console/api/import/skipping?skip=3,4', headers: csvHeaders(ro.cookie, ro.csrf), payload: bad });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().code, 'ERR_READ_ONLY');
      assert.equal(s.store.computers.all().length, 0);
    } finally {
      await s.close();
    }
  });
});

describe('console rollouts', () => {
  const rolloutCfg = {
    profiles: {
      winpe: {}, linux: {},
      win11: { kind: 'required', bootFiles: { 'efi-x64': 'win11/bootmgfw.efi' }, rollout: { startDate: '2025-03-03', timeZone: 'UTC', startPerGroup: 1, growthFactor: 1 } },
    },
    maintenanceWindows: { nights: { schedule: 'Mon-Fri 20:00-06:00', timeZone: 'UTC', groups: ['labs'] } },
  };
  const withMembers = (s: Setup) => {
    s.store.tx(() => {
      for (let i = 1; i <= 4; i += 1) s.store.computers.insert({ name: `PC-${i}`, macs: [`52:54:00:07:03:0${i}`], guid: null, profile: 'win11', kind: null, notes: '', sourceComputer: null }, 1);
    });
    const cfg = validateConfig(rolloutCfg, 'test');
    const rollouts = new RolloutService(RolloutRepo.open(s.store), () => cfg);
    rollouts.setMembers([{ computer: 'PC-1', group: 'labs' }, { computer: 'PC-2', group: 'labs' }, { computer: 'PC-3', group: 'kiosks' }], 'test');
    rollouts.halt('win11', 'labs', 'test', 'two failures');
  };

  test('per profile and group: days with admitted/done/failed, the halt, the windows, tomorrow; resume is audited with who', async () => {
    const s = await setup(rolloutCfg);
    try {
      withMembers(s);
      const { cookie, csrf, body } = await signIn(s.app, RW);
      const view = await s.app.inject({ method: 'GET', url: '/console/api/rollouts', headers: { cookie } });
      assert.equal(view.statusCode, 200, view.body);
      const r = (view.json().rollouts as { profile: string; tomorrow: number; windows: { name: string }[]; totals: unknown[]; groups: { group: string; halt: { reason: string } | null; days: { admitted: number }[] }[] }[])[0];
      assert.equal(r?.profile, 'win11');
      assert.deepEqual(r.windows.map((w) => w.name), ['nights']);
      assert.equal(typeof r.tomorrow, 'number');
      assert.ok(r.totals.length > 0);
      const labs = r.groups.find((g) => g.group === 'labs');
      assert.equal(labs?.halt?.reason, 'two failures');
      assert.ok((labs?.days.length ?? 0) > 0);
      const resumed = await s.app.inject({ method: 'POST', url: '/console/api/rollouts/win11/groups/labs/resume', headers: { cookie, 'x-csrf-token': csrf } });
      assert.equal(resumed.statusCode, 200, resumed.body);
      assert.equal(resumed.json().groups.find((g: { group: string }) => g.group === 'labs').halt, null);
      assert.ok(s.store.audit.query({ type: 'admin', limit: 5 }).some((e) => e.actor === body.actor && e.detail === 'rollout resumed: group labs'));
      const again = await s.app.inject({ method: 'POST', url: '/console/api/rollouts/win11/groups/labs/resume', headers: { cookie, 'x-csrf-token': csrf } });
      assert.equal(again.statusCode, 409, 'not halted any more');
      const unknown = await s.app.inject({ method: 'POST', url: '/console/api/rollouts/nope/groups/labs/resume', headers: { cookie, 'x-csrf-token': csrf } });
      assert.equal(unknown.statusCode, 404);
    } finally {
      await s.close();
    }
  });

  test('halt: the rollout service\'s halt, audited with who; twice is a conflict; a bad reason is refused by the API\'s schema; read-only and CSRF-less refused', async () => {
    const s = await setup(rolloutCfg);
    try {
      withMembers(s);
      const { cookie, csrf, body } = await signIn(s.app, RW);
      const url = '/console/api/rollouts/win11/groups/kiosks/halt';
      const bad = await s.app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': csrf }, payload: { reason: '', extra: 1 } });
      assert.equal(bad.statusCode, 400, bad.body);
      const ro = await signIn(s.app, RO);
      assert.equal((await s.app.inject({ method: 'POST', url, headers: { cookie: ro.cookie, 'x-csrf-token': ro.csrf }, payload: {} })).json().code, 'ERR_READ_ONLY');
      assert.equal((await s.app.inject({ method: 'POST', url, headers: { cookie }, payload: {} })).json().code, 'ERR_CSRF');
      const halted = await s.app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': csrf }, payload: { reason: 'lab power work' } });
      assert.equal(halted.statusCode, 200, halted.body);
      assert.equal(halted.json().groups.find((g: { group: string }) => g.group === 'kiosks').halt.reason, 'lab power work');
      assert.ok(s.store.audit.query({ type: 'admin', limit: 5 }).some((e) => e.actor === body.actor && e.detail === 'rollout halted: group kiosks (lab power work)'));
      const twice = await s.app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': csrf }, payload: {} });
      assert.equal(twice.statusCode, 409);
    } finally {
      await s.close();
    }
  });

  test('a read-only session or a missing CSRF header cannot resume', async () => {
    const s = await setup(rolloutCfg);
    try {
      withMembers(s);
      const rw = await signIn(s.app, RW);
      assert.equal((await s.app.inject({ method: 'POST', url: '/console/api/rollouts/win11/groups/labs/resume', headers: { cookie: rw.cookie } })).statusCode, 403);
      const ro = await signIn(s.app, RO);
      const refused = await s.app.inject({ method: 'POST', url: '/console/api/rollouts/win11/groups/labs/resume', headers: { cookie: ro.cookie, 'x-csrf-token': ro.csrf } });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().code, 'ERR_READ_ONLY');
      const view = (await s.app.inject({ method: 'GET', url: '/console/api/rollouts', headers: { cookie: ro.cookie } })).json();
      assert.equal(view.rollouts[0].groups.find((g: { group: string }) => g.group === 'labs').halt.reason, 'two failures', 'still halted');
    } finally {
      await s.close();
    }
  });
});
