/**
 * The shared PostgreSQL store's part of the store backend (backend.ts): the live link (change feed,
 * health, pool; pg-link.ts), the journal the decision path writes into instead of the SQLite
 * recorder (pg-journal.ts), the snapshot's data read on the pool off the answer path, audit
 * retention on the pool, and the store's health as /readyz and the metrics tell it.
 */
import type { Logger } from '../log.js';
import type { BaseData, StoreHealth } from './backend-parts.js';
import { computersFromRows } from './computers.js';
import type { Store } from './db.js';
import { PgJournal, type JournalOptions } from './pg-journal.js';
import { PgLink, type PgLinkOptions } from './pg-link.js';
import type { SettingOverrides } from './settings.js';

export interface SharedStoreOptions {
  logger: Logger;
  now: () => number;
  /** The link's ping and reconnection backoff (tests shorten them). */
  link?: Pick<PgLinkOptions, 'pingMs' | 'backoff'>;
}

/** What the health report needs to know of the snapshot cache. */
export interface SnapshotState {
  readonly isDirty: boolean;
  /** When the snapshot was last known to match the store. */
  readonly currentAt: number;
}

export class SharedStoreLink {
  readonly link: PgLink;
  private journal: PgJournal | null = null;

  constructor(private readonly store: Store, private readonly opts: SharedStoreOptions) {
    this.link = new PgLink(store, { logger: opts.logger, now: opts.now, ...opts.link });
  }

  /** The journal the decision path writes into (sightings, audit events, consumed markers). */
  startJournal(o: Pick<JournalOptions, 'flushIntervalMs' | 'max' | 'isKnown' | 'onDropped' | 'onWritten'>): PgJournal {
    this.journal = new PgJournal(this.link, { ...o, now: this.opts.now, logger: this.opts.logger, serverName: this.store.serverName });
    return this.journal;
  }

  /** The base snapshot's data, read on the pool (off the answer path). */
  async load(): Promise<BaseData> {
    const pool = this.link.pool;
    const [computers, macs, devices, settings] = await Promise.all([
      pool.query('SELECT * FROM computers ORDER BY name'),
      pool.query('SELECT computer_id, mac FROM computer_macs ORDER BY computer_id, position'),
      pool.query('SELECT mac, status, first_seen FROM devices'),
      pool.query('SELECT key, value FROM settings'),
    ]);
    const rows = devices.rows as Array<{ mac: string; status: string; first_seen: number }>;
    const pending = rows.filter((d) => d.status === 'pending');
    const overrides: Record<string, unknown> = {};
    for (const r of settings.rows as Array<{ key: string; value: string }>) {
      try { overrides[r.key] = JSON.parse(r.value); } catch { /* unreadable: ignored, as SettingsRepo does */ }
    }
    return {
      computers: computersFromRows(computers.rows, macs.rows as Array<{ computer_id: number; mac: string }>),
      rejected: rows.filter((d) => d.status === 'rejected').map((d) => d.mac),
      pending: pending.map((d) => d.mac),
      oldestPending: pending.length === 0 ? null : Math.min(...pending.map((d) => d.first_seen)),
      overrides: overrides as SettingOverrides,
    };
  }

  /** One chunk of audit retention (by age, then by rows), on the pool. */
  async prune(cutoff: number, keep: number, chunk: number): Promise<number> {
    const pool = this.link.pool;
    const old = await pool.query('DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1 LIMIT $2)', [cutoff, chunk]);
    if ((old.rowCount ?? 0) > 0) return old.rowCount ?? 0;
    const edge = await pool.query('SELECT id FROM audit_events ORDER BY id DESC LIMIT 1 OFFSET $1', [keep]);
    const id = (edge.rows[0] as { id: number } | undefined)?.id;
    if (id === undefined) return 0;
    const r = await pool.query('DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE id <= $1 ORDER BY id LIMIT $2)', [id, chunk]);
    return r.rowCount ?? 0;
  }

  /** Up, or degraded with why; how old the snapshot is; how much is journaled. */
  health(snap: SnapshotState): StoreHealth {
    const { link } = this;
    const queued = this.journal?.queued ?? 0;
    const current = link.up && !snap.isDirty;
    const age = current ? 0 : Math.max(0, (this.opts.now() - (link.up ? snap.currentAt : Math.min(snap.currentAt, link.since))) / 1000);
    const problem = link.up ? null
      : `degraded: shared store ${this.store.path} unreachable (${link.reason ?? 'unknown'}); answering known computers from a snapshot ${Math.round(age)} s old, `
        + `${queued} writes journaled`;
    return { up: link.up, problem, snapshotAgeSeconds: age, journal: queued };
  }

  close(): void {
    this.journal?.close();
    void this.link.close();
  }
}
