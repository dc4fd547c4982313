/**
 * The policy backend on the store, and the one snapshot builder: `snapshot()` is a cached view of
 * config + inventory + devices + run-time settings, rebuilt only when something changes (through this
 * process's Store, or another process committing to the same file, seen by the one ChangeWatch), with
 * the parts features contribute (the rollout gate, the password facts) put in; `record()` queues audit
 * events and device sightings for the batched writer. Boot-once: `markServed()` from the TFTP/HTTP doors.
 */
import type { BootgateConfig } from '../config/schema.js';
import type { DecisionContext, PolicyBackend } from '../boot/gatekeeper.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { isCompletionMarker, isRequired } from '../policy/boot-once.js';
import type { PolicySnapshot, RolloutGate } from '../policy/decide.js';
import type { PasswordFacts } from '../policy/password.js';
import type { SecureBootFacts } from '../policy/secure-boot.js';
import type { ClientInfo, Decision } from '../policy/types.js';
import { setBootOnce } from './boot-once.js';
import type { ChangeKind, Store } from './db.js';
import { ChangeWatch } from './watch.js';
import { SnapshotCache } from './snapshot-cache.js';
import { Recorder } from './recorder.js';
import type { DeviceSighting } from './devices.js';
import type { AuditEventInput } from './audit.js';
import type { ApplianceBeat } from './appliances.js';
import type { PgJournal } from './pg-journal.js';
import { SharedStoreLink } from './pg-backend.js';
import type { RuntimeSettings, SettingOverrides } from './settings.js';
import {
  AuditPruner, RecentComputers, SettingsView, storeMetrics, type StoreHealth,
} from './backend-parts.js';

export type { BaseData, StoreHealth } from './backend-parts.js';

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
  /** What attached features put into every snapshot. */
  parts?: SnapshotParts;
  /** Shared store: events kept in the local journal at most while the database is away. */
  journalMax?: number;
  /** Shared store: the link's ping and reconnection backoff (tests shorten them). */
  link?: { pingMs?: number; backoff?: { minMs: number; maxMs: number } };
}

/**
 * A feature's part of the policy snapshot. Each getter is asked on every decision and must be cheap,
 * returning the same object while nothing changed (the merged snapshot is rebuilt only when one differs).
 */
export interface SnapshotParts {
  rollout?: () => RolloutGate;
  password?: () => PasswordFacts;
  secureBoot?: () => SecureBootFacts;
}

const DEFAULTS = { flushIntervalMs: 250, queueMax: 5000, pollIntervalMs: 1000, pruneIntervalMs: 3_600_000, auditMaxRows: 1_000_000, journalMax: 200_000 };

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
  /** Queues this appliance's heartbeat row for the writer's next batch (never written on the caller's turn). */
  heartbeat(beat: ApplianceBeat): void;
  /** Looks for commits by other processes now (also every pollIntervalMs, and before a decision at most that often); true when there were some. */
  checkExternalChanges(): boolean;
  /** Applies audit retention now (also every pruneIntervalMs); resolves with the number of events removed. */
  prune(): Promise<number>;
  /** Stops timers and flushes; the Store stays open (its owner closes it). */
  close(): void;
  /** Shared store: waits for the journal to be written (as far as the store is reachable). */
  drain(): Promise<void>;
  /** Shared store: waits until the policy snapshot shows what the store holds now (at once on SQLite). */
  settled(): Promise<void>;
  /** Shared store: called with why the store is unreachable, or null when it is back (never on SQLite). */
  onStoreState(listener: (down: string | null) => void): () => void;
  health(): StoreHealth;
}

/** The decision path's writer: the batched Recorder (SQLite) or the journal (shared store). */
interface Writer {
  event(e: AuditEventInput): void;
  sighting(s: DeviceSighting, insert: boolean): void;
  unflushedPending(): string[];
  heartbeat(beat: ApplianceBeat): void;
}

