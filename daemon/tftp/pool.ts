/**
 * Where transfers run: N worker threads (config.tftp.workers), or the main thread when N is 0. Each
 * transfer goes to the runner with the fewest live transfers. A worker that dies takes its transfers
 * with it (they end as 'error') and is replaced.
 */
import { Worker } from 'node:worker_threads';
import { TransferHost, type HostCommand, type HostReport } from './host.js';
import type { TransferJob } from './transfer.js';

export interface TransferPool {
  /** Worker threads (0: transfers run on the main thread). */
  readonly lanes: number;
  start(job: TransferJob): void;
  /** Starts a transfer on worker `lane` (0 <= lane < lanes), whatever the others carry (warm-up). */
  startOn(lane: number, job: TransferJob): void;
  abort(id: number, message: string): void;
  abortAll(message: string): void;
  close(): Promise<void>;
}

/** V8 young generation per worker thread, MB (see spawn()). */
const WORKER_YOUNG_GENERATION_MB = 4;

interface Lane {
  worker: Worker | null;
  live: Set<number>;
}

export interface PoolOptions {
  workers: number;
  cacheBytes: number;
  claims: SharedArrayBuffer;
  onReport: (r: HostReport) => void;
  /** A worker died: these transfers ended without a report. */
  onLost: (ids: number[], why: string) => void;
}

class InlinePool implements TransferPool {
  readonly lanes = 0;
  private readonly host: TransferHost;
  constructor(opts: PoolOptions) {
    this.host = new TransferHost({ cacheBytes: opts.cacheBytes, claims: opts.claims, emit: opts.onReport });
  }
  start(job: TransferJob): void {
    this.host.handle({ type: 'start', job });
  }
  startOn(_lane: number, job: TransferJob): void {
    this.start(job);
  }
  abort(id: number, message: string): void {
    this.host.handle({ type: 'abort', id, message });
  }
  abortAll(message: string): void {
    this.host.handle({ type: 'abort-all', message });
  }
  async close(): Promise<void> {
    this.host.report();
    this.host.stop();
  }
}

class WorkerPool implements TransferPool {
  private readonly laneList: Lane[] = [];
  private readonly laneOf = new Map<number, Lane>();
  private closing = false;

  constructor(private readonly opts: PoolOptions) {
    for (let i = 0; i < opts.workers; i++) {
      const lane: Lane = { worker: null, live: new Set() };
      this.laneList.push(lane);
      this.spawn(lane);
    }
  }

  private spawn(lane: Lane): void {
    const perWorker = Math.floor(this.opts.cacheBytes / this.opts.workers);
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { cacheBytes: perWorker, claims: this.opts.claims },
      // A transfer's garbage is small and short-lived (state copies, packet views): a small young
      // generation keeps each worker's heap from growing to V8's default semi-spaces (measured: -40 MB
      // peak RSS with 40 clients, no throughput change).
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    lane.worker = worker;
    worker.on('message', (r: HostReport) => {
      if (r.type === 'end' || r.type === 'warmed') {
        lane.live.delete(r.end.id);
        this.laneOf.delete(r.end.id);
      }
      this.opts.onReport(r);
    });
    worker.on('error', () => undefined);
    worker.on('exit', (code) => {
      if (lane.worker !== worker) return;
      lane.worker = null;
      const lost = [...lane.live];
      lane.live.clear();
      for (const id of lost) this.laneOf.delete(id);
      if (lost.length > 0) this.opts.onLost(lost, `worker exited with code ${code}`);
      if (!this.closing) this.spawn(lane);
    });
  }

  private post(lane: Lane, cmd: HostCommand): void {
    lane.worker?.postMessage(cmd);
  }

  get lanes(): number {
    return this.laneList.length;
  }

  start(job: TransferJob): void {
    let best = this.laneList[0] as Lane;
    for (const lane of this.laneList) if (lane.live.size < best.live.size) best = lane;
    this.startIn(best, job);
  }

  startOn(lane: number, job: TransferJob): void {
    this.startIn(this.laneList[lane] ?? (this.laneList[0] as Lane), job);
  }

  private startIn(lane: Lane, job: TransferJob): void {
    lane.live.add(job.id);
    this.laneOf.set(job.id, lane);
    this.post(lane, { type: 'start', job });
  }

  abort(id: number, message: string): void {
    const lane = this.laneOf.get(id);
    if (lane !== undefined) this.post(lane, { type: 'abort', id, message });
  }

  abortAll(message: string): void {
    for (const lane of this.laneList) this.post(lane, { type: 'abort-all', message });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.laneList.map((l) => l.worker?.terminate()));
  }
}

export function createPool(opts: PoolOptions): TransferPool {
  return opts.workers > 0 ? new WorkerPool(opts) : new InlinePool(opts);
}
