/**
 * Moving an appliance in: copies an existing store (its SQLite file) into another (the fleet's shared
 * PostgreSQL), in one transaction on the target, so it is all there or none of it is. Run again, it
 * adds nothing twice: computers, devices, settings, password hashes and rollout rows are matched by
 * their keys, and audit events, rollout results and halts already present (same fields) are skipped.
 * A computer whose name, MAC or GUID belongs to a different computer in the target is a conflict: the
 * copy refuses all of it (naming each) unless `merge` is set, when the incoming computer wins.
 */
import type { ComputerRecord } from './computers.js';
import type { Store } from './db.js';

export interface CopyOptions {
  merge: boolean;
  /** The appliance the source belonged to: put on its audit events and devices that name none. */
  sourceName: string;
  onProgress?: (done: number, total: number, what: string) => void;
  now?: () => number;
}

export interface CopyReport {
  computers: { added: number; unchanged: number; replaced: number };
  rows: Record<string, number>;
}

export class CopyConflictError extends Error {
  constructor(readonly conflicts: string[]) {
    super(`${conflicts.length} computer${conflicts.length === 1 ? '' : 's'} in the source conflict with different ones in the target (--merge lets the source's win)`);
    this.name = 'CopyConflictError';
  }
}

function same(a: ComputerRecord, b: ComputerRecord): boolean {
  return a.name.toLowerCase() === b.name.toLowerCase() && a.guid === b.guid && a.profile === b.profile && a.kind === b.kind
    && a.notes === b.notes && a.macs.join(',') === b.macs.join(',') && a.bootOnceConsumedAt === b.bootOnceConsumedAt;
}

/** Append-only tables: copied row by row unless the target has the same row already. */
const APPEND: Array<{ table: string; columns: string[]; order: string }> = [
  { table: 'audit_events', columns: ['at', 'type', 'mac', 'door', 'decision', 'reason', 'profile', 'computer', 'ip', 'arch', 'actor', 'detail', 'server'], order: 'id' },
  { table: 'rollout_results', columns: ['profile', 'computer', 'grp', 'status', 'at', 'detail', 'actor'], order: 'id' },
  { table: 'rollout_halts', columns: ['profile', 'grp', 'halted_at', 'halted_by', 'reason', 'resumed_at', 'resumed_by'], order: 'id' },
];

/** Keyed tables: a row whose key the target has already is left as the target has it. */
const KEYED: Array<{ table: string; columns: string[]; key: string[] }> = [
  { table: 'devices', columns: ['mac', 'status', 'guid', 'arch', 'arch_code', 'vendor_class', 'ip', 'first_seen', 'last_seen', 'attempts', 'decided_at', 'decided_by', 'seen_by'], key: ['mac'] },
  { table: 'settings', columns: ['key', 'value', 'updated_at'], key: ['key'] },
  { table: 'password_hashes', columns: ['scope', 'hash', 'updated_at', 'updated_by'], key: ['scope'] },
  { table: 'password_failures', columns: ['key', 'failures', 'first_at', 'last_at', 'locked_until'], key: ['key'] },
  { table: 'rollout_members', columns: ['computer', 'grp', 'criticality', 'maint_window', 'updated_at'], key: ['computer'] },
  { table: 'rollout_admissions', columns: ['profile', 'computer', 'grp', 'admitted_on', 'at'], key: ['profile', 'computer'] },
];

