/**
 * What an admin does with Secure Boot machines (used by the API and the CLI alike): list them, mark one
 * known to run Secure Boot, clear one (it is then offered the profile's ordinary program again).
 */
import { AdminError } from '../../http/admin/errors.js';
import type { Store } from '../../store/db.js';
import { auditEvent, type AuditEventInput } from '../../store/audit.js';
import { SecureBootRepo, type SecureBootRow } from './store.js';
import { defineService } from '../feature.js';

export interface SecureBootDto {
  mac: string;
  source: 'admin' | 'refusal';
  reason: string | null;
  file: string | null;
  at: string;
  actor: string;
}

const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

export function normalizeMac(mac: string): string {
  if (!MAC.test(mac)) throw new AdminError(400, 'ERR_VALIDATION', `not a MAC address: ${JSON.stringify(mac)}`);
  return mac.toLowerCase().replace(/-/g, ':');
}

export function toDto(r: SecureBootRow): SecureBootDto {
  return { mac: r.mac, source: r.source, reason: r.reason, file: r.file, at: new Date(r.at).toISOString(), actor: r.actor };
}

export class SecureBootAdmin {
  readonly repo: SecureBootRepo;

  constructor(private readonly store: Store, private readonly now: () => number = Date.now) {
    this.repo = new SecureBootRepo(store.db);
  }

  list(limit = 1000): SecureBootDto[] {
    return this.repo.list(limit).map(toDto);
  }

  show(mac: string): SecureBootDto {
    const row = this.repo.get(normalizeMac(mac));
    if (!row) throw new AdminError(404, 'ERR_NOT_FOUND', `${mac} is not marked as a Secure Boot machine`);
    return toDto(row);
  }

  /** Marks a machine known to run Secure Boot: from its next request it gets the Secure Boot chain. */
  mark(mac: string, actor: string): SecureBootDto {
    const m = normalizeMac(mac);
    const row: SecureBootRow = { mac: m, source: 'admin', reason: null, file: null, at: this.now(), actor };
    this.store.durable(() => {
      this.repo.put(row);
      this.store.audit.insert(auditEvent({ at: row.at, type: 'admin', actor, mac: m, detail: 'secure boot: marked' }));
    });
    this.store.notify('secureboot');
    return toDto(row);
  }

  /** Clears a machine: it is offered the profile's ordinary boot program again. */
  clear(mac: string, actor: string): { mac: string; cleared: true } {
    const m = normalizeMac(mac);
    this.store.durable(() => {
      if (!this.repo.delete(m)) throw new AdminError(404, 'ERR_NOT_FOUND', `${m} is not marked as a Secure Boot machine`);
      this.store.audit.insert(auditEvent({ at: this.now(), type: 'admin', actor, mac: m, detail: 'secure boot: cleared' }));
    });
    this.store.notify('secureboot');
    return { mac: m, cleared: true };
  }

  /** Every marked machine's MAC (the shared store's in-memory copy is loaded from this). */
  macs(): string[] {
    return this.repo.macs();
  }

  /** A refusal the firmware watch noticed: the machine gets the chain from now on; audited as the firmware's. */
  noticeRefusal(row: SecureBootRow, event: AuditEventInput): void {
    this.store.durable(() => {
      this.repo.put(row);
      this.store.audit.insert(event);
    });
    this.store.notify('secureboot');
  }
}

/** The admin API's SecureBootAdmin (on the service host's thread with the shared store). */
export const secureBootService = defineService('secureboot', (c) => new SecureBootAdmin(c.store, c.now));