interface Parts {
  store: Store;
  cfg: () => BootgateConfig;
  now: () => number;
  log: Logger;
  cache: SnapshotCache;
  recorder: Writer;
  journal: PgJournal | null;
  recent: RecentComputers;
  repeats: RepeatFilter;
}

/**
 * Firmware retransmits (DISCOVER at about 4, 8, 16 s; 67 then 4011): the audit trail keeps a decision,
 * not each retransmission of it. The same client, door and outcome within REPEAT_WINDOW_MS is one event
 * (logs and metrics still count every packet). Bounded like every per-client table.
 */
const REPEAT_WINDOW_MS = 5000;
const REPEAT_MAX = 50_000;

interface Recent {
  door: string;
  kind: string;
  reason: string;
  file: string | null;
  at: number;
}

/**
 * Outcomes remembered per client: each door (67, 4011, script) and each file of a boot keeps its own; a
 * WinPE boot fetches half a dozen files, so this leaves room for retransmissions across all of them.
 */
const REPEAT_PER_CLIENT = 16;

class RepeatFilter {
  /** By MAC (one short list each, compared field by field: no composite key string per packet). */
  private readonly last = new Map<string, Recent[]>();

  isRepeat(mac: string, door: string, kind: string, reason: string, file: string | null, at: number): boolean {
    let list = this.last.get(mac);
    if (list === undefined) {
      list = [];
      this.last.set(mac, list);
      if (this.last.size > REPEAT_MAX) {
        const oldest = this.last.keys().next();
        if (!oldest.done) this.last.delete(oldest.value);
      }
    }
    for (const r of list) {
      if (r.door !== door || r.kind !== kind || r.reason !== reason || r.file !== file) continue;
      if (at - r.at < REPEAT_WINDOW_MS) return true;
      r.at = at;
      return false;
    }
    if (list.length >= REPEAT_PER_CLIENT) list.shift();
    list.push({ door, kind, reason, file, at });
    return false;
  }
}

function record(p: Parts, client: ClientInfo, decision: Decision, context: DecisionContext): void {
  // Routine DHCP traffic from machines that are not network booting is not a boot attempt.
  if (decision.reason === 'not-pxe') return;
  const at = p.now();
  const computer = 'computer' in decision ? decision.computer : null;
  if (computer !== null) p.recent.remember(client.mac, computer);
  const file = context.file ?? ('target' in decision ? decision.target.path : null);
  const repeat = p.repeats.isRepeat(client.mac, client.door, decision.kind, decision.reason, file, at);
  // Every field spelt out (no auditEvent() spread): this runs for each new decision of a storm.
  if (!repeat) p.recorder.event({
    at, type: 'decision', mac: client.mac, door: client.door, decision: decision.kind, reason: decision.reason,
    profile: 'profile' in decision ? decision.profile : null, computer, ip: client.ip,
    arch: client.arch ?? (client.archCode === null ? null : String(client.archCode)),
    actor: null, detail: file,
  });
  if (decision.kind === 'pending' || decision.reason === 'rejected') {
    const insert = decision.kind === 'pending';
    p.recorder.sighting({
      mac: client.mac, guid: client.guid, arch: client.arch, archCode: client.archCode, vendorClass: client.vendorClass || null,
      ip: client.ip, firstSeen: at, lastSeen: at, attempts: 1,
    }, insert);
    if (insert) p.cache.addPending(client.mac);
  }
}

