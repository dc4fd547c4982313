/**
 * The console's reads of the store beyond what the features' services offer: the audit events written
 * since the last look (boot-once consumed, admin changes and password events from this process and any
 * other writer of the same store), for the live feed; and one page of computers, searched, sorted and
 * cut in SQL, so a page of 50 out of 10,000 costs 50 computers, not 10,000.
 */
import type { AuditEvent } from '../../store/audit.js';
import type { Store } from '../../store/db.js';

export type ComputerSort = 'name' | 'profile' | 'updated';

const ORDER: Record<ComputerSort, { asc: string; desc: string }> = {
  name: { asc: 'c.name COLLATE NOCASE ASC', desc: 'c.name COLLATE NOCASE DESC' },
  profile: { asc: 'c.profile ASC, c.name COLLATE NOCASE ASC', desc: 'c.profile DESC, c.name COLLATE NOCASE DESC' },
  updated: { asc: 'c.updated_at ASC, c.id ASC', desc: 'c.updated_at DESC, c.id DESC' },
};

/** Name, profile, GUID, notes or any of its MACs contains the text (ASCII case-insensitive, as LIKE is). */
const MATCH = `(c.name LIKE @like ESCAPE '\\' OR c.profile LIKE @like ESCAPE '\\' OR c.guid LIKE @like ESCAPE '\\'
  OR c.notes LIKE @like ESCAPE '\\' OR EXISTS (SELECT 1 FROM computer_macs m WHERE m.computer_id = c.id AND m.mac LIKE @like ESCAPE '\\'))`;

export class ConsoleStore {
  private readonly s;
  private readonly db: Store['db'];

  constructor(store: Store) {
    this.db = store.db;
    this.s = {
      maxId: store.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM audit_events'),
      after: store.db.prepare(`SELECT * FROM audit_events WHERE id > ? AND id <= ? AND type IN ('boot-once', 'admin', 'password') ORDER BY id LIMIT ?`),
    };
  }

  /** The ids of one page of computers, and how many match in all. */
  computerPage(q: { text: string; sort: ComputerSort; order: 'asc' | 'desc'; offset: number; limit: number }): { ids: number[]; total: number } {
    const where = q.text === '' ? '' : `WHERE ${MATCH}`;
    const like = `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const args = q.text === '' ? {} : { like };
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM computers c ${where}`).get(args) as { n: number }).n;
    const ids = (this.db.prepare(`SELECT c.id FROM computers c ${where} ORDER BY ${ORDER[q.sort][q.order]} LIMIT @limit OFFSET @offset`)
      .all({ ...args, limit: q.limit, offset: q.offset }) as Array<{ id: number }>).map((r) => r.id);
    return { ids, total };
  }

  lastAuditId(): number {
    return (this.s.maxId.get() as { id: number }).id;
  }

  /**
   * Boot-once, admin and password events after `id` (oldest first, at most `limit`) and the id to ask
   * from next time: past every decision event in between, so the next look does not scan them again.
   */
  auditAfter(id: number, limit = 500): { events: AuditEvent[]; next: number } {
    const max = this.lastAuditId();
    const events = this.s.after.all(id, max, limit) as AuditEvent[];
    const last = events[events.length - 1];
    return { events, next: events.length === limit && last ? last.id : max };
  }
}
