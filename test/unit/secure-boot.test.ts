/**
 * Secure Boot: the refusal rule with an injected clock (one row per path), the choice of the profile's
 * Secure Boot program in decide(), the zero-config profile picking shim, the refusal watch recording a
 * refusal (table, audit event, metric) so that the very request revealing it gets the signed chain, and
 * /secure-boot on the admin API.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { menuProfile } from '../../daemon/config/defaults.js';
import { adminApi } from '../../daemon/features/admin-api.js';
import { createSecureBootMetrics } from '../../daemon/features/secureboot/metrics.js';
import { SecureBootAdmin } from '../../daemon/features/secureboot/service.js';
import { GRUB_SILENCE_MS, RefusalWatch } from '../../daemon/features/secureboot/watch.js';
import { secureboot } from '../../daemon/features/index.js';
import { Gatekeeper } from '../../daemon/boot/gatekeeper.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import { decide, snapshotFromConfig } from '../../daemon/policy/decide.js';
import { buildInventoryIndex } from '../../daemon/policy/inventory.js';
import { REFUSAL_WINDOW_MS, sameBootPath, watchStep, type WatchEvent, type WatchState } from '../../daemon/policy/secure-boot.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { createStoreBackend } from '../../daemon/store/backend.js';
import { openStore } from '../../daemon/store/db.js';
import { missingProfileFiles } from '../../daemon/boot/readiness.js';

const MAC = '52:54:00:77:00:05';
const TOKEN = 'test-token-0123456789abcdef';

function client(over: Partial<ClientInfo> = {}): ClientInfo {
  return {
    mac: MAC, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null,
    vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ip: '10.77.0.105', door: 'dhcp', ...over,
  };
}

const cfg = validateConfig({
  policy: { unknown: { action: 'boot', profile: 'lab' } },
  profiles: {
    lab: {
      bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' },
      secureBootFiles: { 'efi-x64': 'shimx64.efi' },
      ipxeScript: '#!ipxe\nboot',
      linux: { kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0' },
    },
  },
}, 'test');

const req = (door: ClientInfo['door'], o: Partial<Extract<WatchEvent, { kind: 'request' }>> = {}): WatchEvent =>
  ({ kind: 'request', door, ipxe: false, httpBoot: false, file: null, ...o });

/** Runs events through the rule from no state, each at its own time; returns the last step. */
function run(events: Array<[number, WatchEvent]>): { state: WatchState | null; refusals: string[] } {
  let state: WatchState | null = null;
  const refusals: string[] = [];
  for (const [at, ev] of events) {
    const r = watchStep(state, ev, at);
    state = r.state;
    if (r.refusal) refusals.push(r.refusal);
  }
  return { state, refusals };
}

const OFFER: WatchEvent = { kind: 'offer', file: 'ipxe.efi', signed: false };
const SERVED: WatchEvent = { kind: 'served', file: 'ipxe.efi' };

