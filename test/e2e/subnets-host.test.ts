/**
 * One appliance per subnet, two on one host. In namespaces this test creates and removes:
 *
 *   host  sub1 10.81.1.1/24  <-veth->  c1 eth0 10.81.1.10/24 (default route via 10.81.1.1)
 *         sub2 10.81.2.1/24  <-veth->  c2 eth0 10.81.2.10/24 (default route via 10.81.2.1)
 *
 * Two `bootgate serve` processes run in `host`, each with `server.interfaces` naming its interface, its
 * own store and its own admin port on 127.0.0.1 (HTTPS, its own certificate), both on ports 67, 4011, 69 and 8080. Each answers its
 * own subnet's DHCP (the lab's DHCP client helpers, subnets-probe.ts), 4011, TFTP (atftp) and HTTP
 * (curl) clients; a client of the other subnet addressing it gets nothing, although the host would
 * route it there. Instance 1 runs `coexist: known-only` (an unknown MAC is ignored), instance 2
 * `coexist: delay` (an unknown MAC is answered only after the delay, measured by the client).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { openStore } from '../../daemon/store/db.js';
import { bootgateCli } from '../lab/appliance.js';
import { sweepStaleLabs } from '../lab/netns.js';
import { missingPrerequisites } from '../lab/prereq.js';
import { HANG_MS, runCommand, runCommandSync, spawnTracked, stopTracked, waitForText, type Tracked } from '../lab/procs.js';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'subnets-probe.js');
const ID = `bgl${process.pid}x${randomBytes(3).toString('hex')}`;
const NS = { host: `${ID}-host`, c1: `${ID}-c1`, c2: `${ID}-c2` };
const KNOWN = ['52:54:00:81:01:01', '52:54:00:81:02:01'] as const;
const STRANGER = ['52:54:00:81:01:99', '52:54:00:81:02:99'] as const;
const COEXIST_DELAY_S = 2;

interface Subnet { ns: string; iface: string; server: string; client: string; adminPort: number }
const SUBNETS: [Subnet, Subnet] = [
  { ns: NS.c1, iface: 'sub1', server: '10.81.1.1', client: '10.81.1.10', adminPort: 9181 },
  { ns: NS.c2, iface: 'sub2', server: '10.81.2.1', client: '10.81.2.10', adminPort: 9182 },
];

interface ProbeReply { xid: number; send: number; afterMs: number | null; type: number | null; serverId: string | null; siaddr: string; file: string }

function inNs(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

async function run(ns: string, argv: string[], timeoutMs = HANG_MS): Promise<string> {
  return (await runCommand(inNs(ns, argv), { timeoutMs })).stdout;
}

async function probe(ns: string, mode: 'dhcp' | 'tftp-rrq', spec: unknown): Promise<{ replies: ProbeReply[]; outcome?: string }> {
  const out = await run(ns, [process.execPath, PROBE, mode, JSON.stringify(spec)]);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { replies: ProbeReply[]; outcome?: string };
}

/** A command's exit code (curl: 7 = could not connect). */
function exitCode(ns: string, argv: string[]): Promise<number | string | null> {
  const [file, ...args] = inNs(ns, argv);
  return new Promise((resolve) => {
    execFile(file as string, args, { timeout: HANG_MS, killSignal: 'SIGKILL' }, (err) => resolve(err === null ? 0 : (err.code ?? null)));
  });
}

/** Each instance's admin listener serves HTTPS with the self-signed certificate next to its store. */
const adminCert = (dir: string, i: number) => join(dir, `instance${i + 1}`, 'admin-tls.crt');
const curlAdmin = (dir: string, i: number, path: string): string[] =>
  ['curl', '-sS', '--max-time', '60', '--cacert', adminCert(dir, i), `https://127.0.0.1:${(SUBNETS[i] as Subnet).adminPort}${path}`];

