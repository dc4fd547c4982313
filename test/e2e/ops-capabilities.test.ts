/**
 * The privilege decisions of the container image and the systemd unit, tried on this kernel with the
 * real daemon (dist/daemon/bootgate.js) as user nobody, inside a network namespace this test creates and
 * removes (`bgops...`, a veth pair, 10.88.x.x; nothing touches a real interface):
 *
 * - without any capability, binding UDP 67 fails (so the capability is needed at all);
 * - the image's arrangement (CAP_NET_BIND_SERVICE as a file capability on node, bounding set reduced to
 *   it as `--cap-drop ALL --cap-add NET_BIND_SERVICE` does) binds 67, 4011 and 69 on the interface with
 *   SO_BINDTODEVICE and no CAP_NET_RAW, reads its BOOTGATE_* variables, answers /readyz, exits 0 on SIGTERM;
 * - that file capability outside the bounding set makes exec fail (why --cap-add must accompany --cap-drop);
 * - under no_new_privs a process holding no capabilities gains nothing from it (why not no-new-privileges);
 * - the unit's arrangement (ambient CAP_NET_BIND_SERVICE, bounding set of it, NoNewPrivileges) binds too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../unit/helpers/ops-catalogue.js';

const NOBODY = ['--reuid', '65534', '--regid', '65534', '--clear-groups'];
const IFACE = 'bgo0';
const CAP_NET_BIND_SERVICE = 10n;
const CAP_NET_RAW = 13n;
const HTTP_PORT = 8080;

interface Lab {
  ns: string;
  dir: string;
  fileCapNode: string;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function makeLab(): Lab {
  assert.equal(process.getuid?.(), 0, 'this test creates network namespaces and sets file capabilities: run it as root');
  const ns = `bgops${process.pid}${randomBytes(2).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'bgops-cap-'));
  chmodSync(dir, 0o755);
  ip(['netns', 'add', ns]);
  // Both ends inside the namespace: no interface ever exists in the root namespace.
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  ip(['-n', ns, 'link', 'add', IFACE, 'type', 'veth', 'peer', 'name', 'bgo1']);
  ip(['-n', ns, 'addr', 'add', `10.88.${(process.pid % 250) + 1}.1/24`, 'dev', IFACE]);
  ip(['-n', ns, 'link', 'set', IFACE, 'up']);
  ip(['-n', ns, 'link', 'set', 'bgo1', 'up']);
  const fileCapNode = join(dir, 'node');
  copyFileSync(process.execPath, fileCapNode);
  chmodSync(fileCapNode, 0o755);
  execFileSync('setcap', ['cap_net_bind_service=+ep', fileCapNode]);
  for (const sub of ['boot', 'data']) {
    mkdirSync(join(dir, sub));
    chownSync(join(dir, sub), 65534, 65534);
  }
  // The embedded profile's boot programs: readiness holds back until the files it offers exist.
  for (const file of ['undionly.kpxe', 'ipxe.efi']) writeFileSync(join(dir, 'boot', file), 'stand-in boot program\n');
  return { ns, dir, fileCapNode };
}

function destroyLab(lab: Lab): void {
  spawnSync('ip', ['netns', 'del', lab.ns], { timeout: 10_000 });
  rmSync(lab.dir, { recursive: true, force: true });
}

/** The daemon's environment: everything through BOOTGATE_* variables, as `docker run -e` passes it. */
function daemonEnv(lab: Lab): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    BOOTGATE_SERVER_INTERFACES: IFACE,
    BOOTGATE_ROOT: join(lab.dir, 'boot'),
    BOOTGATE_STORE_PATH: join(lab.dir, 'data', 'bootgate.db'),
    BOOTGATE_HTTP_PORT: String(HTTP_PORT),
    BOOTGATE_LOG_LEVEL: 'info',
  };
}

/**
 * Starts the daemon as nobody through setpriv. `viaShell` puts a shell between them: setpriv itself
 * keeps its capabilities across the uid change, the shell's exec as nobody drops them, so node then
 * starts from a process that holds none (as a container's first process may).
 */
function startDaemon(lab: Lab, setpriv: string[], node: string, viaShell = false): { child: ChildProcess; log: () => string } {
  const shell = viaShell ? ['/bin/sh', '-c', 'exec "$0" "$@"'] : [];
  const argv = ['netns', 'exec', lab.ns, 'setpriv', ...setpriv, ...NOBODY, ...shell, node, join(REPO, 'dist/daemon/bootgate.js'), 'serve'];
  const child = spawn('ip', argv, { cwd: join(lab.dir, 'data'), env: daemonEnv(lab), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, log: () => out };
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? String(child.signalCode));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? String(signal));
    });
  });
}

/**
 * Safety net for one wait on the daemon (its health, its exit): only a hang takes this long; a busy
 * machine may take many seconds to start node as another user in a namespace.
 */
const HANG_MS = 5 * 60_000;