function markServed(p: Parts, mac: string, profile: string, path: string): boolean {
  const profileCfg = p.cfg().profiles[profile];
  if (!profileCfg || !isCompletionMarker(profileCfg, path)) return false;
  const name = p.recent.get(mac);
  if (p.journal) {
    // Shared store: decided from the snapshot, written by the journal with a conditional UPDATE (so
    // two appliances seeing the same machine consume it once); the TFTP/HTTP door never waits for it.
    const inv = p.cache.get().inventory;
    const named = (c: { name: string }) => c.name === name;
    const known = inv.byMac.get(mac) ?? (name === undefined ? undefined : [...inv.byMac.values()].find(named) ?? [...inv.byGuid.values()].find(named));
    if (!known || known.profile !== profile || known.bootOnceConsumed || !isRequired(known.kind, profileCfg)) return false;
    p.journal.consumed({ computer: known.name, profile, mac, by: `marker:${path}`, at: p.now() });
    p.cache.consumedHere(known);
    p.log.info({ mac, computer: known.name, profile, file: path }, 'required deployment consumed (completion marker served); written to the shared store');
    return true;
  }
  const computer = p.store.computers.byMac(mac) ?? (name === undefined ? undefined : p.store.computers.byName(name));
  if (!computer || computer.profile !== profile || computer.bootOnceConsumedAt !== null) return false;
  if (!isRequired(computer.kind, profileCfg)) return false;
  const done = setBootOnce(p.store, { computer, consumed: true, by: `marker:${path}`, actor: 'marker', mac, now: p.now() });
  if (done) p.log.info({ mac, computer: computer.name, profile, file: path }, 'required deployment consumed (completion marker served)');
  return done;
}

/**
 * The base snapshot with the features' parts put in, and marked stale while the shared store is away;
 * the same object while none of them changed.
 */
function withParts(parts: SnapshotParts, stale: () => boolean): (base: PolicySnapshot) => PolicySnapshot {
  const { rollout, password, secureBoot } = parts;
  let last: { base: PolicySnapshot; r: RolloutGate | undefined; p: PasswordFacts | undefined; s: SecureBootFacts | undefined; st: boolean; merged: PolicySnapshot } | null = null;
  return (base) => {
    const r = rollout?.();
    const p = password?.();
    const s = secureBoot?.();
    const st = stale();
    if (!r && !p && !s && !st) return base;
    if (last === null || last.base !== base || last.r !== r || last.p !== p || last.s !== s || last.st !== st) {
      const merged: PolicySnapshot = { ...base };
      if (r) merged.rollout = r;
      if (p) merged.password = p;
      if (s) merged.secureBoot = s;
      if (st) merged.stale = true;
      last = { base, r, p, s, st, merged };
    }
    return last.merged;
  };
}

function oldestPendingAge(store: Store, now: () => number): number {
  try {
    const first = store.isOpen ? store.devices.oldestFirstSeen('pending') : null;
    return first === null ? 0 : Math.max(0, (now() - first) / 1000);
  } catch {
    return 0;
  }
}

/**
 * Builds the backend: a plain object of functions (no prototype), so the doors can pass its methods around.
 */
