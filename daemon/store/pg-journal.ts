/**
 * The write side of the decision path on the shared store: audit events, device sightings and
 * consumed boot-once markers wait in a bounded local journal and go to PostgreSQL in batches every
 * `flushIntervalMs`, on the link's pool, never on the answer path. While the store is unreachable
 * they stay in the journal (up to `max` events; past it each dropped event is counted and the count
 * written as one `suppressed` event later) and are written when the link comes back, oldest first.
 * A batch is one transaction: it is written whole or not at all, and kept for the next try when it fails.
 *
 * A consumed marker is a fact (the machine fetched it), written with a conditional UPDATE: when two
 * appliances report the same machine, one row changes and one `boot-once` event is written.
 */
import type { Logger } from '../log.js';
import { BEAT_UPSERT, beatParams, type ApplianceBeat } from './appliances.js';
import { auditEvent, type AuditEventInput } from './audit.js';
import { queueSighting, type DeviceSighting, type QueuedSighting } from './devices.js';
import type { PgLink } from './pg-link.js';
import { toPostgres } from './pg-sql.js';

export interface Consumption {
  computer: string;
  profile: string;
  mac: string;
  by: string;
  at: number;
}

export interface JournalOptions {
  flushIntervalMs: number;
  /** Events kept at most while the store is away. */
  max: number;
  /** Events per transaction. */
  chunk?: number;
  now: () => number;
  logger: Logger;
  serverName: string;
  isKnown: (mac: string) => boolean;
  onDropped?: (n: number) => void;
  /** A consumption was written (true) or found already done by another appliance (false). */
  onConsumed?: (c: Consumption, first: boolean) => void;
  /** A batch that changed what the snapshot holds (devices, consumed markers) was committed. */
  onWritten?: () => void;
}


const BEAT_TEXT = toPostgres(BEAT_UPSERT).text;

const EVENT_COLUMNS = ['at', 'type', 'mac', 'door', 'decision', 'reason', 'profile', 'computer', 'ip', 'arch', 'actor', 'detail', 'server'] as const;

