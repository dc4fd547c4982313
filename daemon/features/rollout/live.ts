/**
 * The rollout gate as the running daemon sees it: rebuilt when the minute turns (windows have minute
 * precision, so a window opens exactly on time), when a rollout day begins, and when the inventory,
 * membership, results or halts change (through this process, or another process such as the CLI
 * committing to the same database, seen via PRAGMA data_version). Between rebuilds a decision costs a
 * comparison and two map lookups. The gate is this feature's part of the policy snapshot (the store
 * backend asks `gate()` for every snapshot; daemon/store/backend.ts SnapshotParts).
 */
import type { BootgateConfig } from '../../config/schema.js';
import { rateLimited, type Logger } from '../../log.js';
import type { RolloutGate } from '../../policy/decide.js';
import { compileWindows, groupWindows, rolloutsOf } from './config.js';
import { tallyByGroup } from './failures.js';
import { buildGate, OPEN_GATE, type ProfileAdmission } from '../../policy/rollout.js';
import { rolloutDay } from './plan.js';
import type { RolloutMetrics } from './metrics.js';
import { UNGROUPED, type GateInputs, type LoadedRollout, type RolloutService } from './service.js';
import { inWindow, type WindowSpec } from './windows.js';

export interface LiveOptions {
  now?: () => number;
  logger?: Logger;
  metrics?: RolloutMetrics;
  /** Rebuild this often even when no client asks (default 60 s; 0 = only on demand). */
  refreshMs?: number;
  /**
   * Reads the gate's inputs off this thread (the service host's, on the shared store): the gate then
   * never waits on the database; until a read lands, decisions use the last gate with its windows
   * brought to the minute (nobody admitted before the first). Without it they are read in place.
   */
  readInputs?: (t: number) => Promise<GateInputs>;
}

export interface LiveRollouts {
  /** The gate for now; never throws (the last good gate, or a closed one, when the store fails). */
  gate(): RolloutGate;
  /** A reloaded configuration: rollouts and windows change at once. */
  reconfigure(): void;
  close(): void;
}

const MINUTE = 60_000;

interface Built {
  minute: number;
  admissions: Map<string, ProfileAdmission>;
  windowOf: Map<string, string>;
  gate: RolloutGate;
}

/** Fail safe when nothing could be read: nobody is admitted and every window counts as closed. */
function closedGate(cfg: BootgateConfig): RolloutGate {
  const rollouts = new Map<string, ProfileAdmission>();
  for (const [name, p] of Object.entries(cfg.profiles)) {
    if (p.rollout) rollouts.set(name, { admitted: new Set(), fallback: p.rollout.notAdmitted === 'previous' ? p.rollout.previousProfile : null });
  }
  return buildGate({ rollouts, windowOf: new Map(), open: new Map() });
}