async function metric(dir: string, i: number, pattern: RegExp): Promise<number> {
  const text = await run(NS.host, curlAdmin(dir, i, '/metrics'));
  return text.split('\n').filter((l) => pattern.test(l)).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('two appliances, two subnets, one host', { timeout: 20 * 60_000 }, () => {
  let dir = '';
  let ipxeSha = '';
  const daemons: Tracked[] = [];

  before(async () => {
    const missing = missingPrerequisites({ bootgate: true });
    assert.deepEqual(missing, [], `cannot run, missing:\n  ${missing.join('\n  ')}`);
    await sweepStaleLabs();
    dir = mkdtempSync(join(tmpdir(), `${ID}-`));
    const root = join(dir, 'boot');
    mkdirSync(root);
    const ipxe = randomBytes(300_000);
    ipxeSha = sha(ipxe);
    writeFileSync(join(root, 'ipxe.efi'), ipxe);
    writeFileSync(join(root, 'undionly.kpxe'), randomBytes(70_000));

    for (const name of Object.values(NS)) {
      await runCommand(['ip', 'netns', 'add', name]);
      await runCommand(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    }
    for (const s of SUBNETS) {
      await runCommand(['ip', '-n', NS.host, 'link', 'add', s.iface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s.ns]);
      await runCommand(['ip', '-n', NS.host, 'addr', 'add', `${s.server}/24`, 'dev', s.iface]);
      await runCommand(['ip', '-n', NS.host, 'link', 'set', s.iface, 'up']);
      await runCommand(['ip', '-n', s.ns, 'addr', 'add', `${s.client}/24`, 'dev', 'eth0']);
      await runCommand(['ip', '-n', s.ns, 'link', 'set', 'eth0', 'up']);
      await runCommand(['ip', '-n', s.ns, 'route', 'add', 'default', 'via', s.server]);
    }

    for (const [i, s] of SUBNETS.entries()) {
      // Its own folder: the store's folder holds the instance's admin certificate too.
      const store = join(dir, `instance${i + 1}`, 'bootgate.db');
      mkdirSync(dirname(store));
      const db = openStore(store);
      db.computers.insert({ name: `PC-${i + 1}`, macs: [KNOWN[i] as string], guid: null, profile: 'menu', kind: null, notes: '', sourceComputer: null }, Date.now());
      db.close();
      const config = join(dir, `instance${i + 1}.yaml`);
      writeFileSync(config, stringify({
        root,
        server: i === 0 ? { interfaces: [s.iface], coexist: 'known-only' } : { interfaces: [s.iface], coexist: 'delay', coexistDelaySeconds: COEXIST_DELAY_S },
        store: { path: store },
        admin: { address: '127.0.0.1', port: s.adminPort },
        log: { level: 'info' },
      }));
      daemons.push(spawnTracked(`bootgate${i + 1}`, inNs(NS.host, [process.execPath, bootgateCli(), 'serve', '--config', config]), join(dir, `bootgate${i + 1}.log`)));
    }
    for (const d of daemons) {
      // "bootgate ready" comes after every socket is open; the second instance binds the same ports.
      const ready = await waitForText(d.logPath, /"msg":"bootgate ready"/, d);
      assert.ok(ready, `${d.name} did not start:\n${readFileSync(d.logPath, 'utf8').slice(-4000)}`);
    }
  });

  after(async () => {
    for (const d of daemons) await stopTracked(d);
    for (const name of Object.values(NS)) runCommandSync(['ip', 'netns', 'del', name]);
    if (dir && process.env.BOOTGATE_LAB_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  });

  test('both admin ports answer, each for its own instance', async () => {
    const seen = new Set<string>();
    for (const [i, s] of SUBNETS.entries()) {
      const ready = JSON.parse(await run(NS.host, curlAdmin(dir, i, '/readyz'))) as { ready: boolean };
      assert.equal(ready.ready, true);
      assert.ok((await metric(dir, i, /^bootgate_build_info/)) === 1);
      // HTTPS only, with this instance's own certificate: plain HTTP and the other instance's certificate are refused.
      assert.equal(await exitCode(NS.host, ['curl', '-sS', '--max-time', '60', '-o', '/dev/null', `http://127.0.0.1:${s.adminPort}/readyz`]), 52);
      assert.equal(await exitCode(NS.host, ['curl', '-sS', '--max-time', '60', '-o', '/dev/null', '--cacert', adminCert(dir, 1 - i), `https://127.0.0.1:${s.adminPort}/readyz`]), 60);
      const pem = readFileSync(adminCert(dir, i), 'utf8');
      seen.add(pem);
      // `bootgate status` finds the listener from the config, trusts its certificate and shows what it serves.
      const status = await run(NS.host, [process.execPath, bootgateCli(), 'status', '-c', join(dir, `instance${i + 1}.yaml`)]);
      assert.ok(status.includes(`SHA-256:        ${new X509Certificate(pem).fingerprint256} (served by the admin listener)`), status);
    }
    assert.equal(seen.size, 2);
    // The boot listeners are bound to their subnets' devices and addresses: nothing on the host's
    // loopback, while the host itself reaches each at its interface's address (where the CLI looks).
    assert.equal(await exitCode(NS.host, ['curl', '-sS', '--max-time', '60', '-o', '/dev/null', 'http://127.0.0.1:8080/']), 7);
    for (const s of SUBNETS) {
      assert.equal(await run(NS.host, ['curl', '-sS', '--max-time', '60', `http://${s.server}:8080/healthz`]), '{"status":"ok"}');
      // /metrics lives on the admin listener only.
      assert.equal(await run(NS.host, ['curl', '-sS', '--max-time', '60', '-o', '/dev/null', '-w', '%{http_code}', `http://${s.server}:8080/metrics`]), '404');
    }
  });

  for (const [i, s] of SUBNETS.entries()) {
    test(`subnet ${i + 1}: DHCP 67 and 4011, TFTP (atftp) and HTTP (curl) answered by instance ${i + 1}`, async () => {
      const offer = await probe(s.ns, 'dhcp', { sends: [{ mac: KNOWN[i], to: '255.255.255.255', port: 67 }], waitFor: [0] });
      const o = offer.replies.find((r) => r.send === 0);
      assert.equal(o?.serverId, s.server, JSON.stringify(offer));
      assert.equal(o?.siaddr, s.server);
      const ack = await probe(s.ns, 'dhcp', { sends: [{ mac: KNOWN[i], to: s.server, port: 4011, type: 'request', ciaddr: s.client }], waitFor: [0] });
      const a = ack.replies.find((r) => r.send === 0);
      assert.equal(a?.serverId, s.server, JSON.stringify(ack));
      assert.equal(a?.file, 'ipxe.efi');

      const tftpOut = join(dir, `tftp${i + 1}.efi`);
      await run(s.ns, ['atftp', '--option', 'blksize 1428', '-g', '-r', 'ipxe.efi', '-l', tftpOut, s.server, '69']);
      assert.equal(sha(readFileSync(tftpOut)), ipxeSha);
      const httpOut = join(dir, `http${i + 1}.efi`);
      await run(s.ns, ['curl', '-sS', '--max-time', '120', '-o', httpOut, `http://${s.server}:8080/ipxe.efi`]);
      assert.equal(sha(readFileSync(httpOut)), ipxeSha);
      assert.ok((await metric(dir, i, /^bootgate_tftp_transfers_total\{result="ok"\}/)) >= 1);
    });
  }

  for (const [i, s] of SUBNETS.entries()) {
    const other = SUBNETS[1 - i] as Subnet;
    test(`a client of subnet ${2 - i} addressing instance ${i + 1} gets nothing from it`, async () => {
      const dhcpBefore = await metric(dir, i, /^bootgate_dhcp_packets_total/);
      const tftpBefore = await metric(dir, i, /^bootgate_tftp_(transfers|refused)_total/);
      // HTTP: no socket on the host takes the connection (the host routes it, the device binding refuses it).
      assert.equal(await exitCode(other.ns, ['curl', '-sS', '--max-time', '60', '-o', '/dev/null', `http://${s.server}:8080/ipxe.efi`]), 7, 'curl could not connect');
      // TFTP: the host answers the RRQ with ICMP port unreachable; atftp gets no file either.
      assert.deepEqual(await probe(other.ns, 'tftp-rrq', { to: s.server, port: 69 }), { outcome: 'refused' });
      // DHCP: the request to instance ${i + 1}'s address arrives on the other device, where only the
      // other instance listens: its own appliance answers it, as itself.
      const cross = await probe(other.ns, 'dhcp', { sends: [{ mac: KNOWN[1 - i], to: s.server, port: 67 }, { mac: KNOWN[1 - i], to: s.server, port: 4011, type: 'request', ciaddr: other.client }], waitFor: [0, 1] });
      assert.deepEqual(cross.replies.map((r) => r.serverId), [other.server, other.server], JSON.stringify(cross));
      assert.equal(await metric(dir, i, /^bootgate_dhcp_packets_total/), dhcpBefore, `instance ${i + 1} saw no DHCP packet`);
      assert.equal(await metric(dir, i, /^bootgate_tftp_(transfers|refused)_total/), tftpBefore, `instance ${i + 1} saw no TFTP request`);
    });
  }

  test('coexist known-only (instance 1): an unknown MAC is ignored and counted, a known one answered', async () => {
    const s = SUBNETS[0];
    // The known computer's DISCOVER follows the stranger's on the same socket: once it is answered,
    // the stranger's has been decided.
    const r = await probe(s.ns, 'dhcp', { sends: [{ mac: STRANGER[0], to: '255.255.255.255', port: 67 }, { mac: KNOWN[0], to: '255.255.255.255', port: 67 }], waitFor: [1] });
    assert.deepEqual(r.replies.map((x) => x.send), [1], JSON.stringify(r));
    assert.equal(await metric(dir, 0, /^bootgate_decisions_total\{.*reason="coexist-known-only"/), 1);
    assert.equal(await metric(dir, 0, /^bootgate_dhcp_offers_held_total/), 0);
  });

  test(`coexist delay (instance 2): an unknown MAC is answered only after ${COEXIST_DELAY_S} s, a known one is not held`, async () => {
    const s = SUBNETS[1];
    const known = await probe(s.ns, 'dhcp', { sends: [{ mac: KNOWN[1], to: '255.255.255.255', port: 67 }], waitFor: [0] });
    assert.equal(known.replies[0]?.serverId, s.server);
    assert.equal(await metric(dir, 1, /^bootgate_dhcp_offers_held_total\{reason="coexist-delay"\}/), 0, 'the known computer was not held');
    const r = await probe(s.ns, 'dhcp', { sends: [{ mac: STRANGER[1], to: '255.255.255.255', port: 67 }], waitFor: [0] });
    const offer = r.replies.find((x) => x.send === 0);
    assert.equal(offer?.serverId, s.server, JSON.stringify(r));
    assert.ok((offer?.afterMs ?? 0) >= COEXIST_DELAY_S * 1000, `the offer came ${offer?.afterMs} ms after the DISCOVER`);
    assert.equal(await metric(dir, 1, /^bootgate_dhcp_offers_held_total\{reason="coexist-delay"\}/), 1);
  });
});
