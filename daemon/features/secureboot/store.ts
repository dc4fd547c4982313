/**
 * The Secure Boot table (store migration 4): one row per machine that gets the profiles' signed chain.
 * Read on every decision that could use it (one indexed lookup): a machine marked or cleared with the
 * CLI on the database file counts in a running daemon at once.
 */
import type { SqlDb } from '../../store/sql.js';

export type SecureBootSource = 'admin' | 'refusal';

export interface SecureBootRow {
  mac: string;
  source: SecureBootSource;
  /** For a noticed refusal: why it is believed (http-boot-fallback, pxe-restart). */
  reason: string | null;
  /** For a noticed refusal: the program the firmware refused. */
  file: string | null;
  at: number;
  actor: string;
}

/** Rows kept at most: noticed refusals come from the network, so a flood must not grow the file without bound. */
export const SECURE_BOOT_ROWS_MAX = 100_000;

export class SecureBootRepo {
  private readonly s;

  constructor(db: SqlDb) {
    this.s = {
      has: db.prepare('SELECT 1 AS one FROM secure_boot_clients WHERE mac = ?'),
      macs: db.prepare('SELECT mac FROM secure_boot_clients'),
      get: db.prepare('SELECT mac, source, reason, file, at, actor FROM secure_boot_clients WHERE mac = ?'),
      list: db.prepare('SELECT mac, source, reason, file, at, actor FROM secure_boot_clients ORDER BY at DESC LIMIT ?'),
      put: db.prepare(`INSERT INTO secure_boot_clients (mac, source, reason, file, at, actor) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(mac) DO UPDATE SET source = excluded.source, reason = excluded.reason, file = excluded.file, at = excluded.at, actor = excluded.actor`),
      delete: db.prepare('DELETE FROM secure_boot_clients WHERE mac = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM secure_boot_clients'),
      deleteOldestRefusals: db.prepare(`DELETE FROM secure_boot_clients WHERE mac IN
        (SELECT mac FROM secure_boot_clients WHERE source = 'refusal' ORDER BY at LIMIT ?)`),
    };
  }

  has(mac: string): boolean {
    return this.s.has.get(mac) != null;
  }

  /** Every marked machine. */
  macs(): string[] {
    return (this.s.macs.all() as Array<{ mac: string }>).map((r) => r.mac);
  }

  get(mac: string): SecureBootRow | undefined {
    return (this.s.get.get(mac) ?? undefined) as SecureBootRow | undefined;
  }

  list(limit: number): SecureBootRow[] {
    return this.s.list.all(limit) as SecureBootRow[];
  }

  put(row: SecureBootRow): void {
    this.s.put.run(row.mac, row.source, row.reason, row.file, row.at, row.actor);
    // PostgreSQL's COUNT is a bigint, read as a string.
    const n = Number((this.s.count.get() as { n: number | string }).n);
    if (n > SECURE_BOOT_ROWS_MAX) this.s.deleteOldestRefusals.run(n - SECURE_BOOT_ROWS_MAX);
  }

  delete(mac: string): boolean {
    return this.s.delete.run(mac).changes > 0;
  }
}
