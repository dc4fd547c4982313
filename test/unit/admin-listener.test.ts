/**
 * The admin listener: with admin.port the admin API, /metrics and the health endpoints get a listener of
 * their own and leave the boot listener; without it they stay on the boot listener. Its config problems,
 * and the device-bound HTTP plumbing on the loopback device.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';
import yargs from 'yargs';
import { trustingFetch, type CliIo } from '../../daemon/cli/index.js';
import { adminListenerUrl, configProblems, effectiveConfig } from '../../daemon/config/defaults.js';
import { validateConfig } from '../../daemon/config/load.js';
import { createAdminCommands } from '../../daemon/features/commands.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type Daemon } from '../../daemon/main.js';
import { listenOnDevices } from '../../daemon/net/device-socket.js';
import { adminTls, fingerprint256 } from '../../daemon/http/tls.js';

const HEALTHCHECK = fileURLToPath(new URL('../../../deploy/healthcheck.mjs', import.meta.url));

/** The container health check against a config, in a child (the daemon answers in this process meanwhile). */
function healthcheck(config: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HEALTHCHECK, config], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** A GET on the boot listener (http), or on the admin listener (https) trusting the certificate `ca`. */
async function get(port: number, path: string, ca?: string): Promise<{ status: number; body: string }> {
  const doFetch = ca === undefined ? fetch : trustingFetch(ca);
  const res = await doFetch(`${ca === undefined ? 'http' : 'https'}://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(60_000) });
  return { status: res.status, body: await res.text() };
}

/** The CLI in this process, with only `-c CONFIG`. */
async function cli(argv: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo = {
    env: {}, fetch: globalThis.fetch, defaultConfig: null,
    out: (t) => { out += t; }, err: (t) => { err += t; }, setExitCode: (c) => { code = c; },
    readFile: (f) => readFileSync(f, 'utf8'),
  };
  await yargs(argv).command(createAdminCommands(io)).strict().exitProcess(false)
    .fail((msg, e) => { throw e ?? new Error(msg); }).parseAsync();
  return { out, err, code };
}

/** The reason a request or a TLS connection was refused: the error's code, or its cause's. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string }; message: string };
    return e.cause?.code ?? e.code ?? e.message;
  }
  return 'accepted';
}

async function withDaemon(admin: Record<string, unknown>, run: (d: Daemon, root: string, log: string[]) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'bg-admin-'));
  const log: string[] = [];
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
  const daemon = await startDaemon({ config, logger: createLogger('info', { write: (line: string) => { log.push(line); } }) });
  try {
    await run(daemon, root, log);
  } finally {
    await daemon.close();
    rmSync(root, { recursive: true, force: true });
  }
}

describe('admin listener', () => {
  test('admin.port: the admin API, /metrics and /readyz on their own port, no longer on the boot port', async () => {
    await withDaemon({ address: '127.0.0.1', port: 0 }, async (d, root) => {
      const adminPort = d.ports.admin;
      const bootPort = d.ports.http;
      assert.ok(adminPort !== null && bootPort !== null && adminPort !== bootPort, `admin ${adminPort}, boot ${bootPort}`);
      assert.notEqual(d.admin, d.http);
      const ca = readFileSync(join(root, 'admin-tls.crt'), 'utf8');
      const metrics = await get(adminPort, '/metrics', ca);
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /bootgate_dhcp_packets_total/);
      assert.equal((await get(adminPort, '/api/v1/openapi.json', ca)).status, 200);
      assert.equal((await get(adminPort, '/healthz', ca)).status, 200);
      assert.equal((await get(adminPort, '/console/', ca)).status, 200);
      assert.equal((await get(bootPort, '/metrics')).status, 404);
      assert.equal((await get(bootPort, '/api/v1/openapi.json')).status, 404);
      // The boot listener keeps what machines and probes on the boot subnet use.
      assert.equal((await get(bootPort, '/ipxe.efi')).status, 200);
      assert.equal((await get(bootPort, '/healthz')).status, 200);
      const home = await get(bootPort, '/');
      assert.ok(home.body.includes(`on the admin listener, https://127.0.0.1:${adminPort}`), home.body);
    });
  });

  test('admin.port serves HTTPS: the certificate next to the store, its fingerprint logged and printed by `bootgate status`; the CLI trusts it, other clients are refused', async () => {
    await withDaemon({ address: '127.0.0.1', port: 0 }, async (d, root, log) => {
      const adminPort = d.ports.admin as number;
      const certFile = join(root, 'admin-tls.crt');
      const ca = readFileSync(certFile, 'utf8');
      // The fingerprint in the log is the one of the certificate a real TLS handshake presents.
      const logged = log.map((l) => JSON.parse(l) as { msg: string; sha256?: string; source?: string }).find((l) => l.msg === 'admin TLS certificate');
      assert.equal(logged?.source, 'generated');
      const served = await new Promise<string>((resolve, reject) => {
        const sock = tlsConnect({ host: '127.0.0.1', port: adminPort, ca }, () => {
          resolve(sock.getPeerX509Certificate()?.fingerprint256 ?? '');
          sock.end();
        });
        sock.on('error', reject);
      });
      assert.match(served, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.equal(served, logged?.sha256);
      assert.equal(served, fingerprint256(ca));

      // The CLI, given only the config, finds the admin listener and trusts exactly that certificate.
      const config = join(root, 'bootgate.yaml');
      writeFileSync(config, [
        `root: ${root}`,
        'store: { path: store.db }',
        `http: { port: ${String(d.ports.http)}, address: 127.0.0.1 }`,
        `admin: { address: 127.0.0.1, port: ${String(adminPort)} }`,
        '',
      ].join('\n'));
      const status = await cli(['status', '-c', config]);
      assert.equal(status.code, 0, status.out + status.err);
      assert.match(status.out, new RegExp(`^admin listener: https://127\\.0\\.0\\.1:${String(adminPort)}$`, 'm'));
      assert.match(status.out, /^ready: {10}yes$/m);
      assert.ok(status.out.includes(`SHA-256:        ${served} (served by the admin listener)`), status.out);
      // The container health check asks /readyz there, trusting the same certificate.
      const health = await healthcheck(config);
      assert.equal(health.status, 0, health.stderr);
      assert.match(health.stdout, new RegExp(`^https://127\\.0\\.0\\.1:${String(adminPort)}/readyz: \\{"ready":true`));
      const listed = await cli(['computers', 'list', '-c', config, '--json', '--verbose']);
      assert.equal(listed.code, 0, listed.err);
      assert.ok(listed.err.includes(`using the admin API at https://127.0.0.1:${String(adminPort)}/api/v1`), listed.err);
      assert.deepEqual(JSON.parse(listed.out), []);

      // Not trusted: node's fetch with the system's authorities, a client pinning another certificate, plain HTTP.
      assert.match(await refusal(fetch(`https://127.0.0.1:${adminPort}/healthz`)), /SELF_SIGNED|UNABLE_TO_VERIFY/);
      const other = await adminTls({ cert: null, key: null }, null);
      assert.notEqual(other.fingerprint256, served);
      assert.match(await refusal(trustingFetch(other.cert)(`https://127.0.0.1:${adminPort}/healthz`)), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT_SIGNATURE/);
      assert.notEqual(await refusal(fetch(`http://127.0.0.1:${adminPort}/healthz`)), 'accepted');
      // What `bootgate status` says when the served certificate is not the one pinned.
      writeFileSync(join(root, 'other.crt'), other.cert);
      writeFileSync(join(root, 'other.key'), other.key);
      writeFileSync(config, `${readFileSync(config, 'utf8')}`.replace('admin: { address: 127.0.0.1,', `admin: { tls: { cert: ${join(root, 'other.crt')}, key: ${join(root, 'other.key')} }, address: 127.0.0.1,`));
      const mismatch = await cli(['status', '-c', config]);
      assert.match(mismatch.out, /the admin listener did not present .*other\.crt: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE)/);
      assert.equal(mismatch.code, 1);
      const refused = await healthcheck(config);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /readyz: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE)/);
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

  test('a change of admin.port or admin.tls on reload says it needs a restart', async () => {
    await withDaemon({}, async (d) => {
      const next = validateConfig({ ...structuredClone(d.config), profiles: {}, admin: { ...d.config.admin, port: 9999 } }, 'test');
      assert.ok(d.reload(next).restartNeeded.includes('admin.port'));
      const tls = validateConfig({ ...structuredClone(d.config), profiles: {}, admin: { ...d.config.admin, tls: { cert: '/etc/bg/a.crt', key: '/etc/bg/a.key' } } }, 'test');
      assert.ok(d.reload(tls).restartNeeded.includes('admin.tls'));
    });
  });
});

