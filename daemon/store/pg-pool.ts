/**
 * A small connection pool over connectPg() (pg-conn.ts), for the work done off the answer path
 * (snapshot reloads, the journal's batches, audit pruning). pg-pool cannot be used: it builds each
 * connection from one fixed host, and the store's connections must walk the host list and honour
 * target_session_attrs, so that after a failover new connections go to the new primary.
 * A connection released with an error (or that broke while idle) is closed, never reused.
 */
import { connectPg, pg, type PgTarget } from './pg-conn.js';

export interface PooledClient {
  query: pg.Client['query'];
  /** Back to the pool; `err` (or true): close it instead. */
  release(err?: unknown): void;
}

export class PgPool {
  private readonly idle: pg.Client[] = [];
  private readonly broken = new WeakSet<pg.Client>();
  private readonly waiters: Array<(c: pg.Client | null) => void> = [];
  private open = 0;
  private ended = false;

  constructor(private readonly target: PgTarget, private readonly max = 4, private readonly idleMs = 30_000) {}

  private watch(c: pg.Client): void {
    const drop = (): void => {
      this.broken.add(c);
      const at = this.idle.indexOf(c);
      if (at >= 0) {
        this.idle.splice(at, 1);
        this.open -= 1;
        c.end().catch(() => undefined);
        this.wake();
      }
    };
    c.on('error', drop);
    c.on('end', drop);
  }

  /** A slot freed: the next waiter gets an idle connection or opens one. */
  private wake(): void {
    const w = this.waiters.shift();
    if (!w) return;
    const c = this.idle.pop();
    if (c) w(c);
    else if (this.open < this.max) { this.open += 1; w(null); }
    else this.waiters.unshift(w);
  }

  async connect(): Promise<PooledClient> {
    if (this.ended) throw new Error('pool closed');
    let c = this.idle.pop() ?? null;
    if (c === null) {
      if (this.open < this.max) this.open += 1;
      else c = await new Promise<pg.Client | null>((resolve) => this.waiters.push(resolve));
      if (this.ended) {
        if (c !== null) c.end().catch(() => undefined);
        throw new Error('pool closed');
      }
    }
    if (c === null) {
      try {
        c = await connectPg(this.target);
      } catch (err) {
        this.open -= 1;
        this.wake();
        throw err;
      }
      this.watch(c);
    }
    const client = c;
    let done = false;
    return {
      query: client.query.bind(client) as pg.Client['query'],
      release: (err?: unknown) => {
        if (done) return;
        done = true;
        if (err || this.ended || this.broken.has(client)) {
          this.open -= 1;
          client.end().catch(() => undefined);
          this.wake();
          return;
        }
        const w = this.waiters.shift();
        if (w) { w(client); return; }
        this.idle.push(client);
        const t = setTimeout(() => {
          const at = this.idle.indexOf(client);
          if (at < 0) return;
          this.idle.splice(at, 1);
          this.open -= 1;
          client.end().catch(() => undefined);
        }, this.idleMs);
        t.unref();
      },
    };
  }

  async query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    const c = await this.connect();
    try {
      const r = await c.query<R>(text, values);
      c.release();
      return r;
    } catch (err) {
      const code = (err as { code?: string }).code;
      // A statement error leaves the connection usable; a broken or read-only one is dropped.
      c.release(code === undefined || code.startsWith('08') || code.startsWith('57P') || code === '25006' ? err : undefined);
      throw err;
    }
  }

  async end(): Promise<void> {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(null);
    const idle = this.idle.splice(0);
    this.open -= idle.length;
    await Promise.all(idle.map((c) => c.end().catch(() => undefined)));
  }
}
