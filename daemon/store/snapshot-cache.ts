/**
 * The policy snapshot cache behind the store backend (backend.ts): config + inventory + devices, rebuilt
 * only when marked dirty; on the shared store loaded on the link's pool and swapped in when it arrives,
 * with the required deployments consumed here carried until a load shows them.
 */
import type { BootgateConfig } from '../config/schema.js';
import { rateLimited, type Logger } from '../log.js';
import { snapshotFromConfig, type PolicySnapshot } from '../policy/decide.js';
import { buildInventoryIndex, type KnownComputer } from '../policy/inventory.js';
import type { BaseData, StoreMetrics } from './backend-parts.js';
import type { Store } from './db.js';

/**
 * The policy snapshot, rebuilt only when marked dirty. The pending set is one live object: record()
 * adds to it between rebuilds, so the pending bound holds without a rebuild per new device.
 */
export class SnapshotCache {
  readonly pending = new Set<string>();
  private snap: PolicySnapshot | null = null;
  private dirty = true;
  // A broken database must not turn every decision into an error line.
  private readonly rebuildErrors;

  constructor(
    private readonly store: Store,
    private readonly cfg: () => BootgateConfig,
    private readonly answering: () => boolean,
    private readonly unflushedPending: () => string[],
    private readonly m: StoreMetrics | null,
    private readonly log: Logger,
    now: () => number,
  ) {
    this.rebuildErrors = rateLimited(60_000, 5, now);
  }

  /**
   * Shared store: a rebuild reads the database on the link's pool, off the answer path, and swaps the
   * new snapshot in when it arrives; until then (or while the store is away) the last one answers.
   */
  loadAsync: (() => Promise<BaseData>) | null = null;
  private loading: Promise<void> | null = null;
  /** When the snapshot was last known to match the store. */
  currentAt = 0;
  /** The oldest pending device's first sighting, as of the last load (shared store). */
  oldestPending: number | null = null;
  onLoaded: ((data: BaseData) => void) | null = null;
  /**
   * Shared store: computers whose required deployment this appliance consumed and whose consumption a
   * loaded snapshot does not show yet (the journal has not written it, or a reload read before it did).
   * Each snapshot counts them consumed until one read from the store does: a machine back at F12 right
   * after its marker must not be offered the deployment again.
   */
  private readonly consumedAhead = new Set<string>();

  /** The computer's deployment was consumed here: the current snapshot says so at once, every later one until the store does. */
  consumedHere(known: KnownComputer): void {
    this.consumedAhead.add(known.name);
    known.bootOnceConsumed = true;
  }

  markDirty(): void {
    this.dirty = true;
    if (this.loadAsync) this.reload();
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /** The current snapshot; never throws (the last good view is kept when a rebuild fails). */
  get(): PolicySnapshot {
    if (!this.dirty && this.snap) return this.snap;
    if (this.loadAsync && this.snap) {
      this.reload();
      return this.snap;
    }
    try {
      return this.build();
    } catch (err) {
      this.rebuildErrors(() => this.log.error({ err: (err as Error).message }, 'policy snapshot rebuild failed'));
      return this.snap ?? snapshotFromConfig(this.cfg());
    }
  }

  /** Resolves once no reload is under way or due (shared store). */
  async settled(): Promise<void> {
    for (let i = 0; i < 5 && (this.loading || (this.loadAsync && this.dirty)); i++) await (this.loading ?? this.reload());
  }

  /** Starts a reload unless one is under way; one that finds the cache dirty again when it ends runs once more. */
  reload(): Promise<void> {
    const load = this.loadAsync;
    if (!load) return Promise.resolve();
    if (this.loading) return this.loading;
    this.dirty = true;
    this.loading = (async () => {
      for (let i = 0; i < 5 && this.dirty; i++) {
        this.dirty = false;
        try {
          const data = await load();
          // The settings first: the snapshot carries the answering switch they give.
          this.onLoaded?.(data);
          this.assemble(data);
          this.currentAt = Date.now();
        } catch (err) {
          this.dirty = true;
          this.rebuildErrors(() => this.log.warn({ err: (err as Error).message }, 'policy snapshot reload failed; answering from the last one'));
          break;
        }
      }
    })().finally(() => { this.loading = null; });
    return this.loading;
  }

  addPending(mac: string): void {
    if (this.pending.has(mac)) return;
    this.pending.add(mac);
    this.m?.pending.set(this.pending.size);
  }

  private build(): PolicySnapshot {
    const { store } = this;
    const snap = this.assemble({ computers: store.computers.all(), rejected: store.devices.macs('rejected'), pending: store.devices.macs('pending') });
    this.currentAt = Date.now();
    return snap;
  }

  private assemble(data: BaseData): PolicySnapshot {
    if (this.consumedAhead.size > 0) {
      // Shown consumed by the store now, or deleted meanwhile: nothing left to carry.
      const unconsumed = new Set(data.computers.filter((c) => c.bootOnceConsumedAt === null).map((c) => c.name));
      for (const name of this.consumedAhead) if (!unconsumed.has(name)) this.consumedAhead.delete(name);
    }
    const inventory = buildInventoryIndex(data.computers.map((c) => ({
      name: c.name, macs: c.macs, guid: c.guid, profile: c.profile, kind: c.kind,
      bootOnceConsumed: c.bootOnceConsumedAt !== null || this.consumedAhead.has(c.name),
    })));
    const rejected = new Set(data.rejected);
    if (data.oldestPending !== undefined) this.oldestPending = data.oldestPending;
    this.pending.clear();
    for (const mac of data.pending) this.pending.add(mac);
    // Seen but not yet written: they count against the bound already.
    for (const mac of this.unflushedPending()) if (!inventory.byMac.has(mac) && !rejected.has(mac)) this.pending.add(mac);
    this.m?.pending.set(this.pending.size);
    const cfg = this.cfg();
    this.snap = { ...snapshotFromConfig(cfg), answering: this.answering(), inventory, rejected, pending: this.pending, pendingMax: cfg.store.pendingMax };
    this.dirty = false;
    return this.snap;
  }
}
