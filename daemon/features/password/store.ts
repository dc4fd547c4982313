/**
 * The password tables (store migration 2): scrypt hashes per scope and wrong-password counts per client
 * key. The database is the only copy, read on every check: a password set or a lockout lifted with the
 * CLI on the database file takes effect in a running daemon at once.
 */
import type { SqlDb } from '../../store/sql.js';
import type { FailureState } from './lockout.js';

/** `global`, or one profile's own password. */
export type PasswordScope = { kind: 'global' } | { kind: 'profile'; profile: string };

export function scopeKey(scope: PasswordScope): string {
  return scope.kind === 'global' ? 'global' : `profile:${scope.profile}`;
}

export function scopeName(scope: PasswordScope): string {
  return scope.kind === 'global' ? 'the global password' : `the password of profile ${scope.profile}`;
}

export interface StoredHash {
  scope: string;
  hash: string;
  updatedAt: number;
  updatedBy: string;
}

/** `mac:52:54:00:ab:cd:ef` or `ip:10.77.0.101`. */
export type ClientKey = `mac:${string}` | `ip:${string}`;

export interface FailureRow extends FailureState {
  key: ClientKey;
}

interface HashRow { scope: string; hash: string; updated_at: number; updated_by: string }
interface FailRow { key: string; failures: number; first_at: number; last_at: number; locked_until: number | null }

/** Rows kept at most: the per-IP lockout bounds a flood from one address, this bounds the rest. */
const FAILURES_MAX = 20_000;

export class PasswordRepo {
  private readonly s;

  constructor(db: SqlDb) {
    this.s = {
      hash: db.prepare('SELECT scope, hash, updated_at, updated_by FROM password_hashes WHERE scope = ?'),
      hashes: db.prepare('SELECT scope, hash, updated_at, updated_by FROM password_hashes ORDER BY scope'),
      setHash: db.prepare(`INSERT INTO password_hashes (scope, hash, updated_at, updated_by) VALUES (?, ?, ?, ?)
        ON CONFLICT(scope) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
      deleteHash: db.prepare('DELETE FROM password_hashes WHERE scope = ?'),
      failure: db.prepare('SELECT key, failures, first_at, last_at, locked_until FROM password_failures WHERE key = ?'),
      failures: db.prepare('SELECT key, failures, first_at, last_at, locked_until FROM password_failures ORDER BY last_at DESC LIMIT ?'),
      setFailure: db.prepare(`INSERT INTO password_failures (key, failures, first_at, last_at, locked_until) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, first_at = excluded.first_at, last_at = excluded.last_at,
        locked_until = excluded.locked_until`),
      deleteFailure: db.prepare('DELETE FROM password_failures WHERE key = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM password_failures'),
      deleteOldest: db.prepare('DELETE FROM password_failures WHERE key IN (SELECT key FROM password_failures ORDER BY last_at LIMIT ?)'),
      deleteStale: db.prepare(`DELETE FROM password_failures
        WHERE (locked_until IS NULL AND last_at <= ?) OR (locked_until IS NOT NULL AND locked_until <= ?)`),
    };
  }

  hash(scope: PasswordScope): StoredHash | undefined {
    const r = this.s.hash.get(scopeKey(scope)) as HashRow | undefined;
    return r && { scope: r.scope, hash: r.hash, updatedAt: r.updated_at, updatedBy: r.updated_by };
  }

  hashes(): StoredHash[] {
    return (this.s.hashes.all() as HashRow[]).map((r) => ({ scope: r.scope, hash: r.hash, updatedAt: r.updated_at, updatedBy: r.updated_by }));
  }

  setHash(scope: PasswordScope, hash: string, now: number, by: string): void {
    this.s.setHash.run(scopeKey(scope), hash, now, by);
  }

  deleteHash(scope: PasswordScope): boolean {
    return this.s.deleteHash.run(scopeKey(scope)).changes > 0;
  }

  failure(key: ClientKey): FailureState | undefined {
    const r = this.s.failure.get(key) as FailRow | undefined;
    return r && { failures: r.failures, firstAt: r.first_at, lastAt: r.last_at, lockedUntil: r.locked_until };
  }

  failureRows(limit = 1000): FailureRow[] {
    return (this.s.failures.all(limit) as FailRow[]).map((r) => ({
      key: r.key as ClientKey, failures: r.failures, firstAt: r.first_at, lastAt: r.last_at, lockedUntil: r.locked_until,
    }));
  }

  setFailure(key: ClientKey, state: FailureState): void {
    this.s.setFailure.run(key, state.failures, state.firstAt, state.lastAt, state.lockedUntil);
    if ((this.s.count.get() as { n: number }).n > FAILURES_MAX) this.s.deleteOldest.run(1000);
  }

  deleteFailure(key: ClientKey): boolean {
    return this.s.deleteFailure.run(key).changes > 0;
  }

  /** Forgets rows that no longer count: quiet since `quietSince`, or a lockout ended by `now`. */
  deleteStale(quietSince: number, now: number): number {
    return this.s.deleteStale.run(quietSince, now).changes;
  }
}
