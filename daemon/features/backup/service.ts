/**
 * Backups and restores of the SQLite store. A backup is SQLite's online backup (better-sqlite3's
 * backup(), a few pages per turn of the event loop) on the daemon's own connection, so writes made
 * meanwhile through that connection are carried into the copy and the copy is one consistent state;
 * it is written under a temporary name, checked, switched to journal_mode DELETE (one self-contained
 * file) and only then renamed into place. A restore puts a checked backup in place of a stopped
 * daemon's database, keeps the database it replaces, and carries over the required deployments consumed
 * since the backup, so no machine is offered a deployment it already ran.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { setBootOnce } from '../../store/boot-once.js';
import { giveToFolderOwner } from '../tokens/service.js';
import { openStore, type Store } from '../../store/db.js';
import type { SqlDb } from '../../store/sql.js';

export interface BackupResult {
  /** Where the backup is (the file named, or a temporary one the API streams and removes). */
  path: string;
  bytes: number;
  pages: number;
}

/** A temporary name beside `file` (same file system: the final rename is atomic). */
export function tempBeside(file: string, tag: string): string {
  return join(dirname(file), `.${basename(file)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Problems of a database file as a backup: unreadable, damaged, or not a Bootgate store. */
export function backupProblem(file: string): string | null {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') return `${file}: damaged (${String(check)})`;
    const t = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'computers'").get();
    if (!t) return `${file}: not a Bootgate database (no computers table)`;
    return null;
  } catch (err) {
    return `${file}: ${(err as Error).message}`;
  } finally {
    db?.close();
  }
}

/** Backs the open store up to `dest` (replacing a file there only once the copy is complete and checked). */
export async function backupStore(store: Store, dest: string): Promise<BackupResult> {
  if (store.dialect !== 'sqlite') throw new Error('the store is PostgreSQL: back it up with pg_dump -Fc (the appliances keep no data of their own)');
  // A SQLite store's handle is better-sqlite3's own, with its online backup.
  const sqlite = store.db as unknown as Database.Database;
  const tmp = tempBeside(dest, 'partial');
  try {
    const r = await sqlite.backup(tmp);
    const copy = new Database(tmp);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    const problem = backupProblem(tmp);
    if (problem) throw new Error(`the backup failed its check: ${problem}`);
    renameSync(tmp, dest);
    return { path: dest, bytes: statSync(dest).size, pages: r.totalPages };
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface CarriedOver {
  computer: string;
  consumedAt: number;
  by: string;
}

export interface RestoreResult {
  restored: string;
  from: string;
  /** Where the replaced database now is (null: there was none). */
  previous: string | null;
  /** Required deployments consumed in the replaced database but not in the backup. */
  consumedSince: CarriedOver[];
  /** Whether those were marked consumed in the restored database. */
  carriedOver: boolean;
}

interface ConsumedRow { name: string; at: number; by: string | null }

function consumedIn(db: Pick<SqlDb, 'prepare'>): Map<string, ConsumedRow> {
  const rows = db.prepare('SELECT name, boot_once_consumed_at AS at, boot_once_consumed_by AS by FROM computers WHERE boot_once_consumed_at IS NOT NULL').all() as ConsumedRow[];
  return new Map(rows.map((r) => [r.name, r]));
}

/**
 * Puts `backup` in place of the database at `path` (the daemon must be stopped: the caller checks).
 * The database replaced is first checkpointed (its WAL folded in) and renamed aside, never deleted.
 */
export function restoreStore(path: string, backup: string, opts: { keepConsumed: boolean; now?: () => number }): RestoreResult {
  const problem = backupProblem(backup);
  if (problem) throw new Error(`not restored: ${problem}`);
  const now = opts.now ?? Date.now;
  let previous: string | null = null;
  let before = new Map<string, ConsumedRow>();
  if (existsSync(path)) {
    // Closing the last connection checkpoints the WAL into the file: the file moved aside is whole.
    const old = new Database(path, { fileMustExist: true });
    try {
      if (old.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'computers'").get()) before = consumedIn(old);
      old.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      old.close();
    }
    previous = `${path}.before-restore-${new Date(now()).toISOString().replace(/[:.]/g, '-')}`;
    renameSync(path, previous);
    for (const ext of ['-wal', '-shm']) if (existsSync(`${path}${ext}`)) renameSync(`${path}${ext}`, `${previous}${ext}`);
  }
  const tmp = tempBeside(path, 'restore');
  try {
    copyFileSync(backup, tmp);
    giveToFolderOwner(tmp);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  // Opening migrates a backup made by an older release; then the consumption carried over.
  const store = openStore(path, { mustExist: true });
  const consumedSince: CarriedOver[] = [];
  try {
    const after = consumedIn(store.db);
    for (const [name, row] of before) {
      const c = store.computers.byName(name);
      const had = after.get(name);
      if (!c || (had && had.at >= row.at)) continue;
      consumedSince.push({ computer: name, consumedAt: row.at, by: row.by ?? 'unknown' });
      if (opts.keepConsumed) setBootOnce(store, { computer: c, consumed: true, by: `restore:${row.by ?? 'unknown'}`, actor: 'cli', now: row.at });
    }
  } finally {
    store.close();
  }
  return { restored: path, from: backup, previous, consumedSince, carriedOver: opts.keepConsumed };
}
