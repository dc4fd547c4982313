/**
 * The write side of the decision path: audit events and device sightings queue in memory and are
 * written in one transaction per flush (every `flushIntervalMs`, or at once when a batch fills).
 * A decision never waits for the disk; a flood is bounded (`queueMax` per flush, the excess counted
 * and summarised in one `suppressed` event), so it can neither exhaust memory nor stall the loop.
 */
import type { Logger } from '../log.js';
import { auditEvent, type AuditEventInput } from './audit.js';
import type { Store } from './db.js';
import type { DeviceSighting } from './devices.js';

export interface RecorderOptions {
  flushIntervalMs: number;
  /** Flush at once when this many events are queued. */
  batchSize: number;
  /** Events beyond this many between two flushes are dropped and counted. */
  queueMax: number;
  now: () => number;
  logger: Logger;
  /** MACs whose sightings must no longer be written (they became known computers meanwhile). */
  isKnown: (mac: string) => boolean;
  onDropped?: (n: number) => void;
}

interface Sighting extends DeviceSighting {
  /** false: only update a device already recorded (a rejected one knocking again). */
  insert: boolean;
}

export class Recorder {
  private events: AuditEventInput[] = [];
  private sightings = new Map<string, Sighting>();
  private dropped = 0;
  private failures = 0;
  private immediate: NodeJS.Immediate | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly store: Store, private readonly opts: RecorderOptions) {
    this.timer = setInterval(() => this.flush(), opts.flushIntervalMs);
    this.timer.unref();
  }

  get queued(): number {
    return this.events.length;
  }

  /** MACs seen as new pending devices but not yet written (they count against the pending bound). */
  unflushedPending(): string[] {
    return [...this.sightings.values()].filter((s) => s.insert).map((s) => s.mac);
  }

  event(e: AuditEventInput): void {
    if (this.events.length >= this.opts.queueMax) {
      this.dropped += 1;
      this.opts.onDropped?.(1);
      return;
    }
    this.events.push(e);
    if (this.events.length >= this.opts.batchSize && !this.immediate) {
      this.immediate = setImmediate(() => {
        this.immediate = null;
        this.flush();
      });
    }
  }

  sighting(s: DeviceSighting, insert: boolean): void {
    const prev = this.sightings.get(s.mac);
    if (!prev) {
      // The map is bounded by the pending bound (insert) or the rejected list (touch) the policy enforces.
      this.sightings.set(s.mac, { ...s, insert });
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

  /** Writes everything queued in one transaction. Never throws: on failure the batch is kept once, then dropped. */
  flush(): void {
    if (this.events.length === 0 && this.sightings.size === 0 && this.dropped === 0) return;
    if (!this.store.isOpen) return;
    // Decided before the transaction: isKnown() may rebuild the policy snapshot, which reads the store.
    const stale = [...this.sightings.keys()].filter((mac) => this.opts.isKnown(mac));
    for (const mac of stale) this.sightings.delete(mac);
    const events = this.events;
    const sightings = this.sightings;
    const dropped = this.dropped;
    this.events = [];
    this.sightings = new Map();
    this.dropped = 0;
    try {
      this.store.tx(() => {
        for (const e of events) this.store.audit.insert(e);
        for (const s of sightings.values()) {
          const { insert, ...sighting } = s;
          this.store.devices.seen(sighting, insert);
        }
        if (dropped > 0) {
          this.store.audit.insert(auditEvent({ at: this.opts.now(), type: 'suppressed', detail: `${dropped} decision events not recorded (queue full)` }));
        }
      });
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      // SQLITE_BUSY (the CLI holds the write lock) is worth one retry; anything repeated is dropped, not hoarded.
      if (this.failures === 1) {
        this.events = events.concat(this.events).slice(0, this.opts.queueMax);
        for (const [mac, s] of sightings) if (!this.sightings.has(mac)) this.sightings.set(mac, s);
        this.dropped += dropped;
      } else {
        this.opts.onDropped?.(events.length);
      }
      this.opts.logger.error({ err: (err as Error).message, events: events.length, failures: this.failures }, 'audit flush failed');
    }
  }

  close(): void {
    clearInterval(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    this.flush();
  }
}
