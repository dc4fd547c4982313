/**
 * The console's reads of the store beyond what the features' services offer: the audit events written
 * since the last look (boot-once consumed, admin changes and password events from this process and any
 * other writer of the same store), for the live feed.
 */
import type { AuditEvent } from '../../store/audit.js';
import type { Store } from '../../store/db.js';

export class ConsoleStore {
  private readonly s;

  constructor(store: Store) {
    this.s = {
      maxId: store.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM audit_events'),
      after: store.db.prepare(`SELECT * FROM audit_events WHERE id > ? AND id <= ? AND type IN ('boot-once', 'admin', 'password') ORDER BY id LIMIT ?`),
    };
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
