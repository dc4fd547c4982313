/**
 * WAL checkpoints off the DHCP thread. SQLite checkpoints at commit time once the WAL passes 1,000
 * pages: the committing thread copies the WAL into the main file and fsyncs it. In the daemon that
 * thread is the one answering DHCP, and a checkpoint held it for 10-12 ms on this machine's disk (on a
 * VM's network storage, far longer): a boot storm's replies then leave in one burst. The daemon turns
 * commit-time checkpoints off on its connection and a worker thread with its own connection runs a
 * PASSIVE checkpoint every `intervalMs` (never blocking the daemon's writes). If the worker cannot run
 * or dies, the daemon's connection checkpoints at commit again, as before, so the WAL never grows
 * without bound.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import type { CheckpointReport, CheckpointWorkerData } from './checkpoint-worker.js';
import type { Store } from './db.js';

export interface CheckpointerOptions {
  intervalMs?: number;
  logger: Logger;
  onReport?: (r: CheckpointReport) => void;
}

/** How long stop() waits for the worker's last checkpoint before it terminates it. */
const STOP_TIMEOUT_MS = 5000;

export class Checkpointer {
  private readonly worker: Worker;
  private stopping = false;
  private readonly exited: Promise<void>;

  constructor(private readonly store: Store, opts: CheckpointerOptions) {
    const data: CheckpointWorkerData = { path: store.path, intervalMs: opts.intervalMs ?? 1000, busyTimeoutMs: 2000 };
    store.setCommitCheckpoints(false);
    this.worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
    });
    this.worker.on('message', (r: CheckpointReport) => {
      if (r.type === 'error') opts.logger.warn({ err: r.message }, 'WAL checkpoint failed (will retry)');
      opts.onReport?.(r);
    });
    this.worker.on('error', (err) => opts.logger.warn({ err: err.message }, 'WAL checkpoint worker failed'));
    this.exited = new Promise<void>((resolve) => {
      this.worker.on('exit', (code) => {
        if (!this.stopping) {
          opts.logger.warn({ code }, 'WAL checkpoint worker exited: the store checkpoints at commit again');
          if (store.isOpen) store.setCommitCheckpoints(true);
        }
        resolve();
      });
    });
  }

  /** Ends the worker after one last checkpoint (bounded); the store checkpoints at commit again. */
  async stop(): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    if (this.store.isOpen) this.store.setCommitCheckpoints(true);
  }

  /** For tests: the worker dies as if it had crashed. */
  async kill(): Promise<void> {
    await this.worker.terminate();
    await this.exited;
  }
}
