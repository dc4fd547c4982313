/**
 * The live boot feed behind the console's "Boots now" page: every step of every machine's boot as it
 * happens (the decision at each door with its reason, TFTP progress, finished TFTP/HTTP transfers,
 * boot-once consumed, admin changes), kept per machine in a bounded ring and pushed to subscribers
 * (the page's server-sent event streams). A slow subscriber never slows a door: publishing only
 * appends and calls listeners that queue.
 */
import { LruMap } from '../../lru.js';
import type { ClientInfo, Decision } from '../../policy/types.js';

export type BootEventKind = 'decision' | 'progress' | 'transfer' | 'boot-once' | 'admin' | 'password';

export interface BootEvent {
  id: number;
  at: number;
  kind: BootEventKind;
  mac: string | null;
  ip: string | null;
  /** dhcp (67), pxe (4011), tftp, http, ipxe-script, api. */
  door: string | null;
  decision: string | null;
  reason: string | null;
  profile: string | null;
  computer: string | null;
  arch: string | null;
  file: string | null;
  bytes: number | null;
  size: number | null;
  /** Bytes per second over the last interval (progress) or the whole transfer (transfer). */
  rate: number | null;
  /** ok, error, timeout, ... for a finished transfer; free text for admin changes. */
  detail: string | null;
}

export type BootEventInput = Partial<Omit<BootEvent, 'id' | 'at' | 'kind'>> & { kind: BootEventKind; at?: number };

export interface MachineView {
  mac: string;
  ip: string | null;
  arch: string | null;
  profile: string | null;
  computer: string | null;
  lastDecision: string | null;
  lastReason: string | null;
  firstAt: number;
  lastAt: number;
  events: BootEvent[];
}

export interface FeedLimits {
  /** Machines kept (the least recently active go first). */
  machines: number;
  /** Events kept per machine. */
  perMachine: number;
  /** Events kept for replay to a reconnecting stream (Last-Event-ID). */
  recent: number;
}

const DEFAULT_FEED_LIMITS: FeedLimits = { machines: 2000, perMachine: 60, recent: 5000 };

export type FeedListener = (e: BootEvent) => void;

export class BootFeed {
  private nextId = 1;
  /** Least recently active first; a flood of new MACs evicts the oldest without walking the table. */
  private readonly machines: LruMap<string, MachineView>;
  /**
   * The last `limits.recent` events, oldest overwritten first: a ring, because publishing runs for every
   * decision of every door, and dropping the oldest of a full array moved all the others each time.
   */
  private readonly recent: Array<BootEvent | undefined>;
  /** Where the next event goes in `recent`, and how many it holds. */
  private head = 0;
  private held = 0;
  private readonly listeners = new Set<FeedListener>();

  constructor(private readonly now: () => number = Date.now, private readonly limits: FeedLimits = DEFAULT_FEED_LIMITS) {
    this.recent = new Array<BootEvent | undefined>(Math.max(1, limits.recent)).fill(undefined);
    this.machines = new LruMap(Math.max(1, limits.machines));
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  subscribe(fn: FeedListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  publish(input: BootEventInput): BootEvent {
    // Every field written out, in one order: one object shape for every event (spreads made many).
    return this.add({
      id: this.nextId++, at: input.at ?? this.now(), kind: input.kind,
      mac: input.mac ?? null, ip: input.ip ?? null, door: input.door ?? null, decision: input.decision ?? null,
      reason: input.reason ?? null, profile: input.profile ?? null, computer: input.computer ?? null, arch: input.arch ?? null,
      file: input.file ?? null, bytes: input.bytes ?? null, size: input.size ?? null, rate: input.rate ?? null, detail: input.detail ?? null,
    });
  }

  /**
   * What a decision adds to the feed; routine non-PXE DHCP traffic adds nothing. The event is built
   * straight from the decision: this runs for every packet a door answers, and going through publish()
   * made an input object first and read it back field by field from call sites of many shapes.
   */
  publishDecision(client: ClientInfo, d: Decision): BootEvent | null {
    if (d.kind === 'ignore' && d.reason === 'not-pxe') return null;
    return this.add({
      id: this.nextId++, at: this.now(), kind: 'decision',
      mac: client.mac, ip: client.ip, door: client.door, decision: d.kind, reason: d.reason,
      profile: 'profile' in d ? d.profile : null,
      computer: 'computer' in d ? d.computer : null,
      arch: client.arch ?? (client.archCode === null ? null : String(client.archCode)),
      file: 'target' in d ? d.target.path : 'script' in d && d.script ? d.script.path : null,
      bytes: null, size: null, rate: null, detail: null,
    });
  }

  private add(e: BootEvent): BootEvent {
    this.recent[this.head] = e;
    this.head = (this.head + 1) % this.recent.length;
    if (this.held < this.recent.length) this.held += 1;
    if (e.mac !== null) this.remember(e, e.mac);
    if (this.listeners.size === 0) return e;
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        // A broken stream is closed by its own handler; it never costs the others their event.
      }
    }
    return e;
  }

