/**
 * An appliance's live link to the shared PostgreSQL store: a small pool for the work done off the
 * answer path (snapshot reloads, the journal's batches, audit pruning) and one connection that
 * LISTENs on `bootgate_changes` (migration 4's triggers), so a change committed by any appliance
 * reaches every other one as it commits. The same connection is the health watch: it pings every
 * `pingMs`; when it breaks the link is down (statements of admin work then fail at once instead of
 * waiting) and it reconnects by itself with backoff. Coming back up counts as "everything changed":
 * the subscribers reload, so nothing missed while away stays missed.
 */
import type { Logger } from '../log.js';
import type { ChangeKind, Store } from './db.js';
import { connectPg, type pg } from './pg-conn.js';
import { PgPool } from './pg-pool.js';
import type { PgSyncDb } from './pg-sync.js';

export const CHANNEL = 'bootgate_changes';

/** Which part of the snapshot a changed table belongs to. */
const KIND_OF_TABLE: Record<string, ChangeKind> = {
  computers: 'inventory', computer_macs: 'inventory', devices: 'devices', settings: 'settings',
  password_hashes: 'password', password_failures: 'password',
  rollout_members: 'rollout', rollout_admissions: 'rollout', rollout_results: 'rollout', rollout_halts: 'rollout',
  secure_boot_clients: 'secureboot',
};

export interface PgLinkOptions {
  logger: Logger;
  now?: () => number;
  pingMs?: number;
  /**
   * How long a ping may take before the link counts as down (default 10 s): a database answering
   * slowly is not away, and the snapshot stays current through it.
   */
  pingTimeoutMs?: number;
  /** Backoff between reconnection attempts: from minMs, doubling, up to maxMs. */
  backoff?: { minMs: number; maxMs: number };
  poolMax?: number;
}

export class PgLink {
  readonly pool: PgPool;
  private listener: pg.Client | null = null;
  // The store was opened (and migrated) a moment ago: up until the first connection says otherwise.
  private isUp = true;
  private why: string | null = null;
  private downSince: number;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private ping: NodeJS.Timeout | null = null;
  private closed = false;
  private pinging = false;
  private readonly stateListeners = new Set<(up: boolean) => void>();
  private readonly now: () => number;
  private readonly db: PgSyncDb;

  constructor(private readonly store: Store, private readonly opts: PgLinkOptions) {
    if (!store.target) throw new Error('not a shared store');
    this.now = opts.now ?? Date.now;
    this.downSince = this.now();
    this.db = store.db as PgSyncDb;
    // Each pooled connection walks the host list itself: after a failover new ones reach the new primary.
    // A pooled connection that breaks while idle is dropped by the pool; the listener says "down".
    this.pool = new PgPool(store.target, opts.poolMax ?? 4);
    void this.connect();
  }

  get up(): boolean {
    return this.isUp;
  }

  /** Why the link is down (null when up). */
  get reason(): string | null {
    return this.why;
  }

  /** When the link went down (meaningless while up). */
  get since(): number {
    return this.downSince;
  }

  onState(listener: (up: boolean) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(up: boolean, why: string | null): void {
    if (up === this.isUp) {
      this.why = why;
      return;
    }
    this.isUp = up;
    this.why = why;
    this.db.failFast(up ? null : why ?? 'unreachable');
    if (!up) this.downSince = this.now();
    if (up) this.opts.logger.info('shared store reachable: answering from a current snapshot again');
    else this.opts.logger.warn({ reason: why }, 'shared store unreachable: answering from the last snapshot, writes journaled');
    for (const l of this.stateListeners) {
      try { l(up); } catch (err) { this.opts.logger.error({ err: (err as Error).message }, 'store link listener failed'); }
    }
    // Back up: anything may have changed meanwhile.
    if (up) this.store.notify('external');
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const target = this.store.target;
    if (!target) return;
    // Every (re)connection walks the host list again (target_session_attrs): a failover is followed here.
    let client: pg.Client;
    try {
      client = await connectPg(target, { connectTimeoutMs: 3000 });
    } catch (err) {
      this.retry((err as Error).message);
      return;
    }
    client.on('error', (err) => this.broken(client, err.message));
    client.on('end', () => this.broken(client, 'connection closed'));
    client.on('notification', (n) => {
      const kind = KIND_OF_TABLE[n.payload ?? ''];
      if (kind) this.store.notify(kind);
    });
    try {
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      client.end().catch(() => undefined);
      this.retry((err as Error).message);
      return;
    }
    if (this.closed) {
      client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    this.attempt = 0;
    this.setState(true, null);
    this.ping = setInterval(() => {
      if (this.pinging) return;
      this.pinging = true;
      const timeout = setTimeout(() => this.broken(client, 'no answer to a ping'), this.opts.pingTimeoutMs ?? 10_000);
      client.query('SELECT 1').then(() => {
        clearTimeout(timeout);
        this.pinging = false;
      }, (err: Error) => {
        clearTimeout(timeout);
        this.pinging = false;
        this.broken(client, err.message);
      });
    }, this.opts.pingMs ?? 2000);
    this.ping.unref();
  }

  private broken(client: pg.Client, why: string): void {
    if (this.listener !== client) return;
    this.listener = null;
    if (this.ping) clearInterval(this.ping);
    this.ping = null;
    this.pinging = false;
    client.end().catch(() => undefined);
    this.retry(why);
  }

  private retry(why: string): void {
    this.setState(false, why);
    if (this.closed || this.timer) return;
    const b = this.opts.backoff ?? { minMs: 250, maxMs: 5000 };
    const wait = Math.min(b.maxMs, b.minMs * 2 ** Math.min(this.attempt, 16));
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, wait);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ping) clearInterval(this.ping);
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
