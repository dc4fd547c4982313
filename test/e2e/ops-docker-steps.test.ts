/**
 * The container image's build and start steps, performed without a Docker engine: a clean
 * checkout of the committed tree (`git archive`, BOOTGATE_OPS_REF or HEAD), every Dockerfile step in
 * order (test/e2e/ops-image-steps.ts: npm ci, npm run build, npm ci --omit=dev for real; machine steps
 * checked), then the runtime stage started as the image starts it: ENTRYPOINT + CMD, the image's ENV,
 * as an unprivileged user (nobody), with `docker run -e` style variables that bind 127.0.0.1 and free
 * high ports only. /readyz must answer 200, the HEALTHCHECK command must exit 0, and SIGTERM must end
 * the daemon with status 0. Bounded in time; the temporary directory is removed whatever happens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../unit/helpers/ops-catalogue.js';
import { inStage, mapArg, performBuild, runBounded, type StageState } from './ops-image-steps.js';

const NOBODY = { uid: 65534, gid: 65534 };
const REF = process.env.BOOTGATE_OPS_REF ?? 'HEAD';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The host environment for build commands: PATH, HOME (the npm cache, ~/.npmrc), CA and proxy settings. */
function hostEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'NODE_EXTRA_CA_CERTS', 'http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
}

/** What `docker run -e ...` adds: loopback and free ports only, never a DHCP port on a real interface. */
function runEnv(rt: StageState, httpPort: number): Record<string, string> {
  const imageEnv = Object.fromEntries(Object.entries(rt.env).map(([k, v]) => [k, mapArg(rt, v)]));
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...imageEnv,
    BOOTGATE_SERVER_BIND_ADDRESS: '127.0.0.1',
    BOOTGATE_SERVER_DHCP_PORT: '0',
    BOOTGATE_SERVER_PXE_PORT: '0',
    BOOTGATE_TFTP_PORT: '0',
    BOOTGATE_HTTP_ADDRESS: '127.0.0.1',
    BOOTGATE_HTTP_PORT: String(httpPort),
  };
}

async function waitReady(url: string, daemon: ChildProcess, log: () => string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`daemon exited (${daemon.exitCode ?? daemon.signalCode}) before /readyz answered:\n${log()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === 200) return { status: res.status, body };
      last = `${res.status} ${body}`;
    } catch (err) {
      last = String((err as Error).cause ?? err);
    }
    // Files missing from the root do not appear by waiting.
    if (/"missingFiles":\["/.test(last)) throw new Error(`not ready, boot files missing: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`/readyz not 200 within ${timeoutMs} ms (last: ${last}):\n${log()}`);
}

