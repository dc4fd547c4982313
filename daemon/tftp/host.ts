/**
 * A set of running transfers with one chunk cache: the body of a worker thread, or of the main thread
 * when `workers: 0`. It reports what the main thread needs as plain messages: progress for `sessions()`,
 * metric increments (prom-client lives in the main thread's registry), and each transfer's end.
 */
import { ChunkCache } from '../files/cache.js';
import { Transfer, type TransferEnd, type TransferJob } from './transfer.js';
import { PortClaims } from './transport.js';
import { DirectLoop } from './directloop.js';
import { loadSyncIo } from './syncio.js';

export type HostCommand =
  | { type: 'start'; job: TransferJob }
  | { type: 'abort'; id: number; message: string }
  | { type: 'abort-all'; message: string };

export type HostReport =
  | {
      type: 'progress';
      /** [transfer id, payload bytes sent so far] */
      sessions: Array<[number, number]>;
      /** Increments since the last report. */
      bytes: number;
      retransmits: number;
      strangers: number;
    }
  | { type: 'end'; end: TransferEnd; bytes: number; retransmits: number }
  /** A warm-up transfer (TransferJob.quiet) ended: nothing of it goes to progress or metrics. */
  | { type: 'warmed'; end: TransferEnd };

/** How often progress and metric increments are reported. */
export const REPORT_INTERVAL_MS = 250;

interface Running {
  transfer: Transfer;
  reportedBytes: number;
  reportedRetransmits: number;
}

export interface HostOptions {
  cacheBytes: number;
  claims: SharedArrayBuffer | null;
  emit: (r: HostReport) => void;
  /**
   * The host owns its thread (a worker): a lock-step transfer that is the only one here may hold the
   * thread in its synchronous loop (transfer.ts). False in the main thread, which serves the request socket.
   */
  mayBlock?: boolean;
  /** The commands queued for this host so far, taken without an event-loop turn (TransferHooks.pollCommands). */
  takeCommands?: () => HostCommand[];
}

export class TransferHost {
  private readonly cache: ChunkCache;
  private readonly claims: PortClaims | null;
  private readonly running = new Map<number, Running>();
  private strangers = 0;
  private readonly ticker: NodeJS.Timeout;
  /** Direct receive for this thread's transfers (worker threads only; see directloop.ts). */
  private readonly direct: DirectLoop | null;

  constructor(private readonly opts: HostOptions) {
    this.cache = new ChunkCache({ budgetBytes: opts.cacheBytes });
    this.claims = opts.claims === null ? null : new PortClaims(opts.claims);
    this.ticker = setInterval(() => this.report(), REPORT_INTERVAL_MS);
    this.ticker.unref();
    const io = opts.mayBlock === true ? loadSyncIo() : null;
    this.direct = io === null ? null : new DirectLoop(io);
  }

  handle(cmd: HostCommand): void {
    switch (cmd.type) {
      case 'start':
        this.start(cmd.job);
        return;
      case 'abort':
        this.running.get(cmd.id)?.transfer.abort(cmd.message);
        return;
      case 'abort-all':
        for (const r of [...this.running.values()]) r.transfer.abort(cmd.message);
        return;
    }
  }

  private start(job: TransferJob): void {
    const take = this.opts.takeCommands;
    const transfer = new Transfer(job, this.cache, {
      onEnd: (end) => this.ended(end),
      onStranger: () => {
        this.strangers += 1;
      },
      ...(this.opts.mayBlock === true ? { mayBlock: () => this.running.size === 1 } : {}),
      ...(this.opts.mayBlock === true && take !== undefined ? { pollCommands: () => take().forEach((cmd) => this.handle(cmd)) } : {}),
      ...(this.direct !== null ? { direct: this.direct } : {}),
    });
    this.running.set(job.id, { transfer, reportedBytes: 0, reportedRetransmits: 0 });
    void transfer.start(this.claims);
  }

  private ended(end: TransferEnd): void {
    const r = this.running.get(end.id);
    this.running.delete(end.id);
    if (r?.transfer.job.quiet === true) {
      this.opts.emit({ type: 'warmed', end });
      return;
    }
    const bytes = r === undefined ? 0 : end.bytes - r.reportedBytes;
    const retransmits = r === undefined ? 0 : end.retransmits - r.reportedRetransmits;
    this.opts.emit({ type: 'end', end, bytes, retransmits });
  }

  report(): void {
    if (this.running.size === 0 && this.strangers === 0) return;
    let bytes = 0;
    let retransmits = 0;
    const sessions: Array<[number, number]> = [];
    for (const [id, r] of this.running) {
      if (r.transfer.job.quiet === true) continue;
      const b = r.transfer.bytesSent;
      const x = r.transfer.retransmits;
      bytes += b - r.reportedBytes;
      retransmits += x - r.reportedRetransmits;
      r.reportedBytes = b;
      r.reportedRetransmits = x;
      sessions.push([id, b]);
    }
    const strangers = this.strangers;
    this.strangers = 0;
    this.opts.emit({ type: 'progress', sessions, bytes, retransmits, strangers });
  }

  get size(): number {
    return this.running.size;
  }

  cacheStats() {
    return this.cache.stats();
  }

  /** Packets read by the direct receive loop so far (0 without one). */
  get directReceived(): number {
    return this.direct?.received ?? 0;
  }

  stop(): void {
    clearInterval(this.ticker);
    this.direct?.close();
  }
}