export function createLiveRollouts(service: RolloutService, cfg: () => BootgateConfig, opts: LiveOptions = {}): LiveRollouts {
  const now = opts.now ?? Date.now;
  const errors = rateLimited(60_000, 5, now);
  const store = service.repo.store;
  let built: Built | null = null;
  let dirty = true;
  /** Bumped by every change: a read that began before one does not clear `dirty`. */
  let changes = 0;
  let reading = false;
  let windows: Map<string, WindowSpec> = new Map();
  let windowsFor: BootgateConfig | null = null;
  let days = new Map<string, number>();
  let failed: { minute: number; gate: RolloutGate } | null = null;

  // One change watch (the store's): rollout changes through this process show in the metrics at once,
  // not at the next decision; inventory changes and commits by another process rebuild at the next gate().
  const offStore = store.onChange((kind) => {
    if (kind !== 'inventory' && kind !== 'rollout' && kind !== 'external') return;
    dirty = true;
    changes += 1;
    if (kind === 'rollout') gate();
  });

  function dayChanged(c: BootgateConfig, t: number): boolean {
    // The day index of each rollout, in its own zone; cheap enough to check once a minute.
    let changed = false;
    const next = new Map<string, number>();
    for (const [name, p] of Object.entries(c.profiles)) {
      if (!p.rollout) continue;
      const day = rolloutDay(p.rollout, t);
      next.set(name, day);
      if (days.get(name) !== day) changed = true;
    }
    if (next.size !== days.size) changed = true;
    days = next;
    return changed;
  }

  function publish(loaded: LoadedRollout[]): void {
    const m = opts.metrics;
    if (!m) return;
    for (const g of [m.admitted, m.done, m.failed, m.halted]) g.reset();
    for (const l of loaded) {
      const tally = tallyByGroup(l.results);
      for (const g of l.plan.groups) {
        const labels = { profile: l.profile, group: g.group };
        m.admitted.set(labels, [...l.plan.admitted.values()].filter((a) => a.group === g.group).length);
        m.done.set(labels, tally.get(g.group)?.done ?? 0);
        m.failed.set(labels, tally.get(g.group)?.failed ?? 0);
        m.halted.set(labels, l.halts.some((h) => h.group === g.group && h.resumedAt === null) ? 1 : 0);
      }
    }
  }

  /** The gate at `t`; `inputs` when the store's data must be read again ('read' is returned when it must and none was given). */
  function rebuild(c: BootgateConfig, t: number, inputs: GateInputs | null): Built | 'read' {
    // A reloaded config may change rollouts, windows and which group keeps which window.
    const newConfig = windowsFor !== c;
    if (newConfig) { windows = compileWindows(c); windowsFor = c; }
    const minute = Math.floor(t / MINUTE);
    // Most appliances have neither: then nothing is read from the store at all.
    if (windows.size === 0 && rolloutsOf(c).length === 0) {
      dirty = false;
      publish([]);
      return { minute, admissions: new Map(), windowOf: new Map(), gate: OPEN_GATE };
    }
    let admissions = built?.admissions;
    let windowOf = built?.windowOf;
    const newDay = dayChanged(c, t);
    if (inputs || dirty || newConfig || newDay || !admissions || !windowOf) {
      if (!inputs) return 'read';
      const { loaded } = inputs;
      admissions = new Map(loaded.map((l) => [l.profile, {
        admitted: new Set(l.plan.admitted.keys()),
        fallback: l.rollout.notAdmitted === 'previous' ? l.rollout.previousProfile : null,
      }]));
      const byGroup = groupWindows(c);
      const membership = new Map(inputs.members.map((mb) => [mb.computer.toLowerCase(), mb]));
      windowOf = new Map();
      for (const name of inputs.computers) {
        const mb = membership.get(name.toLowerCase());
        const w = mb?.window ?? byGroup.get(mb?.group ?? UNGROUPED);
        if (w !== undefined) windowOf.set(name.toLowerCase(), w);
      }
      publish(loaded);
    }
    const open = new Map([...windows].map(([name, spec]) => [name, inWindow(spec, t)]));
    return { minute, admissions, windowOf, gate: buildGate({ rollouts: admissions, windowOf, open }) };
  }

  /** Reads the inputs on this thread and builds the gate from them. */
  function buildInPlace(c: BootgateConfig, t: number): Built {
    const r = rebuild(c, t, service.gateInputs(t));
    if (r === 'read') throw new Error('rollout inputs read but not used');
    dirty = false;
    return r;
  }

  /** The last gate with its windows brought to `t` (while a read is under way). */
  function interim(t: number): Built | null {
    if (!built) return null;
    const open = new Map([...windows].map(([name, spec]) => [name, inWindow(spec, t)]));
    return { ...built, minute: Math.floor(t / MINUTE), gate: buildGate({ rollouts: built.admissions, windowOf: built.windowOf, open }) };
  }

  /** Reads the inputs off this thread; the gate they make replaces the current one when they land. */
  function readAsync(read: (t: number) => Promise<GateInputs>): void {
    if (reading) return;
    reading = true;
    const seen = changes;
    const t = now();
    read(t).then((inputs) => {
      const r = rebuild(cfg(), t, inputs);
      if (r === 'read') return;
      built = r;
      failed = null;
      if (changes === seen) dirty = false;
    }, (err: unknown) => {
      errors(() => opts.logger?.error({ err: (err as Error).message }, 'rollout gate rebuild failed; keeping the last good gate (or nobody admitted, windows closed)'));
      failed = { minute: Math.floor(now() / MINUTE), gate: built?.gate ?? closedGate(cfg()) };
    }).finally(() => { reading = false; });
  }

  function gate(): RolloutGate {
    const t = now();
    const c = cfg();
    const minute = Math.floor(t / MINUTE);
    try {
      if (built && !dirty && built.minute === minute && windowsFor === c) return built.gate;
      // After a failure, try again next minute rather than on every decision.
      if (failed && failed.minute === minute) return failed.gate;
      if (reading && built && built.minute === minute && windowsFor === c) return built.gate;
      let r = rebuild(c, t, null);
      if (r === 'read' && opts.readInputs) {
        readAsync(opts.readInputs);
        r = interim(t) ?? { minute, admissions: new Map(), windowOf: new Map(), gate: closedGate(c) };
      } else if (r === 'read') {
        r = buildInPlace(c, t);
      }
      built = r;
      failed = null;
      return built.gate;
    } catch (err) {
      errors(() => opts.logger?.error({ err: (err as Error).message }, 'rollout gate rebuild failed; keeping the last good gate (or nobody admitted, windows closed)'));
      failed = { minute, gate: built?.gate ?? closedGate(c) };
      return failed.gate;
    }
  }

  // Off-thread reads: the first gate is still built here, at start, before any machine asks.
  if (opts.readInputs) {
    try {
      const c = cfg();
      const t = now();
      if (rebuild(c, t, null) === 'read') built = buildInPlace(c, t);
    } catch (err) {
      errors(() => opts.logger?.error({ err: (err as Error).message }, 'rollout gate: the first build failed; nobody admitted until a read succeeds'));
    }
  }

  // Also without decisions (an idle appliance), the day's admissions are recorded as the day begins
  // and the metrics follow changes made by the CLI on the database file.
  const tick = opts.refreshMs === 0 ? null : setInterval(gate, opts.refreshMs ?? MINUTE);
  tick?.unref();

  return {
    gate,
    reconfigure(): void {
      dirty = true;
    },
    close(): void {
      if (tick) clearInterval(tick);
      offStore();
    },
  };
}