describe('trusting the pinned admin certificate', () => {
  test('the pinned certificate is trusted at an address it does not name (admin.address); another is not, and the host-name check stays for others', async () => {
    const pems = await generate([{ name: 'commonName', value: 'mgmt.example' }], {
      keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'mgmt.example' }] }],
    } as Parameters<typeof generate>[1]);
    const server = https.createServer({ cert: pems.cert, key: pems.private }, (_req, res) => res.end('pinned'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const res = await trustingFetch(pems.cert)(`https://127.0.0.1:${port}/`);
      assert.equal(await res.text(), 'pinned');
      // The same trust without the pin's identity rule: the address is not in the certificate.
      const plain = new Promise((resolve, reject) => https.get(`https://127.0.0.1:${port}/`, { ca: pems.cert }, resolve).on('error', reject));
      assert.equal(await refusal(plain), 'ERR_TLS_CERT_ALTNAME_INVALID');
      const other = await adminTls({ cert: null, key: null }, null);
      assert.match(await refusal(trustingFetch(other.cert)(`https://127.0.0.1:${port}/`)), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT_SIGNATURE/);
    } finally {
      server.close();
    }
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
    assert.deepEqual(url({ server: { interfaces: ['eth1'] }, admin: { port: 9090 }, store: { path: '/var/lib/bg/a.db' } }), { base: 'https://127.0.0.1:9090', ca: '/var/lib/bg/admin-tls.crt' });
    assert.deepEqual(url({ admin: { address: '10.9.0.2', port: 9090, tls: { cert: '/etc/bg/a.crt', key: '/etc/bg/a.key' } } }), { base: 'https://10.9.0.2:9090', ca: '/etc/bg/a.crt' });
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
