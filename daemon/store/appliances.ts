/**
 * An appliance's heartbeat row (table `appliances`): who it is, what it answers and how it is doing,
 * rewritten every ~15 s by the decision path's writer (the Recorder on SQLite, the journal on the
 * shared store), never on the answer path. Only the latest beat waits: a newer one replaces it.
 */
import type { SqlDb } from './sql.js';

export interface ApplianceBeat {
  /** server.name (the host name when unset). */
  name: string;
  version: string;
  /** Answering subnets as CIDRs. */
  subnets: string[];
  ready: boolean;
  /** The readiness checks that are not ok, as `check: why`. */
  readiness: string[];
  /** 'ok', or why not ('degraded: ...'). */
  storeState: string;
  bootsLastHour: number;
  startedAt: number;
  at: number;
}

/** One statement for both dialects (`?` becomes `$n` on PostgreSQL). */
export const BEAT_UPSERT = `INSERT INTO appliances (name, version, subnets, ready, readiness, store_state, boots_last_hour, started_at, last_seen)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (name) DO UPDATE SET version = excluded.version, subnets = excluded.subnets, ready = excluded.ready,
    readiness = excluded.readiness, store_state = excluded.store_state, boots_last_hour = excluded.boots_last_hour,
    started_at = excluded.started_at, last_seen = excluded.last_seen`;

/** Lists are joined with characters neither a CIDR nor a readiness check name holds. */
export function beatParams(b: ApplianceBeat): unknown[] {
  return [b.name, b.version, b.subnets.join(','), b.ready ? 1 : 0, b.readiness.join('\n'), b.storeState, b.bootsLastHour, b.startedAt, b.at];
}

interface BeatRow {
  name: string; version: string; subnets: string; ready: number; readiness: string; store_state: string;
  boots_last_hour: number; started_at: number | string; last_seen: number | string;
}

/** Every appliance that ever beat on this store, by name. */
export function readBeats(db: SqlDb): ApplianceBeat[] {
  const rows = db.prepare('SELECT * FROM appliances ORDER BY name').all() as BeatRow[];
  return rows.map((r) => ({
    name: r.name, version: r.version, subnets: r.subnets === '' ? [] : r.subnets.split(','), ready: Number(r.ready) === 1,
    readiness: r.readiness === '' ? [] : r.readiness.split('\n'), storeState: r.store_state, bootsLastHour: Number(r.boots_last_hour),
    startedAt: Number(r.started_at), at: Number(r.last_seen),
  }));
}
