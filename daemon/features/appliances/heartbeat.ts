/**
 * The heartbeat: every HEARTBEAT_MS the appliance asks the composition root how it is (readiness,
 * store state, subnets) and hands one row to the store's writer, which writes it with its next batch
 * (never on the turn that answers a packet). Boots are counted per minute for the last hour, from the
 * decisions this appliance made.
 */
import type { Logger } from '../../log.js';
import type { ApplianceBeat } from '../../store/appliances.js';

/** Boot decisions in the last hour, in one-minute buckets (bounded: 60 numbers). */
export class BootCounter {
  private readonly buckets = new Array<number>(60).fill(0);
  private readonly minutes = new Array<number>(60).fill(-1);

  add(at: number): void {
    const m = Math.floor(at / 60_000);
    const i = m % 60;
    if (this.minutes[i] !== m) {
      this.minutes[i] = m;
      this.buckets[i] = 0;
    }
    this.buckets[i] = (this.buckets[i] ?? 0) + 1;
  }

  /** Boots in the 60 minutes ending with the current one. */
  lastHour(now: number): number {
    const m = Math.floor(now / 60_000);
    let n = 0;
    for (let i = 0; i < 60; i++) {
      const at = this.minutes[i] ?? -1;
      if (at > m - 60 && at <= m) n += this.buckets[i] ?? 0;
    }
    return n;
  }
}

/** What the composition root knows about the running appliance. */
export interface ApplianceState {
  subnets: string[];
  ready: boolean;
  readiness: string[];
  storeState: string;
}

export interface HeartbeatSource {
  state: () => Promise<ApplianceState>;
  write: (beat: ApplianceBeat) => void;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt: number;

  constructor(
    private readonly opts: { name: string; version: string; intervalMs: number; now: () => number; logger: Logger; boots: BootCounter },
  ) {
    this.startedAt = opts.now();
  }

  /** Beats now and every intervalMs until stop(). */
  start(source: HeartbeatSource): void {
    this.stop();
    void this.beat(source);
    this.timer = setInterval(() => void this.beat(source), this.opts.intervalMs);
    this.timer.unref();
  }

  async beat(source: HeartbeatSource): Promise<void> {
    try {
      const s = await source.state();
      const at = this.opts.now();
      source.write({
        name: this.opts.name, version: this.opts.version, subnets: s.subnets, ready: s.ready, readiness: s.readiness, storeState: s.storeState,
        bootsLastHour: this.opts.boots.lastHour(at), startedAt: this.startedAt, at,
      });
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'heartbeat not queued');
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
