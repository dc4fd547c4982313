/**
 * The metric catalogue (README "Metrics"): one registry per daemon, no global state, every metric
 * here is incremented somewhere. Names follow bootgate_<area>_<what>_<unit>; no label carries a MAC,
 * IP or file name, so cardinality stays bounded.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type HistogramConfiguration, type LabelValues } from 'prom-client';

interface TallyCell<T extends string> {
  labels: LabelValues<T>;
  n: number;
}

/**
 * A counter for the packet path: `tally()` adds to a plain number found by the label values themselves
 * (one small Map per label, no label string built or checked per packet), and the tallies go into the
 * counter when anything reads it (its `collect` hook: every scrape, `get()`, `registry.metrics()`), so a
 * reader always sees every increment. prom-client's own `inc()` hashes and validates the labels each time:
 * three such counts per DISCOVER were 2.6% of the daemon's time at 25,000 DISCOVERs a second.
 */
export class TalliedCounter<T extends string> extends Counter<T> {
  private readonly root = new Map<string, unknown>();
  private readonly cells: Array<TallyCell<T>> = [];
  private readonly names: readonly T[];

  constructor(config: CounterConfiguration<T> & { labelNames: readonly T[] }) {
    super({
      ...config,
      // prom-client calls it on the metric itself, before every read.
      collect(this: Counter<T>) {
        (this as TalliedCounter<T>).flushTallies();
      },
    });
    if (config.labelNames.length < 1 || config.labelNames.length > 4) throw new RangeError('TalliedCounter: one to four labels');
    this.names = config.labelNames;
  }

  /** Adds one for these label values, given in the order of `labelNames` (up to four). */
  tally(a: string, b?: string, c?: string, d?: string): void {
    const names = this.names;
    let level = this.root;
    for (let i = 0; i < names.length - 1; i += 1) {
      const v = i === 0 ? a : i === 1 ? b : c;
      let next = level.get(v as string) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(v as string, next);
      }
      level = next;
    }
    const last = (names.length === 1 ? a : names.length === 2 ? b : names.length === 3 ? c : d) as string;
    let cell = level.get(last) as TallyCell<T> | undefined;
    if (cell === undefined) {
      const labels: Partial<Record<T, string>> = {};
      const values = [a, b, c, d];
      names.forEach((name, i) => { labels[name] = values[i] as string; });
      cell = { labels: labels as LabelValues<T>, n: 0 };
      level.set(last, cell);
      this.cells.push(cell);
    }
    cell.n += 1;
  }

  private flushTallies(): void {
    for (const cell of this.cells) {
      if (cell.n === 0) continue;
      this.inc(cell.labels, cell.n);
      cell.n = 0;
    }
  }
}

interface HistogramTally<T extends string> {
  labels: LabelValues<T>;
  /** Per bucket (the last one: above every bound): how many values, and their sum. */
  counts: Float64Array;
  sums: Float64Array;
  pending: number;
}

/** What prom-client 15 keeps per label set of a histogram (read only to add a tally in bulk). */
interface HistogramEntry {
  labels: Record<string, unknown>;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/**
 * A one-label histogram for the packet path, tallied like TalliedCounter: `tally()` finds the bucket and
 * adds to plain numbers; the tallies go into the histogram when anything reads it, as bucket counts,
 * sum and count in one step per label value. prom-client's `observe()` makes a closure, a label hash
 * string and a labels object per value (with the counters, 2-3% of the daemon's time in a storm).
 */
export class TalliedHistogram<T extends string> extends Histogram<T> {
  private readonly bounds: number[];
  private readonly tallies = new Map<string, HistogramTally<T>>();
  private readonly label: T;

  constructor(config: HistogramConfiguration<T> & { labelNames: readonly [T]; buckets: number[] }) {
    super({
      ...config,
      // prom-client calls it on the metric itself, before every read.
      collect(this: Histogram<T>) {
        (this as TalliedHistogram<T>).flushTallies();
      },
    });
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    this.label = config.labelNames[0];
  }

  tally(labelValue: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let t = this.tallies.get(labelValue);
    if (t === undefined) {
      t = { labels: { [this.label]: labelValue } as LabelValues<T>, counts: new Float64Array(this.bounds.length + 1), sums: new Float64Array(this.bounds.length + 1), pending: 0 };
      this.tallies.set(labelValue, t);
    }
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i += 1;
    t.counts[i] = t.counts[i]! + 1;
    t.sums[i] = t.sums[i]! + value;
    t.pending += 1;
  }

  private flushTallies(): void {
    for (const t of this.tallies.values()) {
      if (t.pending === 0) continue;
      const entry = this.entryFor(t.labels);
      for (let i = 0; i < t.counts.length; i += 1) {
        const n = t.counts[i]!;
        if (n === 0) continue;
        if (entry !== null) {
          if (i < this.bounds.length) entry.bucketValues[this.bounds[i]!]! += n;
          entry.sum += t.sums[i]!;
          entry.count += n;
        } else {
          // Not the layout expected: the public way, each value at its bucket's mean (same buckets, sum, count).
          for (let k = 0; k < n; k += 1) this.observe(t.labels, t.sums[i]! / n);
        }
        t.counts[i] = 0;
        t.sums[i] = 0;
      }
      t.pending = 0;
    }
  }

