/**
 * Audit events: every boot decision (with its reason), every admin change, every boot-once consumed.
 * Retention is bounded in age (store.auditRetentionDays) and in rows, pruned in small chunks so a
 * prune never holds the write lock (or the event loop) for long.
 */
import type { SqlDb, SqlStatement } from './sql.js';

/** `password`: attempts, lockouts and refused gated files (daemon/features/password). */
/** `secure-boot`: a firmware refusal of an unsigned program noticed (daemon/features/secureboot). */
export type AuditType = 'decision' | 'admin' | 'boot-once' | 'suppressed' | 'password' | 'secure-boot';

export interface AuditEventInput {
  at: number;
  type: AuditType;
  mac: string | null;
  door: string | null;
  decision: string | null;
  reason: string | null;
  profile: string | null;
  computer: string | null;
  ip: string | null;
  arch: string | null;
  /** Who made an admin change: `cli`, `api:<token id>`, `marker`. Never a token itself. */
  actor: string | null;
  /** Short free text or JSON for admin changes (what changed); never secrets. */
  detail: string | null;
  /** The appliance (server.name) that recorded it; the store fills in its own when absent. */
  server?: string | null;
}

export interface AuditEvent extends AuditEventInput {
  id: number;
}

export interface AuditQuery {
  mac?: string;
  type?: AuditType;
  since?: number;
  until?: number;
  /** Only events with an id below this (paging backwards from the newest). */
  beforeId?: number;
  limit: number;
}

const EMPTY: Omit<AuditEventInput, 'at' | 'type'> = {
  mac: null, door: null, decision: null, reason: null, profile: null, computer: null, ip: null, arch: null, actor: null, detail: null,
};

export function auditEvent(e: Partial<AuditEventInput> & Pick<AuditEventInput, 'at' | 'type'>): AuditEventInput {
  return { ...EMPTY, ...e };
}

export class AuditRepo {
  private readonly s;

  constructor(private readonly db: SqlDb, private readonly serverName: string | null = null) {
    this.s = {
      deleteOld: db.prepare('DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < ? LIMIT ?)'),
      nthNewest: db.prepare('SELECT id FROM audit_events ORDER BY id DESC LIMIT 1 OFFSET ?'),
      deleteUpTo: db.prepare('DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE id <= ? ORDER BY id LIMIT ?)'),
      count: db.prepare('SELECT COUNT(*) AS n FROM audit_events'),
    };
  }

  /** Call inside a transaction when inserting many (one commit per batch). */
  /** Prepared on first use: a store opened on an older schema (upgrade tests) has no `server` column yet. */
  private insertStmt: SqlStatement | null = null;

  insert(e: AuditEventInput): void {
    // Positional: binding by name looked up every field of a fresh object per row, and a storm writes
    // thousands of rows a second.
    this.insertStmt ??= this.db.prepare(`INSERT INTO audit_events (at, type, mac, door, decision, reason, profile, computer, ip, arch, actor, detail, server)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertStmt.run(
      e.at, e.type, e.mac ?? null, e.door ?? null, e.decision ?? null, e.reason ?? null, e.profile ?? null, e.computer ?? null,
      e.ip ?? null, e.arch ?? null, e.actor ?? null, e.detail ?? null, e.server ?? this.serverName,
    );
  }

  query(q: AuditQuery): AuditEvent[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.mac !== undefined) { where.push('mac = ?'); args.push(q.mac); }
    if (q.type !== undefined) { where.push('type = ?'); args.push(q.type); }
    if (q.since !== undefined) { where.push('at >= ?'); args.push(q.since); }
    if (q.until !== undefined) { where.push('at < ?'); args.push(q.until); }
    if (q.beforeId !== undefined) { where.push('id < ?'); args.push(q.beforeId); }
    const sql = `SELECT * FROM audit_events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    return this.db.prepare(sql).all(...args, q.limit) as AuditEvent[];
  }

  /** Deletes up to `chunk` events older than `cutoff`; returns how many went. */
  deleteOlderThan(cutoff: number, chunk: number): number {
    return this.s.deleteOld.run(cutoff, chunk).changes;
  }

  /** Deletes up to `chunk` of the oldest events beyond the newest `keep`; returns how many went. */
  trimTo(keep: number, chunk: number): number {
    const edge = this.s.nthNewest.get(keep) as { id: number } | undefined;
    return edge ? this.s.deleteUpTo.run(edge.id, chunk).changes : 0;
  }

  count(): number {
    return (this.s.count.get() as { n: number }).n;
  }
}
