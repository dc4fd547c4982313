/**
 * A throwaway PostgreSQL cluster for tests: Debian's initdb and pg_ctl in a temporary folder, run as
 * the unprivileged `postgres` user when the tests run as root (the server refuses root), listening on
 * a unix socket in that folder only (no TCP at all, so nothing is reachable from the network), or,
 * with `tcp`, also on 127.0.0.1 at a free port (for TLS and host lists; loopback only).
 * `standbyOf` makes a real streaming standby of another cluster (pg_basebackup -R) instead of a new
 * one; `promote()` turns it into a primary. `stop()` and `start()` let a test take the database away
 * and bring it back; `destroy()` stops it and removes the folder.
 */
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';

export interface PgCluster {
  /** Folder holding the data directory and the socket. */
  dir: string;
  /** A connection string for the `bootgate` database (created empty). */
  url: string;
  /** A connection string for another database of the same cluster, created on demand. */
  database(name: string): string;
  /** The port (the socket file's number; with `tcp`, also the 127.0.0.1 port). */
  port: number;
  /** Runs SQL through psql on the unix socket as the superuser (trust), returning its plain output. */
  psql(sql: string, database?: string): string;
  /** A standby: promotes it to primary (pg_ctl promote, waiting until it accepts writes). */
  promote(): void;
  start(): void;
  stop(): void;
  destroy(): void;
}

/** Where Debian keeps the server programs, or null when PostgreSQL is not installed. */
export function pgBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(base, versions[0], 'bin');
}

function asServerUser(argv: string[]): string[] {
  if (userInfo().uid !== 0) return argv;
  return ['runuser', '-u', 'postgres', '--', ...argv];
}

function run(argv: string[], timeoutMs = 120_000): void {
  const [file, ...args] = argv;
  const r = spawnSync(file as string, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${(r.stderr || r.stdout || String(r.error ?? r.signal)).trim()}`);
}

export interface PgClusterOptions {
  /** Also listen on 127.0.0.1 (a free port) for connections over TCP. */
  tcp?: boolean;
  /** Server settings (`-c name=value`), e.g. ssl=on and its files. */
  settings?: Record<string, string>;
  /** pg_hba.conf lines replacing initdb's (trust everywhere). */
  hba?: string[];
  /** Make a streaming standby of this (running) cluster instead of a new primary. */
  standbyOf?: PgCluster;
}

/** A TCP port free on 127.0.0.1 a moment ago. */
function freePort(): number {
  const out = execFileSync(process.execPath, ['-e',
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"], { encoding: 'utf8' });
  return Number(out.trim());
}

/** Gives a file to the server's user (root runs the tests, `postgres` runs the server). */
export function toServerUser(path: string, mode = 0o600): void {
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(path, uid, gid);
  }
  chmodSync(path, mode);
}

/** Creates and starts a cluster; throws with the reason when it cannot. */
export function startPgCluster(opts: PgClusterOptions = {}): PgCluster {
  const bin = pgBinDir();
  if (bin === null) throw new Error('PostgreSQL server programs not found under /usr/lib/postgresql (apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'bg-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o755);
  // Without tcp a port number only names the socket file: the server listens on no TCP address.
  const port = opts.tcp ? freePort() : 20000 + (process.pid % 20000);
  const settings = Object.entries(opts.settings ?? {}).map(([k, v]) => ` -c ${k}=${v}`).join('');
  const startArgv = asServerUser([join(bin, 'pg_ctl'), '-D', data, '-l', log, '-w', '-t', '120',
    '-o', `-k ${dir} -p ${port} -c listen_addresses='${opts.tcp ? '127.0.0.1' : ''}' -c fsync=off -c max_connections=200${settings}`, 'start']);
  const psqlArgv = (db: string) => asServerUser([join(bin, 'psql'), '-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1']);
  let running = false;
  const cluster: PgCluster = {
    dir,
    port,
    psql(text, database = 'bootgate') {
      const [file, ...args] = psqlArgv(database);
      const r = spawnSync(file as string, [...args, '-c', text], { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
      if (r.status !== 0) throw new Error(`psql ${text}: ${(r.stderr || String(r.error ?? r.signal)).trim()}`);
      return r.stdout.trim();
    },
    promote() {
      run(asServerUser([join(bin, 'pg_ctl'), '-D', data, '-w', '-t', '120', 'promote']));
    },
    url: `postgres://postgres@localhost:${port}/bootgate?host=${encodeURIComponent(dir)}`,
    database(name) {
      run(asServerUser([join(bin, 'createdb'), '-h', dir, '-p', String(port), '-U', 'postgres', name]));
      return `postgres://postgres@localhost:${port}/${name}?host=${encodeURIComponent(dir)}`;
    },
    start() {
      if (running) return;
      run(startArgv);
      running = true;
    },
    stop() {
      if (!running) return;
      run(asServerUser([join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', '-t', '120', 'stop']));
      running = false;
    },
    destroy() {
      try {
        cluster.stop();
      } catch {
        // Stopping failed (already gone): the folder goes all the same.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    if (opts.standbyOf) {
      // A copy of the primary that follows it (standby.signal and primary_conninfo from -R).
      const p = opts.standbyOf;
      run(asServerUser([join(bin, 'pg_basebackup'), '-h', p.dir, '-p', String(p.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '--no-sync', '-c', 'fast']));
    } else {
      run(asServerUser([join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']));
    }
    if (opts.hba) writeFileSync(join(data, 'pg_hba.conf'), `${opts.hba.join('\n')}\n`);
    cluster.start();
    if (!opts.standbyOf) run(asServerUser([join(bin, 'createdb'), '-h', dir, '-p', String(port), '-U', 'postgres', 'bootgate']));
  } catch (err) {
    cluster.destroy();
    throw err;
  }
  return cluster;
}

/**
 * A TCP stand-in for the database in front of the cluster's unix socket, on 127.0.0.1 only, that holds
 * every chunk of the database's answers for `delayMs` (a database taking seconds per query). It runs on
 * a worker thread: the store's start-up statements block this one while they wait for the database.
 */
const PROXY_SOURCE = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
let delayMs = 0;
const sockets = new Set();
const server = net.createServer((client) => {
  const upstream = net.createConnection(workerData.socketPath);
  sockets.add(client); sockets.add(upstream);
  client.on('data', (d) => upstream.write(d));
  upstream.on('data', (d) => {
    const wait = delayMs;
    if (wait === 0) client.write(d);
    else setTimeout(() => { if (!client.destroyed) client.write(d); }, wait);
  });
  const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
  client.on('close', end).on('error', end);
  upstream.on('close', end).on('error', end);
});
parentPort.on('message', (m) => {
  if (m.delayMs !== undefined) { delayMs = m.delayMs; parentPort.postMessage({ delayMs }); }
  if (m.close) { for (const s of sockets) s.destroy(); server.close(); parentPort.close(); }
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

export function slowProxy(socketPath: string): Promise<{ port: number; setDelay: (ms: number) => Promise<void>; close: () => Promise<void> }> {
  const w = new Worker(PROXY_SOURCE, { eval: true, workerData: { socketPath } });
  const next = () => new Promise<Record<string, number>>((resolve) => w.once('message', resolve));
  return next().then((m) => ({
    port: m.port as number,
    setDelay: async (ms) => { const ack = next(); w.postMessage({ delayMs: ms }); await ack; },
    close: async () => { w.postMessage({ close: true }); await w.terminate(); },
  }));
}