  /** prom-client's entry for these labels (made by `zero()` if none yet), or null if its layout is not the one known. */
  private entryFor(labels: LabelValues<T>): HistogramEntry | null {
    const map = (this as unknown as { hashMap?: Record<string, HistogramEntry> }).hashMap;
    if (map === undefined || map === null) return null;
    const find = () => Object.values(map).find((e) => e?.labels?.[this.label] === labels[this.label]) ?? null;
    let entry = find();
    if (entry === null) {
      this.zero(labels);
      entry = find();
    }
    const ok = entry !== null && typeof entry.sum === 'number' && typeof entry.count === 'number' && entry.bucketValues !== null &&
      typeof entry.bucketValues === 'object' && this.bounds.every((b) => typeof entry.bucketValues[b] === 'number');
    return ok ? entry : null;
  }
}

export function createMetrics(registry: Registry = new Registry(), version = '0.0.0') {
  const m = {
    registry,
    dhcpPackets: new TalliedCounter({
      name: 'bootgate_dhcp_packets_total',
      help: 'DHCP/PXE packets received, by port (67 or 4011), message type and result (answered, ignored, delayed, malformed, dropped)',
      labelNames: ['port', 'type', 'result'] as const,
      registers: [registry],
    }),
    dhcpReplySeconds: new TalliedHistogram({
      name: 'bootgate_dhcp_reply_duration_seconds',
      help: 'Time from receiving a DHCP/PXE request to sending its reply (excluding a configured response delay)',
      labelNames: ['port'] as const,
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers: [registry],
    }),
    dhcpOffersHeld: new Counter({
      name: 'bootgate_dhcp_offers_held_total',
      help: 'Proxy offers held before sending, by reason (response-delay: server.responseDelaySeconds; coexist-delay: an unknown client under server.coexist delay)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    decisions: new TalliedCounter({
      name: 'bootgate_decisions_total',
      help: 'Policy decisions, by door, decision kind, reason and client architecture',
      labelNames: ['door', 'decision', 'reason', 'arch'] as const,
      registers: [registry],
    }),
    tftpTransfers: new Counter({
      name: 'bootgate_tftp_transfers_total',
      help: 'TFTP transfers ended, by result (ok, probe, error, timeout, aborted)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    tftpBytes: new Counter({
      name: 'bootgate_tftp_bytes_total',
      help: 'TFTP payload bytes sent (first transmissions only)',
      registers: [registry],
    }),
    tftpRetransmits: new Counter({
      name: 'bootgate_tftp_retransmits_total',
      help: 'TFTP DATA packets sent again after loss or timeout',
      registers: [registry],
    }),
    tftpDuration: new Histogram({
      name: 'bootgate_tftp_transfer_duration_seconds',
      help: 'Duration of completed TFTP transfers',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    tftpActive: new Gauge({
      name: 'bootgate_tftp_active_sessions',
      help: 'TFTP transfers in progress',
      registers: [registry],
    }),
    tftpRefused: new Counter({
      name: 'bootgate_tftp_refused_total',
      help: 'TFTP requests refused, by reason (not-found, access, write, limit-total, limit-client, bad-option, policy, malformed); limit-client ones are answered with an error packet',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    httpTransfers: new Counter({
      name: 'bootgate_http_transfers_total',
      help: 'HTTP boot file and script responses, by kind (file, script) and result (ok, not-found, refused, error)',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    httpBytes: new Counter({
      name: 'bootgate_http_bytes_total',
      help: 'HTTP boot file bytes sent',
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'bootgate_http_transfer_duration_seconds',
      help: 'Duration of HTTP boot file responses',
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers: [registry],
    }),
    httpSendfileFallbacks: new Counter({
      name: 'bootgate_http_sendfile_fallbacks_total',
      help: 'HTTP boot file bodies written through Node because sendfile could not take them (http.sendfile on)',
      registers: [registry],
    }),
    httpActive: new Gauge({
      name: 'bootgate_http_active_transfers',
      help: 'HTTP boot file responses in progress',
      registers: [registry],
    }),
    configReloads: new Counter({
      name: 'bootgate_config_reloads_total',
      help: 'Configuration reloads (SIGHUP or API), by result (ok, failed)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    ready: new Gauge({
      name: 'bootgate_ready',
      help: '1 when sockets are bound, the boot root is readable, the store is open and the profile unknown machines get has its files (what /readyz says), else 0',
      registers: [registry],
    }),
    profileMissingFiles: new Gauge({
      name: 'bootgate_profile_missing_files',
      help: 'Files a profile names (boot file per architecture, template, boot-once marker) that are not in the boot root, by profile; checked at start, on reload and on /readyz',
      labelNames: ['profile'] as const,
      registers: [registry],
    }),
    buildInfo: new Gauge({
      name: 'bootgate_build_info',
      help: 'Always 1; labels carry the version and Node.js version',
      labelNames: ['version', 'node'] as const,
      registers: [registry],
    }),
  };
  m.buildInfo.set({ version, node: process.version }, 1);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Process metrics (CPU, memory, event loop lag) on the same registry; the daemon calls it once. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: 'bootgate_' });
}
