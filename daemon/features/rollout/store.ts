/**
 * Rollout state in the SQLite store: group membership (group, criticality, own window) of computers,
 * admitted-on dates, deployment results and halts. SQL only; the rules live in plan.ts / failures.ts.
 *
 * The store's migration list (daemon/store/migrations.ts) is one fixed list with one version
 * sequence, and openStore() refuses a database "newer than it understands". Rollout tables are kept
 * out of that sequence: they carry their own versions in `rollout_schema`, applied by
 * `RolloutRepo.open()`, so neither module can break the other's upgrades. Names are compared
 * case-insensitively, as Windows computer names are (the inventory does the same).
 */
import type Database from 'better-sqlite3';
import type { Store } from '../../store/db.js';
import type { DeploymentResult, ResultStatus } from './failures.js';

interface RolloutMigration {
  version: number;
  name: string;
  sql: string;
}

export const ROLLOUT_MIGRATIONS: readonly RolloutMigration[] = [
  {
    version: 1,
    name: 'rollout members, admissions, results, halts',
    sql: `
      -- A computer's place in rollouts: its group (role), criticality rank, and a window of its own.
      CREATE TABLE rollout_members (
        computer TEXT PRIMARY KEY COLLATE NOCASE,
        grp TEXT NOT NULL,
        criticality INTEGER,
        maint_window TEXT,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE rollout_admissions (
        profile TEXT NOT NULL,
        computer TEXT NOT NULL COLLATE NOCASE,
        grp TEXT NOT NULL,
        -- The local calendar date (YYYY-MM-DD, in the rollout's time zone) the computer was admitted on:
        -- a date, not a day index, so moving the start date never moves what already happened.
        admitted_on TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (profile, computer)
      );
      CREATE TABLE rollout_results (
        id INTEGER PRIMARY KEY,
        profile TEXT NOT NULL,
        computer TEXT NOT NULL COLLATE NOCASE,
        grp TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        at INTEGER NOT NULL,
        detail TEXT,
        actor TEXT
      );
      CREATE INDEX rollout_results_by_computer ON rollout_results(profile, computer, at);
      -- One row per halt; resumed_at set when an admin resumes the group.
      CREATE TABLE rollout_halts (
        id INTEGER PRIMARY KEY,
        profile TEXT NOT NULL,
        grp TEXT NOT NULL,
        halted_at INTEGER NOT NULL,
        halted_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        resumed_at INTEGER,
        resumed_by TEXT
      );
      CREATE INDEX rollout_halts_by_group ON rollout_halts(profile, grp, halted_at);
    `,
  },
];

/** Results kept per computer and profile: enough history for an admin, bounded for a retry loop. */
export const RESULTS_PER_COMPUTER = 20;

export interface MemberRecord {
  computer: string;
  group: string;
  criticality: number | null;
  window: string | null;
  updatedAt: number;
}

export interface AdmissionRecord {
  computer: string;
  group: string;
  /** Local date `YYYY-MM-DD` in the rollout's time zone. */
  date: string;
  at: number;
}

export interface ResultRecord extends DeploymentResult {
  id: number;
  profile: string;
  /** The name as stored (original case). */
  name: string;
  detail: string | null;
  actor: string | null;
}

export interface HaltRecord {
  id: number;
  profile: string;
  group: string;
  haltedAt: number;
  haltedBy: string;
  reason: string;
  resumedAt: number | null;
  resumedBy: string | null;
}

export class RolloutStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutStoreError';
  }
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS rollout_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM rollout_schema').all() as Array<{ version: number }>).map((r) => r.version));
  const known = Math.max(0, ...ROLLOUT_MIGRATIONS.map((m) => m.version));
  const newest = Math.max(0, ...applied);
  if (newest > known) throw new RolloutStoreError(`rollout schema version ${newest} is newer than this bootgate understands (up to ${known}); upgrade bootgate`);
  const record = db.prepare('INSERT INTO rollout_schema (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of ROLLOUT_MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
  }
}

interface ResultRow { id: number; profile: string; computer: string; grp: string; status: ResultStatus; at: number; detail: string | null; actor: string | null }
interface HaltRow { id: number; profile: string; grp: string; halted_at: number; halted_by: string; reason: string; resumed_at: number | null; resumed_by: string | null }

const haltFromRow = (r: HaltRow): HaltRecord => ({
  id: r.id, profile: r.profile, group: r.grp, haltedAt: r.halted_at, haltedBy: r.halted_by, reason: r.reason, resumedAt: r.resumed_at, resumedBy: r.resumed_by,
});

export class RolloutRepo {
  private readonly s;

