/**
 * Devices seen under the `pending` unknown-computer policy: waiting for approval, or rejected.
 * Sightings are written in batches by the backend (one upsert per device per flush).
 */
import type { SqlDb, SqlStatement } from './sql.js';

export type DeviceStatus = 'pending' | 'rejected';

export interface DeviceRecord {
  mac: string;
  status: DeviceStatus;
  guid: string | null;
  arch: string | null;
  archCode: number | null;
  vendorClass: string | null;
  ip: string | null;
  firstSeen: number;
  lastSeen: number;
  attempts: number;
  decidedAt: number | null;
  decidedBy: string | null;
  /** The appliance (server.name) that saw it last. */
  seenBy: string | null;
}

/** One device's sightings since the last flush, merged in memory. */
export interface DeviceSighting {
  mac: string;
  guid: string | null;
  arch: string | null;
  archCode: number | null;
  vendorClass: string | null;
  ip: string | null;
  firstSeen: number;
  lastSeen: number;
  attempts: number;
}

interface Row {
  mac: string;
  status: DeviceStatus;
  guid: string | null;
  arch: string | null;
  arch_code: number | null;
  vendor_class: string | null;
  ip: string | null;
  first_seen: number;
  last_seen: number;
  attempts: number;
  decided_at: number | null;
  decided_by: string | null;
  seen_by: string | null;
}

function fromRow(r: Row): DeviceRecord {
  return {
    mac: r.mac, status: r.status, guid: r.guid, arch: r.arch, archCode: r.arch_code, vendorClass: r.vendor_class, ip: r.ip,
    firstSeen: r.first_seen, lastSeen: r.last_seen, attempts: r.attempts, decidedAt: r.decided_at, decidedBy: r.decided_by,
    seenBy: r.seen_by ?? null,
  };
}

export class DevicesRepo {
  private readonly s;

  /** Prepared on first use: a store opened on an older schema (upgrade tests) has no seen_by yet. */
  private writes: { seen: SqlStatement; touchOnly: SqlStatement } | null = null;

  constructor(private readonly db: SqlDb, private readonly serverName: string | null = null) {
    this.s = {
      get: db.prepare('SELECT * FROM devices WHERE mac = ?'),
      list: db.prepare('SELECT * FROM devices ORDER BY first_seen, mac'),
      listBy: db.prepare('SELECT * FROM devices WHERE status = ? ORDER BY first_seen, mac'),
      macsBy: db.prepare('SELECT mac FROM devices WHERE status = ?'),
      setStatus: db.prepare('UPDATE devices SET status = ?, decided_at = ?, decided_by = ? WHERE mac = ?'),
      delete: db.prepare('DELETE FROM devices WHERE mac = ?'),
      deleteBy: db.prepare('DELETE FROM devices WHERE status = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM devices WHERE status = ?'),
      oldest: db.prepare('SELECT MIN(first_seen) AS t FROM devices WHERE status = ?'),
    };
  }

  private get w(): { seen: SqlStatement; touchOnly: SqlStatement } {
    const db = this.db;
    this.writes ??= {
      // A new device starts pending; a known one (pending or rejected) keeps its status and gains attempts.
      seen: db.prepare(`INSERT INTO devices (mac, status, guid, arch, arch_code, vendor_class, ip, first_seen, last_seen, attempts, seen_by)
        VALUES (@mac, 'pending', @guid, @arch, @archCode, @vendorClass, @ip, @firstSeen, @lastSeen, @attempts, @seenBy)
        ON CONFLICT(mac) DO UPDATE SET last_seen = MAX(devices.last_seen, excluded.last_seen), attempts = devices.attempts + excluded.attempts,
          seen_by = COALESCE(excluded.seen_by, devices.seen_by),
          guid = COALESCE(excluded.guid, devices.guid), arch = COALESCE(excluded.arch, devices.arch),
          arch_code = COALESCE(excluded.arch_code, devices.arch_code),
          vendor_class = COALESCE(excluded.vendor_class, devices.vendor_class), ip = COALESCE(excluded.ip, devices.ip)`),
      touchOnly: db.prepare(`UPDATE devices SET last_seen = MAX(last_seen, @lastSeen), attempts = attempts + @attempts,
          ip = COALESCE(@ip, ip), seen_by = COALESCE(@seenBy, seen_by) WHERE mac = @mac`),
    };
    return this.writes;
  }

  /** Records sightings; `insert` false only updates devices already recorded (e.g. rejected ones). */
  seen(s: DeviceSighting, insert: boolean): void {
    const seenBy = this.serverName;
    if (insert) this.w.seen.run({ ...s, seenBy });
    else this.w.touchOnly.run({ mac: s.mac, lastSeen: s.lastSeen, attempts: s.attempts, ip: s.ip, seenBy });
  }

  get(mac: string): DeviceRecord | undefined {
    const r = this.s.get.get(mac) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  list(status?: DeviceStatus): DeviceRecord[] {
    const rows = (status ? this.s.listBy.all(status) : this.s.list.all()) as Row[];
    return rows.map(fromRow);
  }

  macs(status: DeviceStatus): string[] {
    return (this.s.macsBy.all(status) as Array<{ mac: string }>).map((r) => r.mac);
  }

  setStatus(mac: string, status: DeviceStatus, at: number, by: string): boolean {
    return this.s.setStatus.run(status, at, by, mac).changes > 0;
  }

  delete(mac: string): boolean {
    return this.s.delete.run(mac).changes > 0;
  }

  deleteAll(status: DeviceStatus): number {
    return this.s.deleteBy.run(status).changes;
  }

  /** When the longest-waiting device of this status was first seen (index devices_by_status), or null. */
  oldestFirstSeen(status: DeviceStatus): number | null {
    return (this.s.oldest.get(status) as { t: number | null }).t;
  }

  count(status: DeviceStatus): number {
    return (this.s.count.get(status) as { n: number }).n;
  }
}

/** A sighting waiting to be written; `insert` false: only update a device already recorded (a rejected one knocking again). */
export interface QueuedSighting extends DeviceSighting {
  insert: boolean;
}

/** Folds a sighting into the queue of those waiting to be written: one entry per MAC, the newest facts kept. */
export function queueSighting(queue: Map<string, QueuedSighting>, s: DeviceSighting, insert: boolean): void {
  const prev = queue.get(s.mac);
  if (!prev) {
    queue.set(s.mac, { ...s, insert });
    return;
  }
  prev.lastSeen = Math.max(prev.lastSeen, s.lastSeen);
  prev.attempts += s.attempts;
  prev.guid = s.guid ?? prev.guid;
  prev.arch = s.arch ?? prev.arch;
  prev.archCode = s.archCode ?? prev.archCode;
  prev.vendorClass = s.vendorClass ?? prev.vendorClass;
  prev.ip = s.ip ?? prev.ip;
  prev.insert = prev.insert || insert;
}
