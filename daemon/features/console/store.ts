/**
 * The console's reads of the store beyond what the features' services offer: the audit events written
 * since the last look (boot-once consumed, admin changes and password events from this process and any
 * other writer of the same store), for the live feed; and one page of computers, searched, sorted and
 * cut in SQL, so a page of 50 out of 10,000 costs 50 computers, not 10,000.
 */
import type { AuditEvent } from '../../store/audit.js';
import type { Store } from '../../store/db.js';
import type { Dialect } from '../../store/sql.js';

export type ComputerSort = 'name' | 'profile' | 'updated';

/** Case-insensitive name order: SQLite's NOCASE collation; on PostgreSQL the column's own (bootgate_nocase). */
const NAME = { sqlite: 'c.name COLLATE NOCASE', postgres: 'c.name' } as const;

function orderBy(dialect: Dialect, sort: ComputerSort, order: 'asc' | 'desc'): string {
  const dir = order === 'asc' ? 'ASC' : 'DESC';
  const name = `${NAME[dialect]} ${dir}`;
  if (sort === 'name') return name;
  if (sort === 'profile') return `c.profile ${dir}, ${name}`;
  return `c.updated_at ${dir}, c.id ${dir}`;
}

/**
 * Name, profile, GUID, notes or any of its MACs contains the text, ASCII case-insensitive: SQLite's LIKE
 * is; PostgreSQL's ILIKE is the same, on the plain "C" collation (the name's case-insensitive one is
 * nondeterministic, which pattern matching refuses).
 */
function match(dialect: Dialect): string {
  const m = (col: string) => (dialect === 'postgres' ? `${col} COLLATE "C" ILIKE @like ESCAPE '\\'` : `${col} LIKE @like ESCAPE '\\'`);
  return `(${m('c.name')} OR ${m('c.profile')} OR ${m('c.guid')} OR ${m('c.notes')}
    OR EXISTS (SELECT 1 FROM computer_macs m WHERE m.computer_id = c.id AND ${m('m.mac')}))`;
}

export class ConsoleStore {
  private readonly s;
  private readonly db: Store['db'];
  private readonly dialect: Dialect;

  constructor(store: Store) {
    this.db = store.db;
    this.dialect = store.dialect;
    this.s = {
      maxId: store.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM audit_events'),
      after: store.db.prepare(`SELECT * FROM audit_events WHERE id > ? AND id <= ? AND type IN ('boot-once', 'admin', 'password') ORDER BY id LIMIT ?`),
    };
  }

  /** The ids of one page of computers, and how many match in all. */
  computerPage(q: { text: string; sort: ComputerSort; order: 'asc' | 'desc'; offset: number; limit: number }): { ids: number[]; total: number } {
    const where = q.text === '' ? '' : `WHERE ${match(this.dialect)}`;
    const like = `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const args = q.text === '' ? {} : { like };
    // PostgreSQL's COUNT is a bigint, read as a string.
    const total = Number((this.db.prepare(`SELECT COUNT(*) AS n FROM computers c ${where}`).get(args) as { n: number | string }).n);
    const ids = (this.db.prepare(`SELECT c.id FROM computers c ${where} ORDER BY ${orderBy(this.dialect, q.sort, q.order)} LIMIT @limit OFFSET @offset`)
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
