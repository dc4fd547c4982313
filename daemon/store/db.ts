/**
 * The embedded store: one SQLite file (better-sqlite3) holding the inventory, pending devices,
 * boot-once state, run-time settings and audit events.
 *
 * Durability: WAL journal. Every commit is appended to the WAL with write() before it returns, so a
 * process killed with SIGKILL loses nothing it committed, and a transaction is all or nothing (an
 * import is one transaction). The hot path (decision audit batches) runs at synchronous=NORMAL: no
 * fsync per batch, so a DHCP burst never waits on the disk. Admin changes (imports, approvals,
 * boot-once, settings) go through `durable()`, which commits at synchronous=FULL: they survive a
 * power cut as well, and they are rare enough that one fsync each costs nothing.
 *
 * The shared store: `openStore('postgres://...')` gives the same Store on PostgreSQL (pg-sync.ts), so
 * every appliance of a fleet works on one inventory. The repositories are the same; the boot path
 * reads only the in-memory snapshot, fed by the change feed (pg-link.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';
import { isPostgresUrl, parsePgUrl, redactUrl, type PgTarget } from './pg-conn.js';
import { PgSyncDb } from './pg-sync.js';
import type { Dialect, SqlDb } from './sql.js';
import { ComputersRepo } from './computers.js';
import { DevicesRepo } from './devices.js';
import { AuditRepo } from './audit.js';
import { SettingsRepo } from './settings.js';

/**
 * What changed: a feature's tables (`rollout`, `password`), the core tables, or `external`: another
 * process committed to the same file (seen by the change watch), so anything may have changed.
 */
export type ChangeKind = 'inventory' | 'devices' | 'settings' | 'rollout' | 'password' | 'secureboot' | 'external';
export type ChangeListener = (kind: ChangeKind) => void;

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface OpenOptions {
  /** How long a writer waits for another process's write lock (the CLI working on the file directly). */
  busyTimeoutMs?: number;
  /** Migrations to apply (tests pass a longer list to exercise upgrades). */
  migrations?: readonly Migration[];
  /** Open only an existing file (admin commands): never create a database, or its folder. */
  mustExist?: boolean;
  /** This appliance's name (server.name), put on the audit events and device sightings it writes. */
  serverName?: string;
  /** PostgreSQL: the password file (store.passwordFile). */
  passwordFile?: string | null;
  /** PostgreSQL: how long a statement of admin work may take before it fails. */
  statementTimeoutMs?: number;
}

export class Store {
  readonly db: SqlDb;
  /** The file, or the connection string with any password hidden. */
  readonly path: string;
  readonly dialect: Dialect;
  readonly serverName: string;
  /** The PostgreSQL connection target (null on SQLite). */
  readonly target: PgTarget | null;
  readonly computers: ComputersRepo;
  readonly devices: DevicesRepo;
  readonly audit: AuditRepo;
  readonly settings: SettingsRepo;
  private readonly listeners = new Set<ChangeListener>();
  private closed = false;

  constructor(db: SqlDb, path: string, opts: { dialect?: Dialect; serverName?: string; target?: PgTarget | null } = {}) {
    this.db = db;
    this.path = path;
    this.dialect = opts.dialect ?? 'sqlite';
    this.serverName = opts.serverName ?? hostname();
    this.target = opts.target ?? null;
    this.computers = new ComputersRepo(db);
    this.devices = new DevicesRepo(db, this.serverName);
    this.audit = new AuditRepo(db, this.serverName);
    this.settings = new SettingsRepo(db);
  }

  /** True when this is the shared PostgreSQL store. */
  get shared(): boolean {
    return this.dialect === 'postgres';
  }

