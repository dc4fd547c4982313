/**
 * The audit trail: the events the policy, the recorder and admins leave (decisions with reasons, admin
 * changes, boot-once), queried newest first; and the one writer of an admin's change, used by every
 * feature that changes something.
 */
import { normalizeMac } from '../../policy/identity.js';
import { auditEvent, type AuditEvent, type AuditType } from '../../store/audit.js';
import type { Store } from '../../store/db.js';
import { AdminError } from '../../http/admin/errors.js';
import { defineService } from '../feature.js';

export interface EventFilter {
  mac?: string | undefined;
  type?: AuditType | undefined;
  since?: number | undefined;
  until?: number | undefined;
  beforeId?: number | undefined;
  limit?: number | undefined;
}

/** An event as the API returns it and the CLI prints it: the time as ISO 8601. */
export interface EventDto extends Omit<AuditEvent, 'at'> {
  at: string;
}

export function eventDto(e: AuditEvent): EventDto {
  return { ...e, at: new Date(e.at).toISOString(), server: e.server ?? null };
}

/** Who and what an admin audit event names besides its actor and detail. */
export interface AdminAuditExtra {
  mac?: string | null;
  computer?: string | null;
  profile?: string | null;
}

/** Records an admin change in the audit trail (every feature's service alike). */
export function auditAdmin(store: Store, at: number, actor: string, detail: string, extra: AdminAuditExtra = {}): void {
  store.audit.insert(auditEvent({ at, type: 'admin', actor, detail, ...extra }));
}

export class EventsService {
  constructor(private readonly store: Store) {}

  /** Newest first; at most 1,000 (default 100). */
  events(f: EventFilter): EventDto[] {
    let mac: string | undefined;
    if (f.mac !== undefined) {
      const m = normalizeMac(f.mac);
      if (m === null) throw new AdminError(400, 'ERR_VALIDATION', `${JSON.stringify(f.mac)} is not a MAC address`);
      mac = m;
    }
    return this.store.audit.query({ ...f, mac, limit: Math.min(Math.max(f.limit ?? 100, 1), 1000) }).map(eventDto);
  }
}

/** The admin API's EventsService (on the service host's thread with the shared store). */
export const eventsService = defineService('events', (c) => new EventsService(c.store));
