/**
 * The pieces the store backend (backend.ts) is composed of: the metrics it owns, the run-time
 * settings view, the audit pruner, the MAC -> computer memory that lets a completion marker served
 * to a GUID-matched machine find its computer, and the types the shared store's part (pg-backend.ts)
 * speaks in.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BootgateConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from './db.js';
import { effectiveSettings, type RuntimeSettings, type SettingOverrides } from './settings.js';

/** Per registry, what the oldest-pending gauge reads at scrape time (a reloaded backend replaces it). */
const oldestPendingSource = new WeakMap<Registry, () => number>();
/** Per registry, the store's health at scrape time. */
const healthSource = new WeakMap<Registry, () => { up: boolean; snapshotAgeSeconds: number; journal: number }>();

export interface StoreMetrics {
  pending: Gauge;
  dropped: Counter;
}

/** Registers (once per registry) the metrics the store backend keeps up to date. */
export function storeMetrics(
  metrics: Metrics | undefined,
  oldestPendingAge: () => number,
  health?: () => { up: boolean; snapshotAgeSeconds: number; journal: number },
): StoreMetrics | null {
  if (!metrics) return null;
  const reg = metrics.registry;
  oldestPendingSource.set(reg, oldestPendingAge);
  if (health) healthSource.set(reg, health);
  const gauges: Array<[string, string, (h: { up: boolean; snapshotAgeSeconds: number; journal: number }) => number]> = [
    ['bootgate_store_up', 'Whether the store is reachable (1) or the appliance answers from its last snapshot (0)', (h) => (h.up ? 1 : 0)],
    ['bootgate_store_snapshot_age_seconds', 'How old the policy snapshot is: 0 while it matches the store, else seconds since it last did', (h) => h.snapshotAgeSeconds],
    ['bootgate_store_journal_events', 'Writes (audit events, device sightings, consumed markers) waiting for the store', (h) => h.journal],
  ];
  for (const [name, help, read] of gauges) {
    if (reg.getSingleMetric(name)) continue;
    new Gauge({
      name, help, registers: [reg],
      collect() {
        const h = healthSource.get(reg)?.();
        if (h) this.set(read(h));
      },
    });
  }
  if (!reg.getSingleMetric('bootgate_pending_oldest_age_seconds')) {
    new Gauge({
      name: 'bootgate_pending_oldest_age_seconds',
      help: 'How long the longest-waiting pending device has waited for approval (0 when none waits)',
      registers: [reg],
      collect() {
        this.set(oldestPendingSource.get(reg)?.() ?? 0);
      },
    });
  }
  const pending = (reg.getSingleMetric('bootgate_pending_devices') as Gauge | undefined)
    ?? new Gauge({ name: 'bootgate_pending_devices', help: 'Unknown devices waiting for approval', registers: [reg] });
  const dropped = (reg.getSingleMetric('bootgate_audit_dropped_total') as Counter | undefined)
    ?? new Counter({ name: 'bootgate_audit_dropped_total', help: 'Decision audit events not recorded because the write queue was full', registers: [reg] });
  return { pending, dropped };
}

/** Effective run-time switches (config + stored overrides), with change listeners. */
export class SettingsView {
  private value: RuntimeSettings;
  private readonly listeners = new Set<(s: RuntimeSettings) => void>();

  /** `overrides`: where the stored overrides come from (default: read from the store each refresh). */
  constructor(
    private readonly store: Store,
    private readonly cfg: () => BootgateConfig,
    private readonly log: Logger,
    private readonly overrides?: () => SettingOverrides,
  ) {
    this.value = this.read();
  }

  get current(): RuntimeSettings {
    return this.value;
  }

  private read(): RuntimeSettings {
    const s = this.cfg().server;
    return effectiveSettings({ answering: s.answering, responseDelaySeconds: s.responseDelaySeconds, interfaces: s.interfaces }, this.overrides?.() ?? this.store.settings.overrides());
  }

