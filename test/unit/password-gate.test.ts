/**
 * The running gate on a real (in-memory) store with an injected clock: attempts, lockouts per MAC and
 * per IP, admin lift, unlocks that last one boot, the file gate for TFTP and HTTP (signed and plain
 * paths, case, backslashes, symlinks), the script hook, audit events and metrics, and that no password,
 * hash or token reaches a log line, an audit event or a metric.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import type { BootgateConfig } from '../../daemon/config/schema.js';
import { createLogger } from '../../daemon/log.js';
import type { ClientInfo, Decision } from '../../daemon/policy/types.js';
import { openStore, type Store } from '../../daemon/store/db.js';
import { PasswordAdmin } from '../../daemon/features/password/service.js';
import { PasswordGate } from '../../daemon/features/password/gate.js';
import { createPasswordMetrics, type PasswordMetrics } from '../../daemon/features/password/metrics.js';
import { splitSignedPath } from '../../daemon/features/password/files.js';

const MAC = '52:54:00:77:00:01';
const MAC2 = '52:54:00:77:00:02';
const IP = '10.77.0.101';
const IP2 = '10.77.0.102';
const PW = 'open-sesame-42';
const FAST = { ln: 10, r: 8, p: 1 };
const MIN = 60_000;

let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'bg-pw-gate-'));
  mkdirSync(join(root, 'Linux'));
  writeFileSync(join(root, 'Linux', 'vmlinuz'), 'kernel');
  writeFileSync(join(root, 'initrd.img'), 'initrd');
  writeFileSync(join(root, 'ipxe.efi'), 'ipxe');
  writeFileSync(join(root, 'open.txt'), 'open');
  // An alias outside the gated prefix pointing at a gated file.
  symlinkSync(join(root, 'Linux', 'vmlinuz'), join(root, 'alias'));
});

after(() => rmSync(root, { recursive: true, force: true }));

function config(over: Record<string, unknown> = {}): BootgateConfig {
  return validateConfig({
    root,
    profiles: {
      lab: { bootFiles: { 'efi-x64': 'ipxe.efi' }, ipxeScript: 'kernel {{http}}/linux/vmlinuz\ninitrd {{tftp}}/initrd.img\nboot', password: { mode: 'required', files: ['linux/', 'initrd.img'] } },
      other: { bootFiles: { 'efi-x64': 'ipxe.efi' }, ipxeScript: 'boot', password: { mode: 'required', files: ['other/'] } },
    },
    ...over,
  }, 'test');
}

interface Rig {
  store: Store;
  gate: PasswordGate;
  admin: PasswordAdmin;
  metrics: PasswordMetrics;
  registry: Registry;
  logs: string[];
  clock: { t: number };
  dir: Map<string, string>;
}

function rig(cfg = config()): Rig {
  const store = openStore(':memory:');
  const clock = { t: Date.UTC(2025, 0, 31, 9, 0, 0) };
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } });
  const logger = createLogger('debug', sink);
  const registry = new Registry();
  const metrics = createPasswordMetrics(registry);
  const dir = new Map<string, string>();
  const gate = new PasswordGate({ store, config: () => cfg, logger, metrics, now: () => clock.t, macOfIp: (ip) => dir.get(ip), key: Buffer.alloc(32, 1) });
  const admin = new PasswordAdmin(store, () => cfg, () => clock.t, FAST);
  return { store, gate, admin, metrics, registry, logs, clock, dir };
}

const attempt = (r: Rig, password: string, mac = MAC, ip = IP, profile = 'lab') => r.gate.attempt({ mac, ip, profile, computer: 'PC-01', password });

function client(over: Partial<ClientInfo> = {}): ClientInfo {
  return { mac: MAC, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: true, guid: null, guidSwapped: null, vendorClass: '', ip: IP, door: 'ipxe-script', ...over };
}

const VARS = { http: 'http://10.77.0.2:8080', tftp: 'tftp://10.77.0.2', mac: MAC, script: 'http://10.77.0.2:8080/ipxe/52-54-00-77-00-01.ipxe' };

async function everythingSecretFree(r: Rig): Promise<void> {
  const audit = JSON.stringify(r.store.audit.query({ limit: 1000 }));
  const metrics = await r.registry.metrics();
  const hashes = r.admin.repo.hashes().map((h) => h.hash.split('$').pop() ?? 'x');
  for (const [what, text] of [['logs', r.logs.join('')], ['audit', audit], ['metrics', metrics]] as const) {
    assert.ok(!text.includes(PW), `${what} contain the password`);
    for (const h of hashes) assert.ok(!text.includes(h), `${what} contain a password hash`);
    assert.ok(!/_signed\/[A-Za-z0-9_-]{20,}/.test(text), `${what} contain a signed URL token`);
  }
}

describe('password attempts and lockouts', () => {
  let r: Rig;
  beforeEach(async () => {
    r = rig();
    await r.admin.set(null, PW, 'test');
  });

  test('the right password unlocks the MAC for the profile, bound to the IP, for unlockMinutes', async () => {
    const o = await attempt(r, PW);
    assert.equal(o.result, 'ok');
    assert.ok(o.result === 'ok' && o.unlock.expiresAt === r.clock.t + 10 * MIN);
    assert.equal(r.gate.unlocks.isUnlocked(MAC, 'lab', IP), true);
    assert.equal(r.gate.unlocks.isUnlocked(MAC, 'lab', IP2), false);
    assert.equal(r.gate.unlocks.isUnlocked(MAC, 'other', IP), false);
    assert.match(await r.registry.metrics(), /bootgate_password_unlocks_active 1\n/);
    r.clock.t += 10 * MIN;
    assert.match(await r.registry.metrics(), /bootgate_password_unlocks_active 0\n/, 'an expired unlock leaves the gauge by itself');
    assert.equal(r.gate.unlocks.isUnlocked(MAC, 'lab', IP), false);
    const ev = r.store.audit.query({ type: 'password', limit: 10 });
    assert.equal(ev[0]?.reason, 'password-ok');
    assert.equal(ev[0]?.mac, MAC);
    assert.match(await r.registry.metrics(), /bootgate_password_attempts_total\{result="ok"\} 1/);
    await everythingSecretFree(r);
  });

  test('a profile\'s own password replaces the global one for that profile only', async () => {
    await r.admin.set('lab', 'lab-only-pw', 'test');
    assert.equal((await attempt(r, PW)).result, 'wrong');
    assert.equal((await attempt(r, 'lab-only-pw')).result, 'ok');
    assert.equal((await attempt(r, PW, MAC2, IP2, 'other')).result, 'ok');
  });

  test('five wrong passwords lock the MAC and the IP for 15 minutes; even the right one is refused until then', async () => {
    const left: number[] = [];
    for (let i = 0; i < 5; i++) {
      r.clock.t += 1000;
      const o = await attempt(r, `wrong-${i}-pass`);
      assert.equal(o.result, 'wrong');
      if (o.result === 'wrong') left.push(o.triesLeft);
    }
    assert.deepEqual(left, [4, 3, 2, 1, 0]);
    const locked = await attempt(r, PW);
    assert.deepEqual(locked, { result: 'locked', retryAfterMs: 15 * MIN, by: 'mac' });
    assert.equal(r.gate.unlocks.isUnlocked(MAC, 'lab', IP), false);
    // The IP is locked too: another MAC from the same address is refused.
    assert.equal((await attempt(r, PW, MAC2, IP)).result, 'locked');
    // Another MAC from another address is not.
    assert.equal((await attempt(r, PW, MAC2, IP2)).result, 'ok');
    r.clock.t += 15 * MIN - 1;
    assert.equal((await attempt(r, PW)).result, 'locked');
    r.clock.t += 1;
    assert.equal((await attempt(r, PW)).result, 'ok');
    const m = await r.registry.metrics();
    assert.match(m, /bootgate_password_attempts_total\{result="wrong"\} 5/);
    assert.match(m, /bootgate_password_attempts_total\{result="locked"\} 3/);
    assert.match(m, /bootgate_password_lockouts_total\{by="mac"\} 1/);
    assert.match(m, /bootgate_password_lockouts_total\{by="ip"\} 1/);
    const reasons = r.store.audit.query({ type: 'password', limit: 100 }).map((e) => e.reason);
    assert.equal(reasons.filter((x) => x === 'wrong-password').length, 5);
    assert.equal(reasons.filter((x) => x === 'lockout').length, 2);
    assert.ok(reasons.includes('locked-out'));
    await everythingSecretFree(r);
  });

  test('an admin lifts a lockout (MAC and IP), with an audit event naming who', async () => {
    for (let i = 0; i < 5; i++) await attempt(r, 'not-it-at-all');
    assert.equal((await attempt(r, PW)).result, 'locked');
    const status = r.admin.status();
    assert.deepEqual(status.lockouts.map((l) => [l.by, l.client, l.locked]).sort(), [['ip', IP, true], ['mac', MAC, true]]);
    const lifted = r.admin.lift('52-54-00-77-00-01', 'api:1234abcd');
    assert.equal(lifted.locked, true);
    assert.equal((await attempt(r, PW)).result, 'locked', 'the IP is still locked');
    r.admin.lift(IP, 'cli');
    assert.equal((await attempt(r, PW)).result, 'ok');
    const admin = r.store.audit.query({ type: 'admin', limit: 10 }).map((e) => `${e.actor}: ${e.detail}`);
    assert.ok(admin.some((d) => d === `api:1234abcd: password lockout lifted for mac ${MAC} (5 failures)`), admin.join('\n'));
    assert.throws(() => r.admin.lift(IP, 'cli'), /no wrong passwords recorded/);
    assert.throws(() => r.admin.lift('not-a-client', 'cli'), /expected a MAC address or an IPv4 address/);
  });

  test('a right password clears the count of earlier wrong ones', async () => {
    for (let i = 0; i < 4; i++) await attempt(r, 'nope-nope-nope');
    assert.equal((await attempt(r, PW)).result, 'ok');
    const o = await attempt(r, 'nope-again-x');
    assert.ok(o.result === 'wrong' && o.triesLeft === 4);
  });

  test('no password set: refused without counting, said so', async () => {
    const bare = rig();
    assert.deepEqual(await attempt(bare, PW), { result: 'no-password' });
    assert.equal(bare.admin.status().lockouts.length, 0);
    assert.match(await bare.registry.metrics(), /result="no-password"\} 1/);
  });

  test('more concurrent checks than allowed are answered busy, not queued', async () => {
    const busy = rig();
    await busy.admin.set(null, PW, 't');
    const gate = new PasswordGate({ store: busy.store, config: () => config(), logger: createLogger('silent'), metrics: createPasswordMetrics(new Registry()), maxConcurrentChecks: 1 });
    const results = await Promise.all([0, 1, 2].map(() => gate.attempt({ mac: MAC, ip: IP, profile: 'lab', computer: null, password: PW })));
    assert.deepEqual(results.map((x) => x.result).sort(), ['busy', 'busy', 'ok']);
  });

  test('a new DHCP exchange on port 67 from the MAC ends its unlock (one unlock per boot); other doors do not', async () => {
    await attempt(r, PW);
    const d: Decision = { kind: 'boot', profile: 'lab', target: { transport: 'http', path: 'x' }, computer: null, reason: 'unlocked' };
    r.gate.observe(client({ door: 'pxe' }), d);
    r.gate.observe(client({ door: 'http' }), d);
    assert.equal(r.gate.unlocks.isUnlocked(MAC, 'lab', IP), true);
    r.gate.observe(client({ door: 'dhcp', ip: null }), d);
    assert.equal(r.gate.unlocks.isUnlocked(MAC, 'lab', IP), false);
  });
});

describe('the file gate', () => {
  let r: Rig;
  let token = '';
  beforeEach(async () => {
    r = rig();
    await r.admin.set(null, PW, 'test');
    r.dir.set(IP, MAC);
    await attempt(r, PW);
    const s = r.gate.script(client(), { kind: 'boot', profile: 'lab', target: { transport: 'http', path: 'ipxe/x.ipxe' }, computer: null, reason: 'unlocked' }, VARS);
    assert.equal(s.kind, 'vars');
    const http = s.kind === 'vars' ? s.vars.http ?? '' : '';
    token = splitSignedPath(`${http.replace('http://10.77.0.2:8080/', '')}/x`)?.token ?? '';
    assert.ok(token.length > 40);
  });

  const file = (r: Rig, path: string, door: 'tftp' | 'http' = 'http', clientIp = IP) => r.gate.file({ door, clientIp, path });

  test('ungated files pass for anyone, signed or not', async () => {
    assert.deepEqual(await file(r, 'ipxe.efi', 'tftp', IP2), { kind: 'allow', path: 'ipxe.efi' });
    assert.deepEqual(await file(r, 'open.txt', 'http', IP2), { kind: 'allow', path: 'open.txt' });
    assert.deepEqual(await file(r, `_signed/${token}/open.txt`), { kind: 'allow', path: 'open.txt' });
  });

  test('a gated file needs a signed URL over HTTP: with it, served under its real path', async () => {
    assert.deepEqual(await file(r, `_signed/${token}/linux/vmlinuz`), { kind: 'allow', path: 'linux/vmlinuz' });
    assert.deepEqual(await file(r, `/_signed/${token}/initrd.img`), { kind: 'allow', path: 'initrd.img' });
    assert.equal((await file(r, 'linux/vmlinuz')).kind, 'refuse');
  });

  test('no way around the prefix: case, backslashes, a leading slash, a symlink alias', async () => {
    for (const p of ['LINUX/VMLINUZ', '\\Linux\\vmlinuz', '/linux/vmlinuz', './linux//vmlinuz', 'alias', 'INITRD.IMG']) {
      const g = await file(r, p, 'http', IP2);
      assert.equal(g.kind, 'refuse', p);
    }
  });

  test('the token is bound to the IP, expires with the unlock, and dies with a revoked unlock', async () => {
    const elsewhere = await file(r, `_signed/${token}/linux/vmlinuz`, 'http', IP2);
    assert.ok(elsewhere.kind === 'refuse' && elsewhere.reason === 'wrong-client');
    assert.match(elsewhere.message, /needs the boot password/);
    r.gate.unlocks.revoke(MAC);
    assert.equal((await file(r, `_signed/${token}/linux/vmlinuz`)).kind, 'refuse');
    await attempt(r, PW);
    r.clock.t += 10 * MIN;
    const g = await file(r, `_signed/${token}/linux/vmlinuz`);
    assert.ok(g.kind === 'refuse' && g.reason === 'expired');
  });

  test('a forged or foreign token is refused, and so is one for another profile\'s files', async () => {
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const g = await file(r, `_signed/${forged}/linux/vmlinuz`);
    assert.ok(g.kind === 'refuse' && g.reason === 'bad-signature');
    mkdirSync(join(root, 'other'), { recursive: true });
    writeFileSync(join(root, 'other', 'secret'), 'x');
    const o = await file(r, `_signed/${token}/other/secret`);
    assert.ok(o.kind === 'refuse' && o.reason === 'outside-grant');
  });

  test('TFTP without a token: only the unlocked MAC from its own IP, for its profile\'s files', async () => {
    // bootmgr-style fixed paths carry no token.
    assert.deepEqual(await file(r, '\\Linux\\vmlinuz', 'tftp'), { kind: 'allow', path: '\\Linux\\vmlinuz' });
    assert.equal((await file(r, 'linux/vmlinuz', 'tftp', IP2)).kind, 'refuse');
    assert.equal((await file(r, 'other/secret', 'tftp')).kind, 'refuse');
    // The IP now belongs to another machine according to DHCP: refused.
    r.dir.set(IP, MAC2);
    assert.equal((await file(r, 'linux/vmlinuz', 'tftp')).kind, 'refuse');
  });

  test('refusals are counted and audited without the token', async () => {
    await file(r, 'linux/vmlinuz', 'tftp', IP2);
    await file(r, `_signed/${token}/linux/vmlinuz`, 'http', IP2);
    const m = await r.registry.metrics();
    assert.match(m, /bootgate_password_file_refusals_total\{door="tftp",reason="no-unlock"\} 1/);
    assert.match(m, /bootgate_password_file_refusals_total\{door="http",reason="wrong-client"\} 1/);
    const ev = r.store.audit.query({ type: 'password', limit: 10 }).filter((e) => e.decision === 'refused');
    assert.deepEqual(ev.map((e) => [e.door, e.reason, e.detail]), [['http', 'file-wrong-client', 'linux/vmlinuz'], ['tftp', 'file-no-unlock', 'linux/vmlinuz']]);
    await everythingSecretFree(r);
  });

  test('without gated profiles nothing is checked at all', async () => {
    const open = rig(config({ profiles: { lab: { bootFiles: { 'efi-x64': 'ipxe.efi' } } } }));
    assert.deepEqual(await file(open, 'linux/vmlinuz', 'tftp', IP2), { kind: 'allow', path: 'linux/vmlinuz' });
  });
});

describe('the script hook', () => {
  test('password: the prompt; unlocked: signed bases; expired or elsewhere: the prompt again; others untouched', async () => {
    const r = rig();
    await r.admin.set(null, PW, 't');
    const pw: Decision = { kind: 'password', profile: 'lab', target: { transport: 'http', path: 'ipxe/x.ipxe' }, computer: 'PC-01', reason: 'password-required' };
    const prompt = r.gate.script(client(), pw, VARS);
    assert.ok(prompt.kind === 'text' && prompt.text.includes('login || goto cancelled'));
    const unlocked: Decision = { ...pw, kind: 'boot', reason: 'unlocked' };
    assert.equal(r.gate.script(client(), unlocked, VARS).kind, 'text', 'not unlocked yet: prompt');
    await attempt(r, PW);
    const s = r.gate.script(client(), unlocked, VARS);
    assert.ok(s.kind === 'vars');
    assert.match(s.vars.http ?? '', /^http:\/\/10\.77\.0\.2:8080\/_signed\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.match(s.vars.tftp ?? '', /^tftp:\/\/10\.77\.0\.2\/_signed\//);
    assert.equal(s.vars.mac, MAC);
    assert.equal(r.gate.script(client({ ip: IP2 }), unlocked, VARS).kind, 'text');
    const other: Decision = { kind: 'local', computer: null, reason: 'boot-once-consumed' };
    assert.equal(r.gate.script(client(), other, VARS).kind, 'as-is');
    const noHttp = r.gate.script(client(), pw, { ...VARS, http: '' });
    assert.ok(noHttp.kind === 'text' && /serves no HTTP/.test(noHttp.text));
  });

  test('a gated profile without an iPXE script chains its boot program through a signed URL', async () => {
    const cfg = config({ profiles: { win: { bootFiles: { 'efi-x64': 'boot/bootmgfw.efi' }, password: { mode: 'required', files: ['boot/'] } } } });
    const r = rig(cfg);
    await r.admin.set(null, PW, 't');
    await attempt(r, PW, MAC, IP, 'win');
    const s = r.gate.script(client(), { kind: 'boot', profile: 'win', target: { transport: 'tftp', path: 'boot/bootmgfw.efi' }, computer: null, reason: 'unlocked' }, VARS);
    assert.ok(s.kind === 'text');
    assert.match(s.text, /^#!ipxe\nchain --autofree tftp:\/\/10\.77\.0\.2\/_signed\/[A-Za-z0-9_.-]+\/boot\/bootmgfw\.efi\n$/);
  });
});
