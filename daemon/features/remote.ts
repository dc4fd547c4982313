/**
 * The service host: where the admin API's services run. On the embedded SQLite store a statement takes
 * microseconds, so each service is built once here and called in place. On the shared PostgreSQL store
 * a statement blocks its thread until the database answers (store/pg-sync.ts), and the database may
 * take seconds: there every service runs on the host's own worker thread (remote-worker.ts), on its own
 * connection, and the thread answering DHCP, 4011, TFTP and HTTP never waits on an admin request.
 *
 * A call that changed something comes back with the kinds of change it made; they are announced on
 * this process's store as well, and the answer waits until the policy snapshot has them, so an admin
 * who approved a machine sees it boot on its very next request, as on SQLite.
 */
import { Worker } from 'node:worker_threads';
import type { BootgateConfig } from '../config/schema.js';
import { AdminError } from '../http/admin/errors.js';
import type { Logger } from '../log.js';
import type { ChangeKind, OpenOptions } from '../store/db.js';
import { inPlace, type Remote, type ServiceContext, type ServiceDef } from './feature.js';
import type { HostReply, HostRequest, HostWorkerData, WireError } from './remote-worker.js';

export type { Remote } from './feature.js';

/** The error a worker reported, as the admin API's error handler knows it. */
function revive(e: WireError): Error {
  if (e.name === 'AdminError' && e.status !== undefined && e.code !== undefined) {
    return new AdminError(e.status as AdminError['status'], e.code as AdminError['code'], e.message, e.problems ?? []);
  }
  const err = new Error(e.message) as Error & { code?: string };
  err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  return err;
}

export interface ServiceHostOptions {
  ctx: ServiceContext;
  logger: Logger;
  /**
   * Waits until the policy snapshot shows what the store holds now (the store backend's, known only
   * once the backend exists: the host is built before it).
   */
  settled: () => Promise<void>;
}

export class ServiceHost {
  private readonly local = new Map<string, object>();
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor(private readonly opts: ServiceHostOptions) {}

  /** Whether services run on the worker thread (the shared store). */
  get threaded(): boolean {
    return this.opts.ctx.store.shared;
  }

  remote<T extends object>(def: ServiceDef<T>): Remote<T> {
    if (!this.threaded) {
      let service = this.local.get(def.id) as T | undefined;
      if (!service) {
        service = def.make(this.opts.ctx);
        this.local.set(def.id, service);
      }
      return inPlace(service);
    }
    return new Proxy({}, {
      get: (_target, method) => (method === 'then' || typeof method === 'symbol' ? undefined : (...args: unknown[]) => this.call(def.id, method, args)),
    }) as Remote<T>;
  }

  /** On the shared store: starts the thread and opens its connection now, not at the first admin request. */
  warm(): void {
    if (this.threaded && !this.closed) this.start().postMessage({ type: 'open' } satisfies HostRequest);
  }

  /** A reloaded configuration: the worker's services read the new one from their next call. */
  reconfigure(cfg: BootgateConfig): void {
    this.worker?.postMessage({ type: 'config', config: cfg } satisfies HostRequest);
  }

  /** The shared store's link state: while it is down, the worker's statements fail at once as this thread's do. */
  storeState(down: string | null): void {
    this.worker?.postMessage({ type: 'down', why: down } satisfies HostRequest);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const { store, config } = this.opts.ctx;
    const target = store.target;
    if (!target) throw new Error('the service host runs a worker only for the shared store');
    const open: OpenOptions = { serverName: store.serverName, passwordFile: target.passwordFile, statementTimeoutMs: target.statementTimeoutMs };
    const data: HostWorkerData = { url: target.url, open, config: config(), level: this.opts.logger.level };
    const worker = new Worker(new URL('./remote-worker.js', import.meta.url), { workerData: data });
    worker.unref();
    worker.on('message', (reply: HostReply) => void this.settle(reply));
    worker.on('error', (err) => {
      this.opts.logger.error({ err: err.message }, 'admin service thread failed; starting a new one with the next request');
      this.fail(`admin service thread failed: ${err.message}`);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
      this.fail('admin service thread stopped');
    });
    this.worker = worker;
    return worker;
  }

  private call(service: string, method: string, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('service host closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      try {
        this.start().postMessage({ type: 'call', id, service, method, args } satisfies HostRequest);
      } catch (err) {
        this.waiting.delete(id);
        reject(err as Error);
      }
    });
  }

  private async settle(reply: HostReply): Promise<void> {
    const w = this.waiting.get(reply.id);
    if (!w) return;
    this.waiting.delete(reply.id);
    // What the worker changed, announced here too (the database's own notification may come later).
    for (const kind of new Set<ChangeKind>(reply.changed)) this.opts.ctx.store.notify(kind);
    if (reply.changed.length > 0) await this.opts.settled().catch(() => undefined);
    if (reply.ok) w.resolve(reply.value);
    else w.reject(revive(reply.error));
  }

  private fail(why: string): void {
    for (const w of this.waiting.values()) w.reject(new Error(why));
    this.waiting.clear();
  }

  close(): void {
    this.closed = true;
    this.fail('service host closed');
    void this.worker?.terminate();
    this.worker = null;
  }
}