describe('the refusal rule', () => {
  const rows: Array<{ name: string; events: Array<[number, WatchEvent]>; refusals: string[] }> = [
    {
      name: 'fetched, then the HTTP boot attempt of the same power cycle: refused',
      events: [[0, OFFER], [100, req('pxe')], [200, req('tftp', { file: '/ipxe.efi' })], [900, SERVED], [72_000, req('dhcp', { httpBoot: true })]],
      refusals: ['http-boot-fallback'],
    },
    {
      name: 'fetched, then a new PXE DISCOVER after a reset: refused',
      events: [[0, OFFER], [900, SERVED], [8_000, req('dhcp')]],
      refusals: ['pxe-restart'],
    },
    {
      name: 'fetched, then iPXE asks (the program ran): not refused, not watched any more',
      events: [[0, OFFER], [900, SERVED], [3_000, req('dhcp', { ipxe: true })], [9_000, req('dhcp')]],
      refusals: [],
    },
    {
      name: 'fetched, then another file asked for (the program ran): not refused',
      events: [[0, OFFER], [900, SERVED], [2_000, req('tftp', { file: 'boot/bcd' })], [9_000, req('dhcp')]],
      refusals: [],
    },
    {
      name: 'fetched, then its script asked for: not refused',
      events: [[0, OFFER], [900, SERVED], [2_000, req('ipxe-script')], [9_000, req('dhcp')]],
      refusals: [],
    },
    {
      name: 'the 4011 request of the same exchange is no fall-through',
      events: [[0, OFFER], [900, SERVED], [1_000, req('pxe')]],
      refusals: [],
    },
    {
      name: 'never fetched in full (a size probe, a lost transfer): not refused',
      events: [[0, OFFER], [5_000, req('dhcp')], [6_000, req('dhcp', { httpBoot: true })]],
      refusals: [],
    },
    {
      name: 'a fall-through after the window is a new boot, not a refusal',
      events: [[0, OFFER], [900, SERVED], [900 + REFUSAL_WINDOW_MS + 1, req('dhcp')]],
      refusals: [],
    },
    {
      name: 'the Secure Boot chain offered is not watched',
      events: [[0, { kind: 'offer', file: 'shimx64.efi', signed: true }], [900, { kind: 'served', file: 'shimx64.efi' }], [8_000, req('dhcp')]],
      refusals: [],
    },
    {
      name: 'the transfer named with a leading slash or another case is the same file',
      events: [[0, OFFER], [900, { kind: 'served', file: '/IPXE.EFI' }], [8_000, req('dhcp')]],
      refusals: ['pxe-restart'],
    },
    {
      name: 'another file delivered is not the program',
      events: [[0, OFFER], [900, { kind: 'served', file: 'snponly.efi' }], [8_000, req('dhcp')]],
      refusals: [],
    },
    {
      name: 'the 4011 ACK repeating the offer keeps the transfer seen',
      events: [[0, OFFER], [900, SERVED], [950, OFFER], [8_000, req('dhcp')]],
      refusals: ['pxe-restart'],
    },
  ];
  for (const row of rows) {
    test(row.name, () => assert.deepEqual(run(row.events).refusals, row.refusals));
  }
});

