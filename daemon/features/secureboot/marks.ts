/**
 * Which machines run Secure Boot, as the decision path asks it. On SQLite the table is read at each
 * question (one indexed lookup: a machine marked with the CLI on the database file counts at once). On
 * the shared store the decision path never waits on the database: the marks are kept in memory, read
 * once at start and again (on the service host's thread) whenever the change feed says the table
 * changed, here or on another appliance; a refusal noticed here counts at once.
 */
import type { Logger } from '../../log.js';
import type { SecureBootFacts } from '../../policy/secure-boot.js';
import type { Store } from '../../store/db.js';
import type { SecureBootRepo } from './store.js';

export class SecureBootMarks implements SecureBootFacts {
  /** The shared store's copy (null on SQLite, where the table itself is asked). */
  private marked: Set<string> | null;
  /** Marked here and not yet seen in a load. */
  private readonly ahead = new Set<string>();
  private loading: Promise<void> | null = null;
  private again = false;
  private readonly off: () => void;

  constructor(private readonly o: { store: Store; repo: SecureBootRepo; load: () => Promise<string[]>; logger: Logger }) {
    this.marked = o.store.shared ? new Set(o.repo.macs()) : null;
    this.off = o.store.shared
      ? o.store.onChange((kind) => { if (kind === 'secureboot' || kind === 'external') void this.refresh(); })
      : () => undefined;
  }

  has(mac: string): boolean {
    if (this.marked) return this.marked.has(mac) || this.ahead.has(mac);
    try {
      return this.o.store.isOpen && this.o.repo.has(mac);
    } catch {
      return false;
    }
  }

  /** A mark being written here: counted at once, and until a load that began after the write ended. */
  add(mac: string, written: Promise<unknown>): void {
    if (!this.marked) return;
    this.ahead.add(mac);
    void written.catch(() => undefined).then(() => this.refresh()).then(() => { this.ahead.delete(mac); });
  }

  /** Loads the marks again (one load at a time; a change meanwhile loads once more). */
  refresh(): Promise<void> {
    if (!this.marked) return Promise.resolve();
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        try {
          this.marked = new Set(await this.o.load());
        } catch (err) {
          this.o.logger.warn({ err: (err as Error).message }, 'secure boot: reading the marked machines failed; answering from the last list');
          break;
        }
      } while (this.again);
    })().finally(() => { this.loading = null; });
    return this.loading;
  }

  close(): void {
    this.off();
  }
}
