/**
 * The repositories' synchronous SQL surface (sql.ts) on PostgreSQL: a worker thread holds the
 * connection, and each statement blocks this thread until its answer (Atomics.wait) or `timeoutMs`.
 * Only admin work and start-up use it (imports, approvals, settings, the CLI); the boot path never
 * does: it decides from the in-memory snapshot, and its writes go through the asynchronous journal.
 * While the shared store is known to be unreachable (`failFast()`), a statement fails at once with
 * a StoreError instead of waiting, so an admin request answers "store unreachable" quickly.
 *
 * Transactions: BEGIN ... COMMIT on the worker's one connection; a nested transaction is a savepoint.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { bindValues, toPostgres, type PgStatementText } from './pg-sql.js';
import type { PgTarget } from './pg-conn.js';
import type { SyncReply, SyncRequest, SyncWorkerData } from './pg-sync-worker.js';
import type { RunResult, SqlDb, SqlStatement } from './sql.js';

export class PgStoreError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface PgSyncOptions {
  /** How long one statement may block before it fails (the worker's own timeouts come first). */
  timeoutMs?: number;
}

export class PgSyncDb implements SqlDb {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private nextId = 1;
  private depth = 0;
  private closed = false;
  private readonly timeoutMs: number;
  /** Why the store is known unreachable (set by the link's health watch), or null. */
  private down: string | null = null;
  /** Bumped by the change feed; read as PRAGMA data_version is on SQLite. */
  version = 0;

  constructor(target: PgTarget, opts: PgSyncOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    const sab = new SharedArrayBuffer(4);
    this.flag = new Int32Array(sab);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: SyncWorkerData = { port: port2, flag: sab, target };
    this.worker = new Worker(new URL('./pg-sync-worker.js', import.meta.url), { workerData: data, transferList: [port2] });
    this.worker.unref();
    this.port.unref();
  }

  get open(): boolean {
    return !this.closed;
  }

  /** Statements fail at once with `why` until called again with null. */
  failFast(why: string | null): void {
    this.down = why;
  }

  call(req: Omit<SyncRequest, 'id'>): SyncReply {
    if (this.closed) throw new PgStoreError('store closed');
    if (this.down !== null && req.op !== 'end') throw new PgStoreError(`shared store unreachable: ${this.down}`);
    // Ids wrap well inside an Int32 (the flag holds the last answered id).
    const id = this.nextId;
    this.nextId = this.nextId >= 0x3fffffff ? 1 : this.nextId + 1;
    this.port.postMessage({ ...req, id } satisfies SyncRequest);
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.flag, 0);
      if (seen === id) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new PgStoreError(`shared store did not answer within ${this.timeoutMs} ms`);
      Atomics.wait(this.flag, 0, seen, left);
    }
    for (;;) {
      const msg = receiveMessageOnPort(this.port);
      if (msg === undefined) throw new PgStoreError('shared store worker answered nothing');
      const reply = msg.message as SyncReply;
      if (reply.id !== id) continue;
      if (!reply.ok) throw new PgStoreError(reply.error ?? 'query failed', reply.code);
      return reply;
    }
  }

  query(text: string, values: unknown[] = []): { rows: Record<string, unknown>[]; rowCount: number } {
    const r = this.call({ op: 'query', text, values });
    return { rows: r.rows ?? [], rowCount: r.rowCount ?? 0 };
  }

  prepare(sql: string): SqlStatement {
    const stmt: PgStatementText = toPostgres(sql);
    const exec = (params: unknown[]) => this.query(stmt.text, bindValues(stmt, params));
    return {
      run: (...params: unknown[]): RunResult => {
        const r = exec(params);
        const id = stmt.returnsId ? Number(r.rows[0]?.id ?? 0) : 0;
        return { changes: r.rowCount, lastInsertRowid: id };
      },
      get: (...params: unknown[]) => exec(params).rows[0],
      all: (...params: unknown[]) => exec(params).rows,
    };
  }

  transaction<T>(fn: () => T): { immediate(): T } {
    return {
      immediate: (): T => {
        const depth = this.depth;
        const savepoint = `bg_sp${depth}`;
        this.call({ op: 'exec', text: depth === 0 ? 'BEGIN' : `SAVEPOINT ${savepoint}` });
        this.depth += 1;
        try {
          const out = fn();
          this.call({ op: 'exec', text: depth === 0 ? 'COMMIT' : `RELEASE SAVEPOINT ${savepoint}` });
          return out;
        } catch (err) {
          try {
            this.call({ op: 'exec', text: depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}` });
          } catch {
            // The connection is gone: the server rolled the transaction back itself.
          }
          throw err;
        } finally {
          this.depth = depth;
        }
      },
    };
  }

  exec(sql: string): void {
    this.call({ op: 'exec', text: sql });
  }

  /** SQLite pragmas mean nothing here; `data_version` is the change feed's counter. */
  pragma(source: string): unknown {
    return /^\s*data_version\s*$/i.test(source) ? this.version : undefined;
  }

  close(): void {
    if (this.closed) return;
    try {
      this.call({ op: 'end' });
    } catch {
      // Closing anyway.
    }
    this.closed = true;
    void this.worker.terminate();
    this.port.close();
  }
}