  /** Runs `fn` in one transaction (BEGIN IMMEDIATE: take the write lock up front, no upgrade deadlock). */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Like tx(), committed with an fsync (synchronous=FULL) for changes an admin was told are saved. */
  durable<T>(fn: () => T): T {
    // PostgreSQL commits durably (synchronous_commit) already.
    if (this.dialect !== 'sqlite') return this.tx(fn);
    this.db.pragma('synchronous = FULL');
    try {
      return this.tx(fn);
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /**
   * Inside a transaction: waits until no other appliance holds `key` for its transaction (PostgreSQL
   * advisory transaction lock), so a read-decide-write step (a rollout's admissions of the day) runs
   * one appliance at a time. On SQLite the transaction's write lock does this already.
   */
  serialize(key: string): void {
    if (this.dialect !== 'postgres') return;
    (this.db as PgSyncDb).query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
  }

  /** Subscribes to changes made through this Store (other processes are seen through dataVersion()). */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(kind: ChangeKind): void {
    for (const l of this.listeners) l(kind);
  }

  /**
   * Whether this connection checkpoints the WAL when a commit takes it past 1,000 pages (SQLite's
   * default). The daemon turns it off while a Checkpointer does that work on another thread.
   */
  setCommitCheckpoints(on: boolean): void {
    if (this.dialect !== 'sqlite') return;
    this.db.pragma(`wal_autocheckpoint = ${on ? 1000 : 0}`);
  }

  /** Changes when another connection (e.g. the CLI on the same file) commits; cheap to poll. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  schemaVersion(): number {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    return row.v ?? 0;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    // A clean close checkpoints the WAL into the main file, so a copied .db file is complete.
    this.db.close();
  }
}

/** The same steps on either backend; on PostgreSQL the caller holds the migration lock. */
function migrate(db: SqlDb, migrations: readonly Migration[], dialect: Dialect): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${dialect === 'postgres' ? 'BIGINT' : 'INTEGER'} NOT NULL)`);
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
  const known = Math.max(0, ...migrations.map((m) => m.version));
  const newest = Math.max(0, ...applied);
  if (newest > known) {
    throw new StoreError(`database schema version ${newest} is newer than this bootgate understands (up to ${known}); upgrade bootgate`);
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(dialect === 'postgres' ? m.postgres ?? m.sql : m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
  }
}

/**
 * Two appliances starting together must not both migrate: the steps run under a session advisory lock
 * (one fixed key), and the second one finds them applied when it gets the lock.
 */
const MIGRATION_LOCK = 0x6267_7374; // 'bgst'

function openShared(url: string, opts: OpenOptions): Store {
  const shown = redactUrl(url);
  try {
    parsePgUrl(url);
  } catch (err) {
    throw new StoreError(`store.url ${shown}: ${(err as Error).message}`);
  }
  const target: PgTarget = {
    url, passwordFile: opts.passwordFile ?? null, applicationName: `bootgate ${opts.serverName ?? hostname()}`,
    statementTimeoutMs: opts.statementTimeoutMs ?? 10_000,
  };
  let db: PgSyncDb;
  try {
    db = new PgSyncDb(target);
  } catch (err) {
    throw new StoreError(`store.url ${shown}: ${(err as Error).message}`);
  }
  try {
    db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      migrate(db, opts.migrations ?? MIGRATIONS, 'postgres');
    } finally {
      db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`store.url ${shown}: ${(err as Error).message}`);
  }
  return new Store(db, shown, { dialect: 'postgres', serverName: opts.serverName, target });
}

/**
 * Opens (creating if needed) and migrates the store: an SQLite file at `path` (`:memory:` for tests),
 * or the shared PostgreSQL database when `path` is a `postgres://` connection string.
 */
export function openStore(path: string, opts: OpenOptions = {}): Store {
  if (isPostgresUrl(path)) return openShared(path, opts);
  if (path !== ':memory:' && !opts.mustExist) mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: opts.mustExist ?? false });
  } catch (err) {
    throw new StoreError(`cannot open database ${path}: ${(err as Error).message}`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 2000))}`);
    migrate(db, opts.migrations ?? MIGRATIONS, 'sqlite');
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot open database ${path}: ${(err as Error).message}`);
  }
  return new Store(db, path, { serverName: opts.serverName });
}