function exited(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

test('docker image steps: clean checkout, Dockerfile steps, start as the runtime stage, /readyz 200, HEALTHCHECK 0, SIGTERM exits 0', { timeout: 40 * 60_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'bgops-img-'));
  // The runtime user (nobody) must reach the stage directories, as any user reaches / in an image.
  chmodSync(work, 0o755);
  let daemon: ChildProcess | null = null;
  try {
    const context = join(work, 'context');
    mkdirSync(context);
    const commit = execFileSync('git', ['-C', REPO, 'rev-parse', '--verify', `${REF}^{commit}`], { encoding: 'utf8' }).trim();
    execFileSync('bash', ['-c', 'set -o pipefail; git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', 'archive', REPO, commit, context], { timeout: 120_000 });
    t.diagnostic(`context: git archive ${REF} (${commit.slice(0, 12)})`);

    const started = Date.now();
    const built = await performBuild({
      dockerfileText: readFileSync(join(context, 'Dockerfile'), 'utf8'),
      context,
      workDir: work,
      runtimeIds: NOBODY,
      commandTimeoutMs: 10 * 60_000,
      hostEnv: hostEnv(),
    });
    for (const s of built.steps) t.diagnostic(`[${s.stage}] ${s.how.padEnd(8)} ${String(s.ms).padStart(6)} ms  ${s.command.slice(0, 110)}`);
    t.diagnostic(`build steps: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const rt = built.final;
    assert.ok(rt.user && rt.accounts.includes(rt.user), `runtime USER ${String(rt.user)} is created by the Dockerfile`);

    // Production dependencies only, native addons present and loadable as the runtime user.
    const modules = inStage(rt, '/app/node_modules');
    for (const dev of ['typescript', 'fast-check', '@types/node']) assert.ok(!existsSync(join(modules, dev)), `dev dependency ${dev} in the runtime stage`);
    for (const dep of ['fastify', 'prom-client', 'better-sqlite3', 'koffi']) assert.ok(existsSync(join(modules, dep)), `${dep} missing from the runtime stage`);
    const probe = `const r=require('module').createRequire(process.argv[1]);const D=r('better-sqlite3');const db=new D(':memory:');console.log(db.prepare('select 40+2 as x').get().x);r('koffi').load('libc.so.6');db.close()`;
    const addons = await runBounded(['node', '-e', probe, join(inStage(rt, '/app'), 'package.json')], { cwd: inStage(rt, '/'), env: { PATH: process.env.PATH ?? '' }, timeoutMs: 30_000, ...NOBODY });
    assert.equal(addons.code, 0, addons.output);
    assert.equal(addons.output.trim(), '42');

    // The /boot volume as an admin fills it (fetch-boot): the built-in menu's boot programs, as stand-ins.
    for (const file of ['undionly.kpxe', 'ipxe.efi']) writeFileSync(join(inStage(rt, '/boot'), file), 'stand-in boot program\n');

    // Start it as `docker run -e ... image` would: ENTRYPOINT + CMD, image ENV, working directory, user.
    const httpPort = await freePort();
    const env = runEnv(rt, httpPort);
    const argv = [...rt.entrypoint, ...rt.cmd].map((a) => mapArg(rt, a));
    t.diagnostic(`start: ${argv.join(' ')} (cwd ${rt.workdir}, uid ${NOBODY.uid}, http 127.0.0.1:${httpPort})`);
    let log = '';
    daemon = spawn(argv[0] as string, argv.slice(1), { cwd: inStage(rt, '.'), env, stdio: ['ignore', 'pipe', 'pipe'], ...NOBODY });
    const keep = (b: Buffer) => {
      log = (log + b.toString('utf8')).slice(-20_000);
    };
    daemon.stdout?.on('data', keep);
    daemon.stderr?.on('data', keep);
    const t0 = Date.now();
    // Bounds here are safety nets for a hang; a busy machine may take many seconds to start node.
    const ready = await waitReady(`http://127.0.0.1:${httpPort}/readyz`, daemon, () => log, 5 * 60_000);
    t.diagnostic(`/readyz 200 after ${Date.now() - t0} ms: ${ready.body}`);
    assert.equal((JSON.parse(ready.body) as { ready: boolean }).ready, true);
    // The config default store.path (data/bootgate.db from the working directory /) is on the /data volume.
    assert.ok(existsSync(inStage(rt, '/data/bootgate.db')), 'the store was not created on the /data volume');

    // The HEALTHCHECK command, as Docker runs it: same user, same environment.
    assert.ok(rt.healthcheck, 'HEALTHCHECK');
    const hc = await runBounded(rt.healthcheck.map((a) => mapArg(rt, a)), { cwd: inStage(rt, '.'), env, timeoutMs: 30_000, ...NOBODY });
    t.diagnostic(`HEALTHCHECK exit ${String(hc.code)}: ${hc.output.trim()}`);
    assert.equal(hc.code, 0, hc.output);

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    assert.match(metrics, /^bootgate_ready 1$/m);

    const t1 = Date.now();
    assert.ok(daemon.pid);
    process.kill(daemon.pid, 'SIGTERM');
    const end = await exited(daemon, 5 * 60_000);
    t.diagnostic(`SIGTERM -> exit ${String(end.code)} after ${Date.now() - t1} ms`);
    assert.deepEqual(end, { code: 0, signal: null }, log);
    // A healthcheck of a stopped daemon fails: the check is not a constant.
    const after = await runBounded(rt.healthcheck.map((a) => mapArg(rt, a)), { cwd: inStage(rt, '.'), env, timeoutMs: 30_000, ...NOBODY });
    assert.equal(after.code, 1, after.output);
  } finally {
    if (daemon?.pid && daemon.exitCode === null && daemon.signalCode === null) process.kill(daemon.pid, 'SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
});
