/**
 * SIGHUP and SIGTERM on the real daemon process (127.0.0.1 only): a 256 MiB TFTP transfer running
 * during a reload completes intact while new requests follow the new policy; an invalid config is
 * refused and the running one kept; SIGTERM lets a running transfer finish, then the process exits 0.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestClient, freePort, pxeRequest } from '../unit/helpers/dhcp-client.js';

const CLI = fileURLToPath(new URL('../../daemon/bootgate.js', import.meta.url));
const SIZE = 256 * 1024 * 1024;

let dir: string;
let big: string;
let bigSha: string;

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

function writeConfig(path: string, ports: { dhcp: number; tftp: number; http: number; client: number }, action: string): void {
  writeFileSync(path, `root: ${dir}/root
server: { bindAddress: 127.0.0.1, dhcpPort: ${ports.dhcp}, pxePort: 0, clientPort: ${ports.client}, broadcastAddress: 127.0.0.1 }
tftp: { port: ${ports.tftp} }
http: { port: ${ports.http}, address: 127.0.0.1 }
store: { path: ${dir}/store.db }
log: { level: info }
policy: { unknown: { action: ${action} } }
`);
}

interface Running { proc: ChildProcess; log: () => string; exited: Promise<number | null> }

function startDaemon(config: string): Running {
  let out = '';
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, log: () => out, exited };
}

/**
 * Waits for an event the daemon shows (a log line, a metric). The bound is a safety net for a daemon
 * that hangs, not an expected duration: a busy machine may take many seconds to start node.
 */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5 * 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function atftpGet(port: number, out: string): Promise<number | null> {
  const p = spawn('atftp', ['--option', 'blksize 1428', '--option', 'windowsize 16', '-g', '-r', 'big.bin', '-l', out, '127.0.0.1', String(port)], { stdio: 'ignore' });
  // Safety net for a hung client only: on a busy machine 256 MiB over loopback can take a minute.
  const timer = setTimeout(() => p.kill('SIGKILL'), 10 * 60_000);
  return new Promise((resolve) => p.once('exit', (code) => {
    clearTimeout(timer);
    resolve(code);
  }));
}

async function metric(httpPort: number, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return text.split('\n').filter((l) => pattern.test(l)).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bg-reload-'));
  mkdirSync(join(dir, 'root'));
  writeFileSync(join(dir, 'root', 'ipxe.efi'), 'x');
  big = join(dir, 'root', 'big.bin');
  const fd = openSync(big, 'w');
  for (let off = 0; off < SIZE; off += 16 * 1024 * 1024) writeSync(fd, randomBytes(16 * 1024 * 1024));
  closeSync(fd);
  bigSha = await sha256(big);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('SIGHUP: a running 256 MiB transfer completes, new requests follow the new policy, a bad config is refused', async () => {
  const client = await TestClient.open();
  const ports = { dhcp: await freePort(), tftp: await freePort(), http: await freePort(), client: client.port };
  const config = join(dir, 'bootgate.yaml');
  writeConfig(config, ports, 'boot');
  const d = startDaemon(config);
  try {
    await until('the daemon to be ready', () => d.log().includes('bootgate ready'));
    const before = pxeRequest();
    client.send(before, ports.dhcp);
    await client.reply(before.xid);

    const out = join(dir, 'out1.bin');
    const transfer = atftpGet(ports.tftp, out);
    await until('the transfer to start', async () => (await metric(ports.http, /^bootgate_tftp_active_sessions /)) >= 1);
    writeConfig(config, ports, 'ignore');
    d.proc.kill('SIGHUP');
    await until('the reload', () => d.log().includes('configuration reloaded'));
    assert.equal(await metric(ports.http, /^bootgate_tftp_active_sessions /), 1, 'the reload happened while the transfer ran');

    const afterReload = pxeRequest();
    client.send(afterReload, ports.dhcp);
    await until('the ignore decision', async () => (await metric(ports.http, /^bootgate_decisions_total\{.*reason="unknown-ignore"/)) === 1);
    assert.equal(client.replies.some((r) => r.xid === afterReload.xid), false, 'the new policy ignores unknown computers');

    assert.equal(await transfer, 0, 'atftp finished the transfer');
    assert.equal(await sha256(out), bigSha);

    writeConfig(config, ports, 'ignore');
    writeFileSync(config, readFileSync(config, 'utf8').replace(`tftp: { port: ${ports.tftp} }`, `tftp: { port: ${ports.tftp}, blockSizeMax: 70000 }`));
    d.proc.kill('SIGHUP');
    await until('the refused reload', () => d.log().includes('configuration reload failed'));
    assert.match(d.log(), /tftp\.blockSizeMax: expected a number <= 65464, found number 70000/);
    assert.equal(await metric(ports.http, /^bootgate_config_reloads_total\{result="failed"\}/), 1);
    assert.equal(await metric(ports.http, /^bootgate_config_reloads_total\{result="ok"\}/), 1);
    assert.equal((await fetch(`http://127.0.0.1:${ports.http}/readyz`)).status, 200, 'still running on the old config');
  } finally {
    client.close();
    d.proc.kill('SIGKILL');
    await d.exited;
  }
});

test('SIGTERM: DHCP stops at once, a running transfer finishes, then the process exits 0', async () => {
  const client = await TestClient.open();
  const ports = { dhcp: await freePort(), tftp: await freePort(), http: await freePort(), client: client.port };
  const config = join(dir, 'bootgate-term.yaml');
  writeConfig(config, ports, 'boot');
  const d = startDaemon(config);
  try {
    await until('the daemon to be ready', () => d.log().includes('bootgate ready'));
    const out = join(dir, 'out2.bin');
    const transfer = atftpGet(ports.tftp, out);
    await until('the transfer to start', async () => (await metric(ports.http, /^bootgate_tftp_active_sessions /)) >= 1);
    d.proc.kill('SIGTERM');
    await until('shutdown to begin', () => d.log().includes('shutting down'));
    assert.equal(await transfer, 0, 'the transfer finished during the grace period');
    assert.equal(await sha256(out), bigSha);
    assert.equal(await d.exited, 0);
    assert.match(d.log(), /"msg":"stopped"/);
  } finally {
    client.close();
    if (d.proc.exitCode === null) d.proc.kill('SIGKILL');
  }
});
