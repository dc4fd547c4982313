/**
 * Consuming and clearing a required deployment. Shared by the backend (completion marker served) and
 * the admin service (API/CLI "deployment done" and "clear"), so both leave the same audit trail.
 */
import { auditEvent } from './audit.js';
import type { ComputerRecord } from './computers.js';
import type { Store } from './db.js';

export interface BootOnceChange {
  computer: ComputerRecord;
  /** True: consumed (boots the local disk from now on). False: cleared (network-boots again). */
  consumed: boolean;
  /** What caused it, stored on the computer: `marker:sources/boot.wim`, `api`, `cli`. */
  by: string;
  /** Who, for the audit event. */
  actor: string;
  /** The MAC the event concerns (the one that fetched the marker), else the computer's first. */
  mac?: string | null;
  now: number;
}

export function setBootOnce(store: Store, c: BootOnceChange): boolean {
  const changed = store.durable(() => {
    const ok = store.computers.setBootOnce(c.computer.id, c.consumed ? c.now : null, c.consumed ? c.by : null, c.now);
    if (ok) {
      store.audit.insert(auditEvent({
        at: c.now,
        type: 'boot-once',
        mac: c.mac ?? c.computer.macs[0] ?? null,
        computer: c.computer.name,
        profile: c.computer.profile,
        actor: c.actor,
        detail: c.consumed ? `consumed (${c.by})` : 'cleared',
      }));
    }
    return ok;
  });
  if (changed) store.notify('inventory');
  return changed;
}
