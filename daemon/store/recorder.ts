/**
 * The write side of the decision path: audit events and device sightings queue in memory and are
 * written every `flushIntervalMs`, or as soon as a batch fills. A decision never waits for the disk;
 * a flood is bounded (`queueMax` queued, the excess counted and summarised in one `suppressed` event),
 * so it can neither exhaust memory nor stall the loop.
 *
 * The timer's writes go in chunks of `chunk` events, one transaction each, with the event loop free in
 * between: SQLite is synchronous, and 1,250 events in one transaction held the DHCP doors for 5-7 ms
 * (an index insert costs 4-15 µs as the table grows), long enough for a storm's replies to leave in one
 * burst. A chunk carries its events' device sightings with it, so a decision and the pending device it
 * recorded still commit together. `flush()` (shutdown, admin reads, tests) writes everything at once.
 */
import type { Logger } from '../log.js';
import { BEAT_UPSERT, beatParams, type ApplianceBeat } from './appliances.js';
import { auditEvent, type AuditEventInput } from './audit.js';
import type { Store } from './db.js';
import { queueSighting, type DeviceSighting, type QueuedSighting } from './devices.js';

export interface RecorderOptions {
  flushIntervalMs: number;
  /** Flush at once when this many events are queued. */
  batchSize: number;
  /** Events beyond this many queued are dropped and counted. */
  queueMax: number;
  /** Events per transaction when the timer writes (default 256: about a millisecond of SQLite). */
  chunk?: number;
  now: () => number;
  logger: Logger;
  /** MACs whose sightings must no longer be written (they became known computers meanwhile). */
  isKnown: (mac: string) => boolean;
  onDropped?: (n: number) => void;
}


const DEFAULT_CHUNK = 256;
/** Written events kept at the head of the queue array before it is compacted. */
const COMPACT_AT = 4096;

export class Recorder {
  private events: AuditEventInput[] = [];
  /** Events before this index are written (the queue is consumed from the head, chunk by chunk). */
  private head = 0;
  private sightings = new Map<string, QueuedSighting>();
  /** The latest heartbeat not yet written (a newer one replaces it). */
  private beat: ApplianceBeat | null = null;
  private dropped = 0;
  private failures = 0;
  private immediate: NodeJS.Immediate | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly store: Store, private readonly opts: RecorderOptions) {
    this.timer = setInterval(() => this.writeSome(), opts.flushIntervalMs);
    this.timer.unref();
  }

  get queued(): number {
    return this.events.length - this.head;
  }

  /** MACs seen as new pending devices but not yet written (they count against the pending bound). */
  unflushedPending(): string[] {
    return [...this.sightings.values()].filter((s) => s.insert).map((s) => s.mac);
  }

  event(e: AuditEventInput): void {
    if (this.queued >= this.opts.queueMax) {
      this.dropped += 1;
      this.opts.onDropped?.(1);
      return;
    }
    this.events.push(e);
    if (this.queued >= this.opts.batchSize) this.writeLater();
  }

  private writeLater(): void {
    if (this.immediate) return;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.writeSome();
    });
  }

  /**
   * What the timer does: writes one chunk now and leaves the rest to the next turns of the event loop,
   * so packets that arrived meanwhile are answered in between.
   */
  writeSome(): void {
    if (this.write(this.opts.chunk ?? DEFAULT_CHUNK) && this.pendingWrites()) this.writeLater();
  }

  private pendingWrites(): boolean {
    return this.queued > 0 || this.sightings.size > 0 || this.dropped > 0 || this.beat !== null;
  }

  /** This appliance's heartbeat row, written with the next batch. */
  heartbeat(b: ApplianceBeat): void {
    this.beat = b;
  }

  sighting(s: DeviceSighting, insert: boolean): void {
    // The queue is bounded by the pending bound (insert) or the rejected list (touch) the policy enforces.
    queueSighting(this.sightings, s, insert);
  }

  /** Writes everything queued in one transaction. Never throws: on failure the batch is kept once, then dropped. */
  flush(): void {
    this.write(Infinity);
  }

  /**
   * Writes up to `limit` events from the head of the queue, with their sightings (and, when the queue
   * empties, every other sighting and the count of dropped events), in one transaction. Returns whether
   * it wrote (false: nothing to do, store closed, or the transaction failed).
   */
  private write(limit: number): boolean {
    if (!this.pendingWrites()) return false;
    if (!this.store.isOpen) return false;
    const end = Math.min(this.events.length, this.head + limit);
    const events = this.events.slice(this.head, end);
    const all = end === this.events.length;
    let sightings: Map<string, QueuedSighting>;
    if (all) {
      sightings = this.sightings;
      this.sightings = new Map();
      this.events = [];
      this.head = 0;
    } else {
      sightings = new Map();
      for (const e of events) {
        const s = e.mac === null ? undefined : this.sightings.get(e.mac);
        if (s === undefined) continue;
        sightings.set(s.mac, s);
        this.sightings.delete(s.mac);
      }
      this.head = end;
      // A storm may never let the queue run empty: drop the written head now and then.
      if (this.head >= COMPACT_AT && this.head * 2 >= this.events.length) {
        this.events = this.events.slice(this.head);
        this.head = 0;
      }
    }
    // Only the sightings this write takes are checked, before the transaction: isKnown() may rebuild
    // the policy snapshot, which reads the store. A MAC that became a known computer is not written.
    for (const mac of [...sightings.keys()]) if (this.opts.isKnown(mac)) sightings.delete(mac);
    const dropped = all ? this.dropped : 0;
    if (all) this.dropped = 0;
    const beat = this.beat;
    this.beat = null;
    try {
      this.store.tx(() => {
        if (beat) this.store.db.prepare(BEAT_UPSERT).run(...beatParams(beat));
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
      return true;
    } catch (err) {
      this.failures += 1;
      // SQLITE_BUSY (the CLI holds the write lock) is worth one retry; anything repeated is dropped, not hoarded.
      if (this.failures === 1) {
        this.events = events.concat(this.events.slice(this.head)).slice(0, this.opts.queueMax);
        this.head = 0;
        for (const [mac, s] of sightings) if (!this.sightings.has(mac)) this.sightings.set(mac, s);
        this.dropped += dropped;
        this.beat ??= beat;
      } else {
        this.opts.onDropped?.(events.length);
      }
      this.opts.logger.error({ err: (err as Error).message, events: events.length, failures: this.failures }, 'audit flush failed');
      return false;
    }
  }

  close(): void {
    clearInterval(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    this.flush();
  }
}