export function createStoreBackend(initialCfg: BootgateConfig, store: Store, deps: StoreBackendDeps): StoreBackend {
  const now = deps.now ?? Date.now;
  const opt = { ...DEFAULTS, ...Object.fromEntries(Object.entries(deps).filter(([, v]) => typeof v === 'number')) } as typeof DEFAULTS;
  const log = deps.logger;
  let current = initialCfg;
  const cfg = () => current;
  // The shared store: a live link (change feed, health, pool) and the journal instead of the recorder.
  const shared = store.shared ? new SharedStoreLink(store, { logger: log, now, link: deps.link }) : null;
  const link = shared?.link ?? null;
  let overrides: SettingOverrides = store.settings.overrides();
  const settings = new SettingsView(store, cfg, log, link ? () => overrides : undefined);
  // The writer asks the cache (is this MAC known now?) and the cache asks the writer (what is unwritten?).
  let writer: Writer | undefined;
  let cache: SnapshotCache | undefined;
  const m = storeMetrics(deps.metrics, () => (link ? ageOf(cache?.oldestPending ?? null, now) : oldestPendingAge(store, now)), () => health());
  cache = new SnapshotCache(store, cfg, () => settings.current.answering, () => writer?.unflushedPending() ?? [], m, log, now);
  const snapCache = cache;
  const isKnown = (mac: string) => snapCache.get().inventory.byMac.has(mac);
  let recorder: Recorder | null = null;
  let journal: PgJournal | null = null;
  if (shared) {
    journal = shared.startJournal({
      flushIntervalMs: opt.flushIntervalMs, max: opt.journalMax, isKnown,
      onDropped: (n) => m?.dropped.inc(n),
      onWritten: () => snapCache.markDirty(),
    });
    writer = journal;
    snapCache.get();
    snapCache.loadAsync = () => shared.load();
    snapCache.onLoaded = (data) => {
      // Settings come with the snapshot: the answering switch and delays follow another appliance's change.
      if (data.overrides) { overrides = data.overrides; settings.refresh(); }
    };
  } else {
    recorder = new Recorder(store, {
      flushIntervalMs: opt.flushIntervalMs, batchSize: Math.max(1, Math.floor(opt.queueMax / 4)), queueMax: opt.queueMax, now, logger: log,
      isKnown, onDropped: (n) => m?.dropped.inc(n),
    });
    writer = recorder;
  }
  const parts: Parts = { store, cfg, now, log, cache: snapCache, recorder: writer, journal, recent: new RecentComputers(), repeats: new RepeatFilter() };
  const pruner = new AuditPruner(store, cfg, opt.auditMaxRows, now, log, shared ? (cutoff, keep, chunk) => shared.prune(cutoff, keep, chunk) : undefined);

  const unsubscribe = store.onChange((kind: ChangeKind) => {
    // A feature's own tables (rollout, password) are its part's business, not the base snapshot's.
    if (kind === 'rollout' || kind === 'password') return;
    snapCache.markDirty();
    if (!link && (kind === 'settings' || kind === 'external')) settings.refresh();
  });
  // SQLite: another process on the same file shows as a new data_version. The shared store pushes.
  const watch = link ? null : new ChangeWatch(store, { logger: log, now, intervalMs: opt.pollIntervalMs });
  const compose = withParts(deps.parts ?? {}, () => link !== null && !link.up);
  const timers = [setInterval(() => void pruner.prune(), opt.pruneIntervalMs)];
  for (const t of timers) t.unref();
  const firstPrune = setImmediate(() => void pruner.prune());

  function health(): StoreHealth {
    if (shared) return shared.health(snapCache);
    return { up: store.isOpen, problem: store.isOpen ? null : 'store closed', snapshotAgeSeconds: 0, journal: recorder?.queued ?? 0 };
  }

  return {
    snapshot: () => {
      watch?.poll();
      return compose(snapCache.get());
    },
    record(client, decision, context): void {
      try {
        record(parts, client, decision, context);
      } catch (err) {
        log.error({ err: (err as Error).message, mac: client.mac }, 'recording a decision failed');
      }
    },
    settings: () => settings.current,
    onSettingsChange: (listener) => settings.subscribe(listener),
    config: cfg,
    reconfigure(next: BootgateConfig): void {
      current = next;
      snapCache.markDirty();
      settings.refresh();
    },
    markServed(mac, profile, path): boolean {
      try {
        return markServed(parts, mac, profile, path);
      } catch (err) {
        log.error({ err: (err as Error).message, mac, file: path }, 'boot-once marker could not be recorded');
        return false;
      }
    },
    heartbeat: (beat) => writer.heartbeat(beat),
    flush: () => {
      recorder?.flush();
      void journal?.write();
    },
    checkExternalChanges: () => watch?.check() ?? false,
    prune: () => pruner.prune(),
    drain: async () => {
      await journal?.drain();
      if (link?.up) await snapCache.settled();
    },
    settled: async () => {
      if (link?.up) await snapCache.settled();
    },
    onStoreState: (listener) => link?.onState((up) => listener(up ? null : link.reason ?? 'unreachable')) ?? (() => undefined),
    health,
    close(): void {
      for (const t of timers) clearInterval(t);
      watch?.close();
      clearImmediate(firstPrune);
      unsubscribe();
      recorder?.close();
      shared?.close();
    },
  };
}

function ageOf(first: number | null, now: () => number): number {
  return first === null ? 0 : Math.max(0, (now() - first) / 1000);
}
