/**
 * The policy backend on the store: `snapshot()` is a cached view of config + inventory + devices +
 * run-time settings, rebuilt only when something changes (through this process's Store, or another
 * process committing to the same file, seen via PRAGMA data_version); `record()` queues audit events
 * and device sightings for the batched writer. Boot-once: `markServed()` from the TFTP/HTTP doors.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BootgateConfig } from '../config/schema.js';
import type { DecisionContext, PolicyBackend } from '../gatekeeper.js';
import { rateLimited, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { isCompletionMarker, isRequired } from '../policy/boot-once.js';
import { snapshotFromConfig, type PolicySnapshot } from '../policy/decide.js';
import { buildInventoryIndex } from '../policy/inventory.js';
import type { ClientInfo, Decision } from '../policy/types.js';
import { auditEvent } from './audit.js';
import { setBootOnce } from './boot-once.js';
import type { ChangeKind, Store } from './db.js';
import { Recorder } from './recorder.js';
import { effectiveSettings, type RuntimeSettings } from './settings.js';

export interface StoreBackendDeps {
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
  /** Tuning (tests shorten them); defaults in DEFAULTS. */
  flushIntervalMs?: number;
  queueMax?: number;
  pollIntervalMs?: number;
  pruneIntervalMs?: number;
  /** Audit rows kept at most, on top of the age limit, so a decision flood cannot fill the disk. */
  auditMaxRows?: number;
}

const DEFAULTS = { flushIntervalMs: 250, queueMax: 5000, pollIntervalMs: 1000, pruneIntervalMs: 3_600_000, auditMaxRows: 1_000_000 };
const PRUNE_CHUNK = 2000;
/** How many MAC -> computer bindings to remember for markServed() on machines matched by GUID. */
const RECENT_MAX = 4096;

export interface StoreBackend extends PolicyBackend {
  /** Effective run-time switches: the store's overrides on top of the config. */
  settings(): RuntimeSettings;
  /** Called with the new settings whenever they change (API, CLI, another process). */
  onSettingsChange(listener: (s: RuntimeSettings) => void): () => void;
  config(): BootgateConfig;
  /** A reloaded config (SIGHUP): profiles, policy and defaults change, the queue and caches survive. */
  reconfigure(cfg: BootgateConfig): void;
  /**
   * The TFTP/HTTP doors call this when `path` was served in full to `mac` for `profile`. Returns true when
   * that consumed the computer's required deployment (the path is the profile's completion marker).
   */
  markServed(mac: string, profile: string, path: string): boolean;
  /** Writes queued events now (tests, shutdown). */
  flush(): void;
  /** Looks for commits by other processes now (also polled every pollIntervalMs); true when there were some. */
  checkExternalChanges(): boolean;
  /** Applies audit retention now (also every pruneIntervalMs); resolves with the number of events removed. */
  prune(): Promise<number>;
  /** Stops timers and flushes; the Store stays open (its owner closes it). */
  close(): void;
}

/** Per registry, what the oldest-pending gauge reads at scrape time (a reloaded backend replaces it). */
const oldestPendingSource = new WeakMap<Registry, () => number>();