export class PgJournal {
  private events: AuditEventInput[] = [];
  private sightings = new Map<string, QueuedSighting>();
  private consumptions: Consumption[] = [];
  /** The latest heartbeat not yet written (a newer one replaces it; not counted as queued). */
  private beat: ApplianceBeat | null = null;
  private dropped = 0;
  private writing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly link: PgLink, private readonly opts: JournalOptions) {
    this.timer = setInterval(() => void this.write(), opts.flushIntervalMs);
    this.timer.unref();
    link.onState((up) => { if (up) void this.write(); });
  }

  /** Everything waiting: events, sightings and consumptions. */
  get queued(): number {
    return this.events.length + this.sightings.size + this.consumptions.length;
  }

  unflushedPending(): string[] {
    return [...this.sightings.values()].filter((s) => s.insert).map((s) => s.mac);
  }

  event(e: AuditEventInput): void {
    if (this.events.length >= this.opts.max) {
      this.dropped += 1;
      this.opts.onDropped?.(1);
      return;
    }
    this.events.push(e);
  }

  sighting(s: DeviceSighting, insert: boolean): void {
    queueSighting(this.sightings, s, insert);
  }

  /** This appliance's heartbeat row, written with the next batch (only the latest waits while the store is away). */
  heartbeat(b: ApplianceBeat): void {
    this.beat = b;
  }

  consumed(c: Consumption): void {
    this.consumptions.push(c);
    void this.write();
  }

  /**
   * Writes what is queued now (one batch after another) and resolves when the journal is empty or the
   * store away. A batch that fails (a slow or busy database) is tried again a few times, 100 ms apart.
   */
  async drain(): Promise<void> {
    let stuck = 0;
    for (let i = 0; i < 10_000 && this.queued + this.dropped > 0 && this.link.up && stuck < 20; i++) {
      const before = this.queued + this.dropped;
      await this.write();
      if (this.queued + this.dropped < before) { stuck = 0; continue; }
      stuck += 1;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** One batch; concurrent calls share it. */
  write(): Promise<void> {
    if (this.writing) return this.writing;
    if ((this.queued + this.dropped === 0 && this.beat === null) || !this.link.up) return Promise.resolve();
    this.writing = this.writeBatch().finally(() => { this.writing = null; });
    return this.writing;
  }

  private async writeBatch(): Promise<void> {
    const chunk = this.opts.chunk ?? 1000;
    const events = this.events.slice(0, chunk);
    const all = events.length === this.events.length;
    // Sightings leave the map for the batch (new ones merge into a fresh entry) and come back on failure.
    const sightings = all ? [...this.sightings.values()] : [];
    if (all) this.sightings = new Map();
    const restore = () => {
      for (const s of sightings) this.sighting(s, s.insert);
      this.beat ??= beat;
    };
    const consumptions = [...this.consumptions];
    const beat = this.beat;
    this.beat = null;
    const dropped = all ? this.dropped : 0;
    const kept = sightings.filter((s) => !this.opts.isKnown(s.mac));
    let client;
    try {
      client = await this.link.pool.connect();
    } catch (err) {
      restore();
      this.opts.logger.warn({ err: (err as Error).message, queued: this.queued }, 'journal not written (store unreachable); kept for later');
      return;
    }
    const done: Array<{ c: Consumption; first: boolean }> = [];
    try {
      await client.query('BEGIN');
      if (beat) await client.query(BEAT_TEXT, beatParams(beat));
      if (dropped > 0) events.push(auditEvent({ at: this.opts.now(), type: 'suppressed', detail: `${dropped} decision events not recorded (journal full)` }));
      if (events.length > 0) {
        const values: unknown[] = [];
        const rows = events.map((e, i) => {
          const row = { ...e, server: e.server ?? this.opts.serverName } as Record<string, unknown>;
          for (const c of EVENT_COLUMNS) values.push(row[c] ?? null);
          return `(${EVENT_COLUMNS.map((_, j) => `$${i * EVENT_COLUMNS.length + j + 1}`).join(', ')})`;
        });
        await client.query(`INSERT INTO audit_events (${EVENT_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`, values);
      }
      for (const s of kept) {
        const args = [s.mac, s.guid, s.arch, s.archCode, s.vendorClass, s.ip, s.firstSeen, s.lastSeen, s.attempts, this.opts.serverName];
        if (s.insert) {
          // A MAC that became a known computer meanwhile (approved on any appliance) is not pending again.
          await client.query(`INSERT INTO devices (mac, status, guid, arch, arch_code, vendor_class, ip, first_seen, last_seen, attempts, seen_by)
            SELECT $1, 'pending', $2, $3, $4::integer, $5, $6, $7::bigint, $8::bigint, $9::integer, $10
            WHERE NOT EXISTS (SELECT 1 FROM computer_macs WHERE mac = $1)
            ON CONFLICT (mac) DO UPDATE SET last_seen = GREATEST(devices.last_seen, excluded.last_seen), attempts = devices.attempts + excluded.attempts,
              guid = COALESCE(excluded.guid, devices.guid), arch = COALESCE(excluded.arch, devices.arch), arch_code = COALESCE(excluded.arch_code, devices.arch_code),
              vendor_class = COALESCE(excluded.vendor_class, devices.vendor_class), ip = COALESCE(excluded.ip, devices.ip), seen_by = excluded.seen_by`, args);
        } else {
          await client.query(`UPDATE devices SET last_seen = GREATEST(last_seen, $2), attempts = attempts + $3, ip = COALESCE($4, ip), seen_by = $5 WHERE mac = $1`,
            [s.mac, s.lastSeen, s.attempts, s.ip, this.opts.serverName]);
        }
      }
      for (const c of consumptions) {
        const r = await client.query(`UPDATE computers SET boot_once_consumed_at = $1, boot_once_consumed_by = $2, updated_at = $1
          WHERE name = $3 AND profile = $4 AND boot_once_consumed_at IS NULL RETURNING name, profile`, [c.at, c.by, c.computer, c.profile]);
        const first = (r.rowCount ?? 0) > 0;
        if (first) {
          await client.query(`INSERT INTO audit_events (at, type, mac, computer, profile, actor, detail, server) VALUES ($1, 'boot-once', $2, $3, $4, 'marker', $5, $6)`,
            [c.at, c.mac, c.computer, c.profile, `consumed (${c.by})`, this.opts.serverName]);
        }
        done.push({ c, first });
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      restore();
      this.opts.logger.warn({ err: (err as Error).message, queued: this.queued }, 'journal batch not written; kept for the next try');
      return;
    }
    client.release();
    // Written: take exactly what the batch held off the journal (more may have arrived meanwhile).
    this.events.splice(0, events.length - (dropped > 0 ? 1 : 0));
    if (all) this.dropped -= dropped;
    this.consumptions.splice(0, consumptions.length);
    for (const d of done) this.opts.onConsumed?.(d.c, d.first);
    // Our own change is known now; the change feed will say so too, a moment later.
    if (consumptions.length > 0 || kept.length > 0) this.opts.onWritten?.();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
