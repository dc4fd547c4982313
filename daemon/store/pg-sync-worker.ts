/**
 * The worker thread behind pg-sync.ts: holds one PostgreSQL connection and runs the statements the
 * main thread sends, one at a time, answering on the port and waking the main thread through the
 * shared flag. A broken connection is dropped and opened again on the next statement.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { connectPg, type pg, type PgTarget } from './pg-conn.js';

export interface SyncWorkerData {
  port: MessagePort;
  flag: SharedArrayBuffer;
  target: PgTarget;
}

export interface SyncRequest {
  id: number;
  op: 'query' | 'exec' | 'end';
  text?: string;
  values?: unknown[];
}

export interface SyncReply {
  id: number;
  ok: boolean;
  rows?: Record<string, unknown>[];
  rowCount?: number;
  error?: string;
  code?: string;
}

const data = workerData as SyncWorkerData;
const flag = new Int32Array(data.flag);
let client: pg.Client | null = null;

async function connection(): Promise<pg.Client> {
  if (client) return client;
  // Each new connection walks the host list (target_session_attrs), so a failover is followed.
  const c = await connectPg(data.target);
  c.on('error', () => {
    if (client === c) client = null;
  });
  client = c;
  return c;
}

function broken(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  // Class 08 (connection exception), 57P0x (admin shutdown, crash), a socket error without a code, or
  // 25006 (read-only transaction: the server became a standby; the next connection finds the primary).
  return code === undefined || code.startsWith('08') || code.startsWith('57P') || code === '25006';
}

async function handle(req: SyncRequest): Promise<SyncReply> {
  if (req.op === 'end') {
    const c = client;
    client = null;
    await c?.end().catch(() => undefined);
    return { id: req.id, ok: true };
  }
  try {
    const c = await connection();
    const r = req.op === 'exec' ? await c.query(req.text as string) : await c.query(req.text as string, req.values ?? []);
    const last = Array.isArray(r) ? r[r.length - 1] : r;
    return { id: req.id, ok: true, rows: (last?.rows ?? []) as Record<string, unknown>[], rowCount: last?.rowCount ?? 0 };
  } catch (err) {
    if (broken(err) && client) {
      const c = client;
      client = null;
      c.end().catch(() => undefined);
    }
    return { id: req.id, ok: false, error: (err as Error).message, code: (err as { code?: string }).code };
  }
}

let chain = Promise.resolve();
data.port.on('message', (req: SyncRequest) => {
  chain = chain.then(async () => {
    const reply = await handle(req);
    data.port.postMessage(reply);
    Atomics.store(flag, 0, req.id);
    Atomics.notify(flag, 0);
  });
});
parentPort?.on('message', () => undefined);
