/**
 * The fleet as its store knows it: every appliance's last heartbeat (name, subnets, version,
 * readiness, store state, boots in the last hour), with how long ago it beat. An appliance silent
 * for STALE_AFTER_MS (three missed beats) is shown as stale, not removed: a stopped appliance is news.
 */
import { readBeats } from '../../store/appliances.js';
import type { Store } from '../../store/db.js';
import { defineService } from '../feature.js';

export const HEARTBEAT_MS = 15_000;
export const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

export interface ApplianceDto {
  name: string;
  version: string;
  subnets: string[];
  ready: boolean;
  /** Readiness checks that are not ok, as `check: why`. */
  readiness: string[];
  storeState: string;
  bootsLastHour: number;
  startedAt: string;
  lastSeen: string;
  secondsSinceSeen: number;
  /** No heartbeat for STALE_AFTER_MS. */
  stale: boolean;
  /** The appliance answering this request. */
  self: boolean;
}

export class AppliancesService {
  constructor(private readonly store: Store, private readonly now: () => number = Date.now) {}

  list(): ApplianceDto[] {
    const t = this.now();
    return readBeats(this.store.db).map((b) => ({
      name: b.name, version: b.version, subnets: b.subnets, ready: b.ready, readiness: b.readiness, storeState: b.storeState,
      bootsLastHour: b.bootsLastHour, startedAt: new Date(b.startedAt).toISOString(), lastSeen: new Date(b.at).toISOString(),
      secondsSinceSeen: Math.max(0, Math.round((t - b.at) / 1000)), stale: t - b.at > STALE_AFTER_MS, self: b.name === this.store.serverName,
    }));
  }
}

/** The admin API's AppliancesService (on the service host's thread with the shared store). */
export const appliancesService = defineService('appliances', (c) => new AppliancesService(c.store, c.now));