  private constructor(readonly store: Store) {
    const db = store.db;
    this.s = {
      members: db.prepare('SELECT computer, grp, criticality, maint_window, updated_at FROM rollout_members ORDER BY computer'),
      upsertMember: db.prepare(`INSERT INTO rollout_members (computer, grp, criticality, maint_window, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(computer) DO UPDATE SET computer = excluded.computer, grp = excluded.grp, criticality = excluded.criticality,
        maint_window = excluded.maint_window, updated_at = excluded.updated_at`),
      deleteMember: db.prepare('DELETE FROM rollout_members WHERE computer = ?'),
      admissions: db.prepare('SELECT computer, grp, admitted_on, at FROM rollout_admissions WHERE profile = ?'),
      admit: db.prepare('INSERT OR IGNORE INTO rollout_admissions (profile, computer, grp, admitted_on, at) VALUES (?, ?, ?, ?, ?)'),
      results: db.prepare('SELECT * FROM rollout_results WHERE profile = ? ORDER BY at, id'),
      addResult: db.prepare('INSERT INTO rollout_results (profile, computer, grp, status, at, detail, actor) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      trimResults: db.prepare(`DELETE FROM rollout_results WHERE profile = ? AND computer = ? AND id NOT IN
        (SELECT id FROM rollout_results WHERE profile = ? AND computer = ? ORDER BY at DESC, id DESC LIMIT ?)`),
      halts: db.prepare('SELECT * FROM rollout_halts WHERE profile = ? ORDER BY halted_at, id'),
      openHalt: db.prepare('SELECT * FROM rollout_halts WHERE profile = ? AND grp = ? AND resumed_at IS NULL ORDER BY id DESC LIMIT 1'),
      halt: db.prepare('INSERT INTO rollout_halts (profile, grp, halted_at, halted_by, reason) VALUES (?, ?, ?, ?, ?)'),
      resume: db.prepare('UPDATE rollout_halts SET resumed_at = ?, resumed_by = ? WHERE profile = ? AND grp = ? AND resumed_at IS NULL'),
    };
  }

  /** Creates or upgrades the rollout tables in `store` and returns the repository. */
  static open(store: Store): RolloutRepo {
    migrate(store.db);
    return new RolloutRepo(store);
  }

  members(): MemberRecord[] {
    return (this.s.members.all() as Array<{ computer: string; grp: string; criticality: number | null; maint_window: string | null; updated_at: number }>)
      .map((r) => ({ computer: r.computer, group: r.grp, criticality: r.criticality, window: r.maint_window, updatedAt: r.updated_at }));
  }

  /** Call inside a transaction when setting many. */
  setMember(m: Omit<MemberRecord, 'updatedAt'>, now: number): void {
    this.s.upsertMember.run(m.computer, m.group, m.criticality, m.window, now);
  }

  deleteMember(computer: string): boolean {
    return this.s.deleteMember.run(computer).changes > 0;
  }

  admissions(profile: string): AdmissionRecord[] {
    return (this.s.admissions.all(profile) as Array<{ computer: string; grp: string; admitted_on: string; at: number }>)
      .map((r) => ({ computer: r.computer, group: r.grp, date: r.admitted_on, at: r.at }));
  }

  /** Records admissions; an admission already recorded keeps its date. */
  admit(profile: string, list: ReadonlyArray<{ name: string; group: string; date: string }>, now: number): void {
    if (list.length === 0) return;
    this.store.tx(() => {
      for (const a of list) this.s.admit.run(profile, a.name, a.group, a.date, now);
    });
  }

  results(profile: string): ResultRecord[] {
    return (this.s.results.all(profile) as ResultRow[]).map((r) => ({
      id: r.id, profile: r.profile, name: r.computer, computer: r.computer.toLowerCase(), group: r.grp, status: r.status, at: r.at, detail: r.detail, actor: r.actor,
    }));
  }

  /** Call inside a transaction. Keeps the newest RESULTS_PER_COMPUTER results of the computer. */
  addResult(r: { profile: string; computer: string; group: string; status: ResultStatus; at: number; detail: string | null; actor: string }): void {
    this.s.addResult.run(r.profile, r.computer, r.group, r.status, r.at, r.detail, r.actor);
    this.s.trimResults.run(r.profile, r.computer, r.profile, r.computer, RESULTS_PER_COMPUTER);
  }

  halts(profile: string): HaltRecord[] {
    return (this.s.halts.all(profile) as HaltRow[]).map(haltFromRow);
  }

  openHalt(profile: string, group: string): HaltRecord | null {
    const r = this.s.openHalt.get(profile, group) as HaltRow | undefined;
    return r ? haltFromRow(r) : null;
  }

  /** Call inside a transaction; the caller checks the group is not halted already. */
  halt(profile: string, group: string, at: number, by: string, reason: string): void {
    this.s.halt.run(profile, group, at, by, reason);
  }

  /** Call inside a transaction; returns false when the group was not halted. */
  resume(profile: string, group: string, at: number, by: string): boolean {
    return this.s.resume.run(at, by, profile, group).changes > 0;
  }
}
