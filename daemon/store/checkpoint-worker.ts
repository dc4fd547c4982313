/**
 * Worker thread: checkpoints the daemon's WAL from its own connection, so the copy into the main file
 * and its fsync never run on the thread that answers DHCP (see checkpointer.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointWorkerData {
  path: string;
  intervalMs: number;
  busyTimeoutMs: number;
}

/**
 * What the worker reports after each checkpoint that had work to do, or when one failed. `startedAt`
 * (Date.now() as the checkpoint began, the same clock on every thread) tells a checkpoint that began
 * after a given commit from one that ran before it and was still in the message queue.
 */
export type CheckpointReport =
  | { type: 'checkpoint'; busy: boolean; walFrames: number; checkpointed: number; ms: number; startedAt: number }
  | { type: 'error'; message: string };

const data = workerData as CheckpointWorkerData;
const port = parentPort;
if (port === null) throw new Error('checkpoint-worker: not started as a worker thread');

const db = new Database(data.path, { fileMustExist: true });
db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
// This connection never writes rows; its own commit-time checkpoints are off like the daemon's.
db.pragma('wal_autocheckpoint = 0');

function checkpoint(): void {
  const startedAt = Date.now();
  const t = performance.now();
  try {
    // PASSIVE: copies what it can without waiting for readers or blocking the daemon's writes.
    const row = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    const r = row[0];
    if (r && r.log > 0) port?.postMessage({ type: 'checkpoint', busy: r.busy === 1, walFrames: r.log, checkpointed: r.checkpointed, ms: performance.now() - t, startedAt } satisfies CheckpointReport);
  } catch (err) {
    port?.postMessage({ type: 'error', message: (err as Error).message } satisfies CheckpointReport);
  }
}

const timer = setInterval(checkpoint, data.intervalMs);
port.on('message', (msg: unknown) => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  port.close();
});
