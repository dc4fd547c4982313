/**
 * A throwaway PostgreSQL cluster for tests: Debian's initdb and pg_ctl in a temporary folder, run as
 * the unprivileged `postgres` user when the tests run as root (the server refuses root), listening on
 * a unix socket in that folder only (no TCP at all, so nothing is reachable from the network).
 * `stop()` and `start()` let a test take the database away and bring it back; `destroy()` stops it
 * and removes the folder.
 */
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

export interface PgCluster {
  /** Folder holding the data directory and the socket. */
  dir: string;
  /** A connection string for the `bootgate` database (created empty). */
  url: string;
  /** A connection string for another database of the same cluster, created on demand. */
  database(name: string): string;
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

/** Creates and starts a cluster; throws with the reason when it cannot. */
export function startPgCluster(): PgCluster {
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
  // A port number only names the socket file: the server listens on no TCP address.
  const port = 20000 + (process.pid % 20000);
  const startArgv = asServerUser([join(bin, 'pg_ctl'), '-D', data, '-l', log, '-w', '-t', '120',
    '-o', `-k ${dir} -p ${port} -c listen_addresses='' -c fsync=off -c max_connections=200`, 'start']);
  let running = false;
  const cluster: PgCluster = {
    dir,
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
    run(asServerUser([join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']));
    cluster.start();
    run(asServerUser([join(bin, 'createdb'), '-h', dir, '-p', String(port), '-U', 'postgres', 'bootgate']));
  } catch (err) {
    cluster.destroy();
    throw err;
  }
  return cluster;
}