function storeMetrics(metrics: Metrics | undefined, oldestPendingAge: () => number) {
  if (!metrics) return null;
  const reg = metrics.registry;
  oldestPendingSource.set(reg, oldestPendingAge);
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

export function createStoreBackend(initialCfg: BootgateConfig, store: Store, deps: StoreBackendDeps): StoreBackend {
  const now = deps.now ?? Date.now;
  const opt = { ...DEFAULTS, ...Object.fromEntries(Object.entries(deps).filter(([, v]) => typeof v === 'number')) } as typeof DEFAULTS;
  const log = deps.logger;
  const m = storeMetrics(deps.metrics, () => {
    try {
      const first = store.isOpen ? store.devices.oldestFirstSeen('pending') : null;
      return first === null ? 0 : Math.max(0, (now() - first) / 1000);
    } catch {
      return 0;
    }
  });
  let cfg = initialCfg;
  let snap: PolicySnapshot | null = null;
  let dirty = true;
  const pending = new Set<string>();
  const recent = new Map<string, string>();
  const settingsListeners = new Set<(s: RuntimeSettings) => void>();
  let current: RuntimeSettings = readSettings();
  let dataVersion = store.dataVersion();
  // A broken database must not turn every decision into an error line.
  const rebuildErrors = rateLimited(60_000, 5, now);

  const recorder = new Recorder(store, {
    flushIntervalMs: opt.flushIntervalMs,
    batchSize: Math.max(1, Math.floor(opt.queueMax / 4)),
    queueMax: opt.queueMax,
    now,
    logger: log,
    isKnown: (mac) => fresh().inventory.byMac.has(mac),
    onDropped: (n) => m?.dropped.inc(n),
  });

  function readSettings(): RuntimeSettings {
    const base = { answering: cfg.server.answering, responseDelaySeconds: cfg.server.responseDelaySeconds, interfaces: cfg.server.interfaces };
    return effectiveSettings(base, store.settings.overrides());
  }

  function refreshSettings(): void {
    const next = readSettings();
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    current = next;
    log.info({ settings: next }, 'run-time settings changed');
    for (const l of settingsListeners) {
      try { l(next); } catch (err) { log.error({ err: (err as Error).message }, 'settings listener failed'); }
    }
  }

  function build(): PolicySnapshot {
    const computers = store.computers.all();
    const inventory = buildInventoryIndex(computers.map((c) => ({
      name: c.name, macs: c.macs, guid: c.guid, profile: c.profile, kind: c.kind, bootOnceConsumed: c.bootOnceConsumedAt !== null,
    })));
    const rejected = new Set(store.devices.macs('rejected'));
    pending.clear();
    for (const mac of store.devices.macs('pending')) pending.add(mac);
    // Seen but not yet written: they count against the bound already.
    for (const mac of recorder.unflushedPending()) if (!inventory.byMac.has(mac) && !rejected.has(mac)) pending.add(mac);
    m?.pending.set(pending.size);
    snap = {
      ...snapshotFromConfig(cfg),
      answering: current.answering,
      inventory,
      rejected,
      pending,
      pendingMax: cfg.store.pendingMax,
    };
    dirty = false;
    return snap;
  }

  /** The current snapshot, rebuilt if something changed; never throws (the last good view is kept). */
  function fresh(): PolicySnapshot {
    if (!dirty && snap) return snap;
    try {
      return build();
    } catch (err) {
      // Keep deciding on the last good view rather than failing every door.
      rebuildErrors(() => log.error({ err: (err as Error).message }, 'policy snapshot rebuild failed'));
      return snap ?? snapshotFromConfig(cfg);
    }
  }

  function onChange(kind: ChangeKind): void {
    dirty = true;
    if (kind === 'settings') refreshSettings();
  }
  const unsubscribe = store.onChange(onChange);

  /** Another process (the CLI on the database file) committed: rebuild before the next decision. */
  function checkExternalChanges(): boolean {
    try {
      if (!store.isOpen) return false;
      const v = store.dataVersion();
      if (v === dataVersion) return false;
      dataVersion = v;
      dirty = true;
      refreshSettings();
      return true;
    } catch (err) {
      log.error({ err: (err as Error).message }, 'store poll failed');
      return false;
    }
  }
  const poll = setInterval(checkExternalChanges, opt.pollIntervalMs);
  poll.unref();

  let pruning: Promise<number> | null = null;
  /** Deletes events past the retention age and beyond the row cap; resolves with how many went. */
  function prune(): Promise<number> {
    if (pruning) return pruning;
    const cutoff = now() - cfg.store.auditRetentionDays * 86_400_000;
    let removed = 0;
    pruning = new Promise<number>((resolve) => {
      // Small chunks, one transaction each, yielding between them: the DHCP path never waits long.
      const step = (): void => {
        try {
          const n = !store.isOpen ? 0
            : store.tx(() => store.audit.deleteOlderThan(cutoff, PRUNE_CHUNK) || store.audit.trimTo(opt.auditMaxRows, PRUNE_CHUNK));
          removed += n;
          if (n > 0) { setImmediate(step); return; }
          if (removed > 0) log.info({ removed }, 'audit events pruned');
        } catch (err) {
          log.error({ err: (err as Error).message }, 'audit prune failed');
        }
        pruning = null;
        resolve(removed);
      };
      step();
    });
    return pruning;
  }
  const pruneTimer = setInterval(() => void prune(), opt.pruneIntervalMs);
  pruneTimer.unref();
  const firstPrune = setImmediate(() => void prune());

  function remember(mac: string, computer: string): void {
    if (recent.get(mac) === computer) return;
    recent.delete(mac);
    recent.set(mac, computer);
    if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value as string);
  }

  function record(client: ClientInfo, decision: Decision, context: DecisionContext): void {
    // Routine DHCP traffic from machines that are not network booting is not a boot attempt.
    if (decision.reason === 'not-pxe') return;
    const at = now();
    const computer = 'computer' in decision ? decision.computer : null;
    if (computer !== null) remember(client.mac, computer);
    recorder.event(auditEvent({
      at, type: 'decision', mac: client.mac, door: client.door, decision: decision.kind, reason: decision.reason,
      profile: 'profile' in decision ? decision.profile : null, computer, ip: client.ip,
      arch: client.arch ?? (client.archCode === null ? null : String(client.archCode)),
      detail: context.file ?? ('target' in decision ? decision.target.path : null),
    }));
    if (decision.kind === 'pending' || decision.reason === 'rejected') {
      const insert = decision.kind === 'pending';
      recorder.sighting({
        mac: client.mac, guid: client.guid, arch: client.arch, archCode: client.archCode, vendorClass: client.vendorClass || null,
        ip: client.ip, firstSeen: at, lastSeen: at, attempts: 1,
      }, insert);
      if (insert && !pending.has(client.mac)) {
        pending.add(client.mac);
        m?.pending.set(pending.size);
      }
    }
  }

  function markServed(mac: string, profile: string, path: string): boolean {
    const profileCfg = cfg.profiles[profile];
    if (!profileCfg || !isCompletionMarker(profileCfg, path)) return false;
    const name = recent.get(mac);
    const computer = store.computers.byMac(mac) ?? (name === undefined ? undefined : store.computers.byName(name));
    if (!computer || computer.profile !== profile || computer.bootOnceConsumedAt !== null) return false;
    if (!isRequired(computer.kind, profileCfg)) return false;
    const done = setBootOnce(store, { computer, consumed: true, by: `marker:${path}`, actor: 'marker', mac, now: now() });
    if (done) log.info({ mac, computer: computer.name, profile, file: path }, 'required deployment consumed (completion marker served)');
    return done;
  }

  return {
    snapshot: fresh,
    record(client, decision, context): void {
      try {
        record(client, decision, context);
      } catch (err) {
        log.error({ err: (err as Error).message, mac: client.mac }, 'recording a decision failed');
      }
    },
    settings: () => current,
    onSettingsChange(listener) {
      settingsListeners.add(listener);
      return () => settingsListeners.delete(listener);
    },
    config: () => cfg,
    reconfigure(next: BootgateConfig): void {
      cfg = next;
      dirty = true;
      refreshSettings();
    },
    markServed(mac, profile, path): boolean {
      try {
        return markServed(mac, profile, path);
      } catch (err) {
        log.error({ err: (err as Error).message, mac, file: path }, 'boot-once marker could not be recorded');
        return false;
      }
    },
    flush: () => recorder.flush(),
    checkExternalChanges,
    prune,
    close(): void {
      clearInterval(poll);
      clearInterval(pruneTimer);
      clearImmediate(firstPrune);
      unsubscribe();
      recorder.close();
    },
  };
}