  private remember(e: BootEvent, mac: string): void {
    let m = this.machines.get(mac);
    const first = m === undefined;
    if (m === undefined) {
      // Born holding its first event: an empty array's first push reserves room for 17, and in a flood of
      // new MACs every machine lives long enough to be copied into the old generation.
      m = { mac, ip: null, arch: null, profile: null, computer: null, lastDecision: null, lastReason: null, firstAt: e.at, lastAt: e.at, events: [e] };
      this.machines.set(mac, m);
    }
    m.lastAt = e.at;
    m.ip = e.ip ?? m.ip;
    m.arch = e.arch ?? m.arch;
    m.profile = e.profile ?? m.profile;
    m.computer = e.computer ?? m.computer;
    if (e.kind === 'decision') {
      m.lastDecision = e.decision;
      m.lastReason = e.reason;
    }
    if (first && this.limits.perMachine >= 1) return;
    // Progress of one transfer replaces its previous progress line: the timeline shows the latest figure.
    const last = m.events[m.events.length - 1];
    if (e.kind === 'progress' && last?.kind === 'progress' && last.file === e.file) m.events.pop();
    m.events.push(e);
    // Audit events (approvals, boot-once) are read a moment after they happen: keep the timeline in time order.
    const prev = m.events[m.events.length - 2];
    if (prev && prev.at > e.at) m.events.sort((a, b) => a.at - b.at || a.id - b.id);
    const over = m.events.length - this.limits.perMachine;
    if (over === 1) m.events.shift();
    else if (over > 1) m.events.splice(0, over);
  }

  /** Every machine, most recently active first. */
  machinesView(): MachineView[] {
    return this.machines.newestFirst().map((m) => ({ ...m, events: [...m.events] }));
  }

  /** Events after `id` still held (for a stream that reconnects with Last-Event-ID). */
  since(id: number): BootEvent[] {
    const out: BootEvent[] = [];
    const size = this.recent.length;
    for (let i = 0, at = (this.head - this.held + size) % size; i < this.held; i += 1, at = (at + 1) % size) {
      const e = this.recent[at];
      if (e !== undefined && e.id > id) out.push(e);
    }
    return out;
  }

  get lastId(): number {
    return this.nextId - 1;
  }
}

export interface LiveTransfer {
  client: string;
  path: string;
  bytesSent: number;
  size: number;
  startedAt: number;
}

/** Reads `{client: "ip:port", path, bytesSent, size, startedAt}` from the doors' untyped session list. */
export function liveTransfers(list: unknown[]): LiveTransfer[] {
  const out: LiveTransfer[] = [];
  for (const s of list) {
    if (s === null || typeof s !== 'object') continue;
    const o = s as Record<string, unknown>;
    if (typeof o.client === 'string' && typeof o.path === 'string' && typeof o.bytesSent === 'number' && typeof o.size === 'number') {
      out.push({ client: o.client, path: o.path, bytesSent: o.bytesSent, size: o.size, startedAt: typeof o.startedAt === 'number' ? o.startedAt : 0 });
    }
  }
  return out;
}

/**
 * Turns periodic reads of the live transfers into progress events: one per transfer whose byte count
 * moved since the last read, with the rate over that interval.
 */
export class ProgressTracker {
  private last = new Map<string, { bytes: number; at: number }>();

  step(transfers: LiveTransfer[], at: number, macOfIp: (ip: string) => string | undefined): BootEventInput[] {
    const next = new Map<string, { bytes: number; at: number }>();
    const out: BootEventInput[] = [];
    for (const t of transfers) {
      const key = `${t.client} ${t.path}`;
      const prev = this.last.get(key);
      next.set(key, { bytes: t.bytesSent, at });
      if (prev && prev.bytes === t.bytesSent) continue;
      const ip = t.client.replace(/:\d+$/, '');
      const from = prev ?? { bytes: 0, at: t.startedAt || at };
      const secs = (at - from.at) / 1000;
      out.push({
        kind: 'progress', at, mac: macOfIp(ip) ?? null, ip, door: 'tftp', file: t.path, bytes: t.bytesSent, size: t.size,
        rate: secs > 0 ? Math.round((t.bytesSent - from.bytes) / secs) : null,
      });
    }
    this.last = next;
    return out;
  }
}