  /** Re-reads; tells the listeners when something changed. */
  refresh(): void {
    const next = this.read();
    if (JSON.stringify(next) === JSON.stringify(this.value)) return;
    this.value = next;
    this.log.info({ settings: next }, 'run-time settings changed');
    for (const l of this.listeners) {
      try { l(next); } catch (err) { this.log.error({ err: (err as Error).message }, 'settings listener failed'); }
    }
  }

  subscribe(listener: (s: RuntimeSettings) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const PRUNE_CHUNK = 2000;

/** Audit retention: by age (cfg.store.auditRetentionDays) and by row count, in small chunks. */
export class AuditPruner {
  private running: Promise<number> | null = null;

  constructor(
    private readonly store: Store,
    private readonly cfg: () => BootgateConfig,
    private readonly maxRows: number,
    private readonly now: () => number,
    private readonly log: Logger,
    /** Shared store: one chunk on the pool (cutoff, rows kept, chunk) instead of a local transaction. */
    private readonly sharedStep?: (cutoff: number, keep: number, chunk: number) => Promise<number>,
  ) {}

  /** Resolves with how many events went. One transaction per chunk, yielding between them. */
  prune(): Promise<number> {
    if (this.running) return this.running;
    const cutoff = this.now() - this.cfg().store.auditRetentionDays * 86_400_000;
    let removed = 0;
    const shared = this.sharedStep;
    if (shared) {
      this.running = (async () => {
        try {
          for (let i = 0; i < 10_000; i++) {
            const n = await shared(cutoff, this.maxRows, PRUNE_CHUNK);
            removed += n;
            if (n === 0) break;
          }
          if (removed > 0) this.log.info({ removed }, 'audit events pruned');
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'audit prune failed (shared store)');
        }
        this.running = null;
        return removed;
      })();
      return this.running;
    }
    // The promise is cleared when it settles (not inside step(): a first step that finds nothing runs
    // before the promise is even assigned, and would leave a settled promise that every later prune returned).
    const running = new Promise<number>((resolve) => {
      const step = (): void => {
        try {
          const s = this.store;
          const n = !s.isOpen ? 0 : s.tx(() => s.audit.deleteOlderThan(cutoff, PRUNE_CHUNK) || s.audit.trimTo(this.maxRows, PRUNE_CHUNK));
          removed += n;
          if (n > 0) { setImmediate(step); return; }
          if (removed > 0) this.log.info({ removed }, 'audit events pruned');
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'audit prune failed');
        }
        resolve(removed);
      };
      step();
    });
    this.running = running;
    void running.then(() => { if (this.running === running) this.running = null; });
    return this.running;
  }
}

/** How many MAC -> computer bindings to remember for markServed() on machines matched by GUID. */
const RECENT_MAX = 4096;

/** The computer each recently booted MAC was decided as (bounded, oldest forgotten first). */
export class RecentComputers {
  private readonly map = new Map<string, string>();

  remember(mac: string, computer: string): void {
    if (this.map.get(mac) === computer) return;
    this.map.delete(mac);
    this.map.set(mac, computer);
    if (this.map.size > RECENT_MAX) this.map.delete(this.map.keys().next().value as string);
  }

  get(mac: string): string | undefined {
    return this.map.get(mac);
  }
}

/** The store's state as /readyz and the metrics tell it. */
export interface StoreHealth {
  up: boolean;
  /** Why not up, or null. */
  problem: string | null;
  /** Seconds since the snapshot was last known current (0 while the store is up and nothing is being reloaded). */
  snapshotAgeSeconds: number;
  /** Writes waiting for the store (audit events, sightings, consumptions). */
  journal: number;
}

/** What the base snapshot is built from. */
export interface BaseData {
  computers: ReturnType<Store['computers']['all']>;
  rejected: string[];
  pending: string[];
  oldestPending?: number | null;
  overrides?: SettingOverrides;
}