/** /readyz through the container HEALTHCHECK script, run inside the namespace. */
async function waitHealthy(lab: Lab, child: ChildProcess, log: () => string): Promise<string> {
  const deadline = Date.now() + HANG_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    const r = spawnSync('ip', ['netns', 'exec', lab.ns, process.execPath, join(REPO, 'deploy/healthcheck.mjs')], {
      // Docker runs HEALTHCHECK in the container's environment: the daemon's variables, interfaces included.
      env: daemonEnv(lab),
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (r.status === 0) return r.stdout.trim();
    last = `${r.stdout}${r.stderr}`.trim();
    // Files missing from the root do not appear by waiting: say so now rather than after the safety net.
    if (/"missingFiles":\["/.test(last)) throw new Error(`not ready, boot files missing: ${last}`);
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`not healthy within ${HANG_MS} ms (last: ${last}):\n${log()}`);
}

/** The effective capability set of a process, from /proc. */
function effectiveCaps(pid: number): bigint {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  assert.ok(line, 'CapEff in /proc/PID/status');
  return BigInt(`0x${line.split(/\s+/)[1] as string}`);
}

function udpPortsOnIface(lab: Lab): string[] {
  const out = execFileSync('ip', ['netns', 'exec', lab.ns, 'ss', '-Hulnp'], { encoding: 'utf8', timeout: 10_000 });
  return out.split('\n').flatMap((l) => {
    const m = new RegExp(`%${IFACE}:(\\d+)\\s`).exec(l);
    return m ? [m[1] as string] : [];
  });
}

/** Runs one arrangement to readiness, checks its sockets and capabilities, then SIGTERM. */
async function runsAndStops(lab: Lab, setpriv: string[], node: string, t: { diagnostic: (s: string) => void }): Promise<void> {
  const { child, log } = startDaemon(lab, setpriv, node);
  try {
    const health = await waitHealthy(lab, child, log);
    t.diagnostic(`healthy: ${health}`);
    const ports = udpPortsOnIface(lab);
    for (const p of ['67', '4011']) assert.ok(ports.includes(p), `UDP ${p} bound to ${IFACE} (SO_BINDTODEVICE); have ${ports.join(', ')}`);
    assert.ok(child.pid);
    const caps = effectiveCaps(child.pid);
    t.diagnostic(`CapEff of the daemon: 0x${caps.toString(16)}`);
    assert.equal(caps, 1n << CAP_NET_BIND_SERVICE, 'exactly CAP_NET_BIND_SERVICE');
    assert.equal(caps & (1n << CAP_NET_RAW), 0n);
    process.kill(child.pid, 'SIGTERM');
    assert.equal(await exited(child, HANG_MS), 0, log());
  } finally {
    if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
    await exited(child, 10_000).catch(() => undefined);
  }
}

test('capabilities: what the image and the unit grant is needed, and enough, on this kernel', { timeout: 30 * 60_000 }, async (t) => {
  const lab = makeLab();
  t.diagnostic(`kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}, namespace ${lab.ns}`);
  try {
    await t.test('no capability: binding UDP 67 is refused', async (tt) => {
      const { child, log } = startDaemon(lab, ['--bounding-set', '-all', '--inh-caps', '-all'], process.execPath);
      const code = await exited(child, HANG_MS);
      assert.notEqual(code, 0, 'the daemon must not start');
      const refusal = log().split('\n').find((l) => /EACCES|permission denied/i.test(l));
      assert.ok(refusal, log());
      assert.match(refusal, /\b67\b/, 'refused on port 67');
      tt.diagnostic(`exit ${String(code)}: ${refusal.slice(0, 200)}`);
    });

    await t.test('image: file capability on node, --cap-drop ALL --cap-add NET_BIND_SERVICE', async (tt) => {
      await runsAndStops(lab, ['--bounding-set', '-all,+net_bind_service', '--inh-caps', '-all'], lab.fileCapNode, tt);
    });

    await t.test('image: --cap-drop ALL without --cap-add NET_BIND_SERVICE cannot even exec node', () => {
      const r = spawnSync('ip', ['netns', 'exec', lab.ns, 'setpriv', '--bounding-set', '-all', ...NOBODY, lab.fileCapNode, '-e', '0'], { encoding: 'utf8', timeout: 30_000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Operation not permitted/);
    });

    await t.test('image: under no-new-privileges a process holding no capabilities gets nothing from the file capability', async (tt) => {
      const { child, log } = startDaemon(lab, ['--bounding-set', '-all,+net_bind_service', '--inh-caps', '-all', '--no-new-privs'], lab.fileCapNode, true);
      const code = await exited(child, HANG_MS);
      assert.notEqual(code, 0, 'the daemon must not start');
      const refusal = log().split('\n').find((l) => /EACCES|permission denied/i.test(l));
      assert.ok(refusal, log());
      tt.diagnostic(`exit ${String(code)}: ${refusal.slice(0, 200)}`);
    });

    await t.test('systemd unit: AmbientCapabilities + CapabilityBoundingSet + NoNewPrivileges', async (tt) => {
      const unit = readFileSync(join(REPO, 'deploy/bootgate.service'), 'utf8');
      assert.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
      assert.match(unit, /^NoNewPrivileges=yes$/m);
      const ambient = ['--bounding-set', '-all,+net_bind_service', '--inh-caps', '-all,+net_bind_service', '--ambient-caps', '-all,+net_bind_service', '--no-new-privs'];
      await runsAndStops(lab, ambient, process.execPath, tt);
    });
  } finally {
    destroyLab(lab);
  }
});
