/**
 * The admin listener: with admin.port the admin API, /metrics and the health endpoints get a listener of
 * their own and leave the boot listener; without it they stay on the boot listener. Its config problems,
 * and the device-bound HTTP plumbing on the loopback device.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminListenerUrl, configProblems, effectiveConfig } from '../../daemon/config/defaults.js';
import { validateConfig } from '../../daemon/config/load.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type Daemon } from '../../daemon/main.js';
import { listenOnDevices } from '../../daemon/net/device-socket.js';

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(60_000) });
  return { status: res.status, body: await res.text() };
}

async function withDaemon(admin: Record<string, unknown>, run: (d: Daemon) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'bg-admin-'));
  writeFileSync(join(root, 'ipxe.efi'), 'x');
  writeFileSync(join(root, 'undionly.kpxe'), 'x');
  const config = validateConfig({
    root,
    server: { bindAddress: '127.0.0.1', dhcpPort: 0, pxePort: 0 },
    tftp: { enabled: false },
    http: { port: 0, address: '127.0.0.1' },
    admin,
    store: { path: join(root, 'store.db') },
    log: { level: 'silent' },
  }, 'test');
  const daemon = await startDaemon({ config, logger: createLogger('silent') });
  try {
    await run(daemon);
  } finally {
    await daemon.close();
    rmSync(root, { recursive: true, force: true });
  }
}

describe('admin listener', () => {
  test('admin.port: the admin API, /metrics and /readyz on their own port, no longer on the boot port', async () => {
    await withDaemon({ address: '127.0.0.1', port: 0 }, async (d) => {
      const adminPort = d.ports.admin;
      const bootPort = d.ports.http;
      assert.ok(adminPort !== null && bootPort !== null && adminPort !== bootPort, `admin ${adminPort}, boot ${bootPort}`);
      assert.notEqual(d.admin, d.http);
      const metrics = await get(adminPort, '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /bootgate_dhcp_packets_total/);
      assert.equal((await get(adminPort, '/api/v1/openapi.json')).status, 200);
      assert.equal((await get(adminPort, '/healthz')).status, 200);
      assert.equal((await get(bootPort, '/metrics')).status, 404);
      assert.equal((await get(bootPort, '/api/v1/openapi.json')).status, 404);
      // The boot listener keeps what machines and probes on the boot subnet use.
      assert.equal((await get(bootPort, '/ipxe.efi')).status, 200);
      assert.equal((await get(bootPort, '/healthz')).status, 200);
      const home = await get(bootPort, '/');
      assert.ok(home.body.includes(`on the admin listener, 127.0.0.1:${adminPort}`), home.body);
    });
  });

  test('without admin.port: everything on the boot listener, as before', async () => {
    await withDaemon({}, async (d) => {
      assert.equal(d.admin, d.http);
      assert.equal(d.ports.admin, d.ports.http);
      const port = d.ports.http as number;
      assert.equal((await get(port, '/metrics')).status, 200);
      assert.equal((await get(port, '/api/v1/openapi.json')).status, 200);
    });
  });

  test('a change of admin.port on reload says it needs a restart', async () => {
    await withDaemon({}, async (d) => {
      const next = validateConfig({ ...structuredClone(d.config), profiles: {}, admin: { ...d.config.admin, port: 9999 } }, 'test');
      assert.ok(d.reload(next).restartNeeded.includes('admin.port'));
    });
  });
});

describe('admin listener configuration', () => {
  test('admin.address without admin.port is refused with what to do', () => {
    const cfg = effectiveConfig(validateConfig({ admin: { address: '10.0.0.5' } }, 'test'));
    assert.deepEqual(configProblems(cfg), ['admin.address: 10.0.0.5 needs admin.port (without it the admin API and /metrics are served by the boot HTTP listener)']);
  });
  test('admin.port equal to http.port is refused', () => {
    const cfg = validateConfig({ admin: { port: 8080 } }, 'test');
    assert.match(configProblems(cfg).join('\n'), /admin\.port: 8080 is http\.port too/);
  });
  test('admin.address must be an IPv4 address', () => {
    assert.throws(() => validateConfig({ admin: { address: 'mgmt', port: 9090 } }, 't'), /admin\.address: expected a valid ipv4 address/);
  });
  test('set by BOOTGATE_ADMIN_ADDRESS and BOOTGATE_ADMIN_PORT', async () => {
    const { loadConfig } = await import('../../daemon/config/load.js');
    const c = loadConfig({ env: { BOOTGATE_ADMIN_ADDRESS: '10.0.0.5', BOOTGATE_ADMIN_PORT: '9090' } });
    assert.equal(c.admin.address, '10.0.0.5');
    assert.equal(c.admin.port, 9090);
  });
});

describe('where this host reaches the admin API and /readyz (CLI, container health check)', () => {
  const ifaces = { eth1: [{ address: '10.0.1.5', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '52:54:00:00:00:01', internal: false, cidr: '10.0.1.5/24' }] };
  const url = (raw: Record<string, unknown>) => adminListenerUrl(validateConfig(raw, 't'), ifaces);
  test('defaults: the boot listener on loopback', () => assert.deepEqual(url({}), { base: 'http://127.0.0.1:8080' }));
  test('server.interfaces: the boot listener at the interface address (it does not listen on 127.0.0.1)', () =>
    assert.deepEqual(url({ server: { interfaces: ['eth1'] } }), { base: 'http://10.0.1.5:8080' }));
  test('an interface without an address is said', () =>
    assert.deepEqual(url({ server: { interfaces: ['eth9'] } }), { none: 'interface eth9 (server.interfaces) has no IPv4 address on this host' }));
  test('admin.port: the admin listener, its address or http.address', () => {
    assert.deepEqual(url({ server: { interfaces: ['eth1'] }, admin: { port: 9090 } }), { base: 'http://127.0.0.1:9090' });
    assert.deepEqual(url({ admin: { address: '10.9.0.2', port: 9090 } }), { base: 'http://10.9.0.2:9090' });
  });
});

describe('device-bound HTTP listeners', () => {
  // Loopback is the one device every test machine has; the two-subnet case is test/e2e/subnets-host.test.ts.
  test('an HTTP server served on a device-bound socket answers, and the port is taken from the first bind', async () => {
    const server = http.createServer((_req, res) => res.end('hello'));
    const listeners = await listenOnDevices([{ device: 'lo', address: '127.0.0.1', port: 0 }], (sock) => server.emit('connection', sock));
    try {
      assert.ok(listeners.port > 0);
      const res = await get(listeners.port, '/');
      assert.equal(res.body, 'hello');
    } finally {
      await listeners.close();
      server.close();
    }
  });

  test('a device that does not exist is an error naming it', async () => {
    await assert.rejects(listenOnDevices([{ device: 'nosuchdev0', address: '127.0.0.1', port: 0 }], () => undefined), /SO_BINDTODEVICE nosuchdev0: No such device/);
  });
});