describe('decide() with Secure Boot machines', () => {
  const snap = (believed: string[]) => ({ ...snapshotFromConfig(cfg), secureBoot: { has: (m: string) => believed.includes(m) } });

  test('a believed UEFI machine gets the profile\'s Secure Boot program over TFTP; others get iPXE', () => {
    const d = decide(client(), snap([MAC]));
    assert.equal(d.kind, 'boot');
    assert.deepEqual('target' in d && d.target, { transport: 'tftp', path: 'shimx64.efi' });
    const other = decide(client(), snap([]));
    assert.deepEqual('target' in other && other.target, { transport: 'tftp', path: 'ipxe.efi' });
  });

  test('HTTP boot: shim is not offered (it loads nothing further there), a signed iPXE is; iPXE (already running) and BIOS are not concerned', () => {
    const httpClient = client({ httpBoot: true, archCode: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' });
    assert.deepEqual(decide(httpClient, snap([MAC])), { kind: 'ignore', reason: 'secure-boot-pxe-only' });
    assert.equal(decide(httpClient, snap([])).kind, 'boot');
    const signedIpxe = validateConfig({
      policy: { unknown: { action: 'boot', profile: 'lab' } },
      profiles: { lab: { bootFiles: { 'efi-x64': 'ipxe.efi' }, secureBootFiles: { 'efi-x64': 'ipxe-signed.efi' } } },
    }, 'test');
    const http = decide(httpClient, { ...snapshotFromConfig(signedIpxe), secureBoot: { has: () => true } });
    assert.deepEqual('target' in http && http.target, { transport: 'http', path: 'ipxe-signed.efi' });
    const ipxe = decide(client({ ipxe: true }), snap([MAC]));
    assert.deepEqual('target' in ipxe && ipxe.target, { transport: 'http', path: 'ipxe/52-54-00-77-00-05.ipxe' });
    const bios = decide(client({ arch: 'bios', archCode: 0 }), snap([MAC]));
    assert.deepEqual('target' in bios && bios.target, { transport: 'tftp', path: 'undionly.kpxe' });
  });
});

describe('local disk for a Secure Boot machine', () => {
  test('a native Secure Boot machine sent to its disk gets shim (its GRUB configuration exits), others get no chain', () => {
    const raw = { policy: { unknown: { action: 'boot', profile: 'lab' } }, profiles: cfg.profiles };
    const base = snapshotFromConfig(validateConfig(raw, 'test'));
    const inventory = buildInventoryIndex([{ name: 'PC-5', macs: [MAC], guid: null, profile: 'lab', kind: 'required', bootOnceConsumed: true }]);
    const sb = decide(client(), { ...base, inventory, secureBoot: { has: () => true } });
    assert.deepEqual(sb, { kind: 'local', computer: 'PC-5', reason: 'boot-once-consumed', chain: { transport: 'tftp', path: 'shimx64.efi' } });
    const plain = decide(client(), { ...base, inventory });
    assert.deepEqual(plain, { kind: 'local', computer: 'PC-5', reason: 'boot-once-consumed' });
  });
});

describe('pending for a Secure Boot machine', () => {
  test('a native Secure Boot machine waiting for approval gets shim (its GRUB configuration waits and asks again); others get no answer', () => {
    const raw = { policy: { unknown: { action: 'pending', profile: 'lab' } }, profiles: cfg.profiles };
    const base = snapshotFromConfig(validateConfig(raw, 'test'));
    const sb = decide(client(), { ...base, secureBoot: { has: () => true } });
    assert.deepEqual(sb, { kind: 'pending', reason: 'unknown-pending', chain: { transport: 'tftp', path: 'shimx64.efi' } });
    assert.deepEqual(decide(client(), base), { kind: 'pending', reason: 'unknown-pending' });
    const http = decide(client({ httpBoot: true, archCode: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' }), { ...base, secureBoot: { has: () => true } });
    assert.deepEqual(http, { kind: 'pending', reason: 'unknown-pending' });
  });
});

describe('the zero-config profile', () => {
  test('offers shimx64.efi to Secure Boot machines when it is in the root, and GRUB the small Linux', () => {
    const root = mkdtempSync(join(tmpdir(), 'bg-sb-'));
    try {
      assert.deepEqual(menuProfile(root).secureBootFiles, {});
      assert.equal(menuProfile(root).linux, null);
      for (const f of ['ipxe.efi', 'shimx64.efi', 'grubx64.efi', 'vmlinuz', 'initrd.img']) writeFileSync(join(root, f), 'x');
      const p = menuProfile(root);
      assert.deepEqual(p.secureBootFiles, { 'efi-x64': 'shimx64.efi' });
      assert.equal(p.linux?.kernel, 'vmlinuz');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('readiness expects grubx64.efi beside a configured shim', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bg-sb-'));
    try {
      for (const f of ['ipxe.efi', 'undionly.kpxe', 'shimx64.efi', 'vmlinuz', 'initrd.img']) writeFileSync(join(root, f), 'x');
      const missing = await missingProfileFiles({ root, profiles: cfg.profiles });
      assert.deepEqual(missing.map((m) => `${m.what} ${m.path}`), ['Secure Boot file grubx64.efi']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the refusal watch through the gatekeeper', () => {
  function setup() {
    let now = 1_000_000;
    const store = openStore(':memory:');
    const registry = new Registry();
    const logger = createLogger('silent');
    const attached = secureboot.attach({
      store, config: () => cfg, logger, registry, now: () => now, macOfIp: () => undefined, sessions: () => [],
    });
    const backend = createStoreBackend(cfg, store, { logger, parts: attached.snapshot ?? {} });
    const gate = new Gatekeeper(backend, logger, createMetrics(new Registry()));
    if (attached.precede) gate.precede(attached.precede);
    if (attached.observe) gate.observe(attached.observe);
    return {
      store, registry, gate, attached,
      tick: (ms: number) => { now += ms; },
      done: () => { backend.close(); store.close(); },
    };
  }

  test('refused ipxe.efi: the reset\'s DISCOVER is answered with shim, recorded with an audit event and a metric', async () => {
    const s = setup();
    const first = s.gate.decide(client());
    assert.equal('target' in first && first.target.path, 'ipxe.efi');
    s.gate.decide(client({ door: 'pxe' }));
    s.gate.decide(client({ door: 'tftp' }), { file: 'ipxe.efi' });
    s.attached.served?.(MAC, 'ipxe.efi');
    s.tick(8_000);
    const after = s.gate.decide(client());
    assert.equal('target' in after && after.target.path, 'shimx64.efi');
    const row = new SecureBootAdmin(s.store).show(MAC);
    assert.equal(row.source, 'refusal');
    assert.equal(row.reason, 'pxe-restart');
    assert.equal(row.file, 'ipxe.efi');
    const events = s.store.audit.query({ mac: MAC, type: 'secure-boot', limit: 10 });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.reason, 'pxe-restart');
    const metric = await s.registry.getSingleMetric('bootgate_secure_boot_refusals_total')?.get();
    assert.deepEqual(metric?.values.map((v) => [v.labels.reason, v.value]), [['pxe-restart', 1]]);
    s.done();
  });

  test('refused ipxe.efi noticed at the HTTP boot attempt: left to its next option, shim at the next PXE DISCOVER', () => {
    const s = setup();
    s.gate.decide(client());
    s.attached.served?.(MAC, 'ipxe.efi');
    s.tick(72_000);
    const http = s.gate.decide(client({ httpBoot: true, archCode: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' }));
    assert.deepEqual(http, { kind: 'ignore', reason: 'secure-boot-pxe-only' });
    assert.equal(new SecureBootAdmin(s.store).show(MAC).reason, 'http-boot-fallback');
    s.tick(600_000);
    const pxe = s.gate.decide(client());
    assert.equal('target' in pxe && pxe.target.path, 'shimx64.efi');
    s.done();
  });

  test('iPXE running after the transfer: nothing recorded, iPXE keeps being offered', () => {
    const s = setup();
    s.gate.decide(client());
    s.attached.served?.(MAC, 'ipxe.efi');
    s.gate.decide(client({ ipxe: true, vendorClass: 'PXEClient:Arch:00007:UNDI:003010' }));
    s.tick(60_000);
    const again = s.gate.decide(client());
    assert.equal('target' in again && again.target.path, 'ipxe.efi');
    assert.deepEqual(new SecureBootAdmin(s.store).list(), []);
    s.done();
  });
});

describe('admin API /api/v1/secure-boot', () => {
  test('mark, list, show, clear; bad MAC and unknown MAC', async () => {
    const logger = createLogger('silent');
    const store = openStore(':memory:');
    const backend = createStoreBackend(cfg, store, { logger });
    const app = Fastify();
    await app.register(adminApi, {
      prefix: '/api/v1', backend, store, cfg, logger, env: { BOOTGATE_ADMIN_TOKEN: TOKEN },
      plugins: [],
    });
    const call = (method: 'GET' | 'PUT' | 'DELETE', url: string) =>
      app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${TOKEN}` } });
    try {
      assert.deepEqual((await call('GET', '/secure-boot')).json(), []);
      const put = await call('PUT', '/secure-boot/52-54-00-77-00-05');
      assert.equal(put.statusCode, 200);
      assert.equal(put.json().mac, MAC);
      assert.equal(put.json().source, 'admin');
      assert.equal((await call('GET', '/secure-boot')).json().length, 1);
      assert.equal((await call('GET', `/secure-boot/${MAC}`)).json().actor.startsWith('api:'), true);
      assert.equal((await call('PUT', '/secure-boot/not-a-mac')).statusCode, 400);
      assert.equal((await call('DELETE', `/secure-boot/${MAC}`)).statusCode, 200);
      assert.equal((await call('DELETE', `/secure-boot/${MAC}`)).statusCode, 404);
      assert.equal((await call('GET', `/secure-boot/${MAC}`)).statusCode, 404);
      const audit = store.audit.query({ mac: MAC, type: 'admin', limit: 10 }).map((e) => e.detail);
      assert.deepEqual(audit, ['secure boot: cleared', 'secure boot: marked']);
    } finally {
      await app.close();
      backend.close();
      store.close();
    }
  });

  test('the watch alone (no gatekeeper): a refusal needs a transfer in full first', () => {
    const store = openStore(':memory:');
    const admin = new SecureBootAdmin(store);
    const watch = new RefusalWatch({
      record: async (row, event) => admin.noticeRefusal(row, event), config: () => cfg, logger: createLogger('silent'), metrics: createSecureBootMetrics(new Registry()), now: () => 0,
    });
    const offer = decide(client(), snapshotFromConfig(cfg));
    watch.decided(client(), offer);
    watch.request(client(), {});
    assert.equal(admin.repo.has(MAC), false);
    watch.served(MAC, 'ipxe.efi');
    watch.request(client({ httpBoot: true }), {});
    assert.equal(admin.repo.get(MAC)?.reason, 'http-boot-fallback');
    store.close();
  });
});

describe('the hint for a GRUB that never asks', () => {
  test('shim delivered, GRUB silent for two minutes: one hint; GRUB asking for its files: none', async () => {
    let now = 0;
    const store = openStore(':memory:');
    const registry = new Registry();
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (l: string) => { lines.push(l); } });
    const admin = new SecureBootAdmin(store);
    const watch = new RefusalWatch({
      record: async (row, event) => admin.noticeRefusal(row, event), config: () => cfg, logger, metrics: createSecureBootMetrics(registry), now: () => now,
    });
    const other = '52:54:00:77:00:06';
    watch.served(MAC, 'shimx64.efi');
    watch.served(other, 'shimx64.efi');
    now += 5_000;
    watch.request(client({ mac: other, door: 'tftp' }), { file: '/grub/x86_64-efi/command.lst' });
    now += GRUB_SILENCE_MS - 5_000 - 1;
    assert.deepEqual(watch.sweep(), []);
    now += 1;
    assert.deepEqual(watch.sweep(), [MAC]);
    assert.deepEqual(watch.sweep(), []);
    assert.equal(lines.filter((l) => l.includes('GRUB never asked')).length, 1);
    assert.match(lines.join(''), /next-server/);
    const metric = await registry.getSingleMetric('bootgate_secure_boot_grub_silent_total')?.get();
    assert.equal(metric?.values[0]?.value, 1);
    store.close();
  });
});

describe('sameBootPath', () => {
  const reference = (a: string, b: string) => a.replace(/^[/\\]+/, '').toLowerCase() === b.replace(/^[/\\]+/, '').toLowerCase();

  test('leading slashes and ASCII case aside, or as toLowerCase() says beyond ASCII', () => {
    assert.equal(sameBootPath('/EFI/Boot/shimx64.efi', 'efi/boot/SHIMX64.EFI'), true);
    assert.equal(sameBootPath('\\\\grubx64.efi', '/grubx64.efi'), true);
    assert.equal(sameBootPath('grubx64.efi', 'grubx64.ef'), false);
    assert.equal(sameBootPath('a/b', 'a\\b'), false);
    assert.equal(sameBootPath('ÄBC', 'äbc'), true);
    assert.equal(sameBootPath('İ', 'i̇'), reference('İ', 'i̇'));
    assert.equal(sameBootPath('', '///'), true);
  });

  test('agrees with stripping and lower-casing both (random paths)', () => {
    const ch = fc.constantFrom('/', '\\', 'a', 'A', 'z', 'Z', '.', '0', 'é', 'É', 'İ', 'ß', '_');
    const path = fc.array(ch, { maxLength: 12 }).map((cs) => cs.join(''));
    fc.assert(fc.property(path, path, (a, b) => {
      assert.equal(sameBootPath(a, b), reference(a, b));
      assert.equal(sameBootPath(a, a.toUpperCase()), reference(a, a.toUpperCase()));
    }));
  });
});
