/**
 * The one change watch on the store. Changes made through this process's Store are announced by
 * `store.notify(kind)` as they commit; changes committed by another process on the same file (the CLI
 * working on the database directly) show as a new PRAGMA data_version, which this watch reads at most
 * once per interval: on a timer when the appliance is idle, and on demand before a decision (so a
 * decision after a change never waits for the timer). Either way every subscriber hears it through
 * `store.onChange()`, as kind `external`.
 */
import type { Logger } from '../log.js';
import type { Store } from './db.js';

export interface ChangeWatchOptions {
  logger: Logger;
  now?: () => number;
  /** How often data_version is read at most (0: on every poll() call). */
  intervalMs?: number;
}

export class ChangeWatch {
  private version: number;
  private checkedAt = -Infinity;
  private readonly timer: NodeJS.Timeout | null;
  private readonly now: () => number;
  private readonly intervalMs: number;

  constructor(private readonly store: Store, private readonly opts: ChangeWatchOptions) {
    this.now = opts.now ?? Date.now;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.version = store.dataVersion();
    this.timer = this.intervalMs > 0 ? setInterval(() => this.check(), this.intervalMs) : null;
    this.timer?.unref();
  }

  /** Reads data_version if the interval has passed since the last read; cheap enough for every decision. */
  poll(): void {
    if (this.now() - this.checkedAt < this.intervalMs) return;
    this.check();
  }

  /** Reads data_version now; true (and subscribers told) when another process committed since the last read. */
  check(): boolean {
    this.checkedAt = this.now();
    try {
      if (!this.store.isOpen) return false;
      const v = this.store.dataVersion();
      if (v === this.version) return false;
      this.version = v;
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, 'store change watch failed');
      return false;
    }
    this.store.notify('external');
    return true;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
