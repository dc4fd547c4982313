/**
 * Rollout state in the SQLite store: group membership (group, criticality, own window) of computers,
 * admitted-on dates, deployment results and halts. SQL only; the rules live in plan.ts / failures.ts.
 *
 * The tables are created by the store's one migration sequence (daemon/store/migrations.ts) when
 * the database is opened. Names are compared case-insensitively, as Windows computer names are (the
 * inventory does the same).
 */
import type { Store } from '../../store/db.js';
import type { DeploymentResult, ResultStatus } from './failures.js';


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

  /** The repository on `store` (its tables come from the store's migrations). */
  static open(store: Store): RolloutRepo {
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