export function copyStore(from: Store, to: Store, opts: CopyOptions): CopyReport {
  const now = opts.now ?? Date.now;
  const computers = from.computers.all();
  const conflicts: string[] = [];
  const plan: Array<{ c: ComputerRecord; replace: ComputerRecord[] }> = [];
  const report: CopyReport = { computers: { added: 0, unchanged: 0, replaced: 0 }, rows: {} };
  const counts = KEYED.map((t) => (from.db.prepare(`SELECT COUNT(*) AS n FROM ${t.table}`).get() as { n: number }).n)
    .concat(APPEND.map((t) => (from.db.prepare(`SELECT COUNT(*) AS n FROM ${t.table}`).get() as { n: number }).n));
  const total = computers.length + counts.reduce((a, b) => a + b, 0);
  let done = 0;
  const tick = (what: string, n = 1) => {
    done += n;
    if (done % 500 === 0 || done === total) opts.onProgress?.(done, total, what);
  };

  return to.tx(() => {
    for (const c of computers) {
      const byName = to.computers.byName(c.name);
      if (byName && same(byName, c)) {
        report.computers.unchanged += 1;
        tick('computers');
        continue;
      }
      const clashes = new Map<number, ComputerRecord>();
      if (byName) clashes.set(byName.id, byName);
      for (const mac of c.macs) {
        const other = to.computers.byMac(mac);
        if (other) clashes.set(other.id, other);
      }
      if (c.guid) {
        const other = to.computers.byGuid(c.guid);
        if (other) clashes.set(other.id, other);
      }
      if (clashes.size > 0 && !opts.merge) {
        for (const other of clashes.values()) conflicts.push(`${c.name} (${c.macs.join(', ')}) conflicts with ${other.name} (${other.macs.join(', ')}) in the target`);
      }
      plan.push({ c, replace: [...clashes.values()] });
    }
    if (conflicts.length > 0) throw new CopyConflictError(conflicts);
    for (const { c, replace } of plan) {
      for (const r of replace) to.computers.delete(r.id);
      const id = to.computers.insert({ name: c.name, macs: c.macs, guid: c.guid, profile: c.profile, kind: c.kind, notes: c.notes, sourceComputer: c.sourceComputer }, c.createdAt);
      if (c.bootOnceConsumedAt !== null) to.computers.setBootOnce(id, c.bootOnceConsumedAt, c.bootOnceConsumedBy, c.updatedAt);
      if (replace.length > 0) report.computers.replaced += 1;
      else report.computers.added += 1;
      tick('computers');
    }
    for (const t of KEYED) {
      const rows = from.db.prepare(`SELECT ${t.columns.join(', ')} FROM ${t.table}`).all() as Array<Record<string, unknown>>;
      const exists = to.db.prepare(`SELECT 1 AS x FROM ${t.table} WHERE ${t.key.map((k) => `${k} = ?`).join(' AND ')}`);
      const insert = to.db.prepare(`INSERT INTO ${t.table} (${t.columns.join(', ')}) VALUES (${t.columns.map(() => '?').join(', ')})`);
      let n = 0;
      for (const r of rows) {
        if (t.table === 'devices' && r.seen_by == null) r.seen_by = opts.sourceName;
        if (!exists.get(...t.key.map((k) => r[k]))) {
          insert.run(...t.columns.map((c) => r[c] ?? null));
          n += 1;
        }
        tick(t.table);
      }
      report.rows[t.table] = n;
    }
    for (const t of APPEND) {
      const rows = from.db.prepare(`SELECT ${t.columns.join(', ')} FROM ${t.table} ORDER BY ${t.order}`).all() as Array<Record<string, unknown>>;
      // Equal fields, NULLs included: `IS NOT DISTINCT FROM` on PostgreSQL, `IS` on SQLite.
      const eq = to.dialect === 'postgres' ? 'IS NOT DISTINCT FROM' : 'IS';
      const exists = to.db.prepare(`SELECT 1 AS x FROM ${t.table} WHERE ${t.columns.map((c) => `${c} ${eq} ?`).join(' AND ')} LIMIT 1`);
      const insert = to.db.prepare(`INSERT INTO ${t.table} (${t.columns.join(', ')}) VALUES (${t.columns.map(() => '?').join(', ')})`);
      let n = 0;
      for (const r of rows) {
        if (t.table === 'audit_events' && r.server == null) r.server = opts.sourceName;
        const values = t.columns.map((c) => r[c] ?? null);
        if (!exists.get(...values)) {
          insert.run(...values);
          n += 1;
        }
        tick(t.table);
      }
      report.rows[t.table] = n;
    }
    to.audit.insert({
      at: now(), type: 'admin', mac: null, door: null, decision: null, reason: null, profile: null, computer: null, ip: null, arch: null,
      actor: 'cli', detail: `store migrate from ${from.path}: ${report.computers.added} computers added, ${report.computers.replaced} replaced, ${report.computers.unchanged} unchanged`,
    });
    opts.onProgress?.(total, total, 'done');
    return report;
  });
}
