/**
 * Whole boot files in memory for the HTTP door: a kernel and initrd that a storm of iPXE clients
 * fetches are read from disk once and written to every socket straight from one Buffer. Streaming a
 * file per request costs a read into a fresh buffer per chunk (a copy and garbage per client); a
 * shared Buffer costs only the socket write. Measured in the boot storm bench (bench/boot-storm.ts):
 * with per-request streams the main thread spent a third of its time in those reads and the garbage
 * they left.
 *
 * Entries are keyed by the file's identity (dev, ino, size, mtime) from the handle they were read
 * through, so a file an admin replaces is served fresh at once and the old copy ages out. Files larger
 * than half the budget are not kept (the caller streams them); the least recently used entries are
 * dropped to stay within the budget. A Buffer being written to sockets stays alive until those writes
 * end, whatever the cache does with it.
 */
import { open } from 'node:fs/promises';
import { identityKey, type FileIdentity } from './cache.js';

export interface WholeFileStats {
  bytes: number;
  files: number;
  hits: number;
  misses: number;
  evictions: number;
}

export class WholeFileCache {
  /** Insertion order is recency order: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer | null>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(private budgetBytes: number) {}

  /** The largest file kept: half the budget, so one file never empties the cache for itself alone. */
  get maxFileBytes(): number {
    return Math.floor(this.budgetBytes / 2);
  }

  /** A new budget (configuration reload): entries beyond it are dropped now. */
  resize(budgetBytes: number): void {
    this.budgetBytes = Math.max(0, budgetBytes);
    this.trim(0);
  }

  /**
   * The file's bytes when it is (or can now be) kept, else null: the caller streams it. `id` is the
   * identity the caller stat'ed; the bytes come from a handle whose own identity must match it, so a
   * file replaced between the two is not cached under the wrong key (null: the caller streams it).
   */
  get(abs: string, id: FileIdentity): Buffer | Promise<Buffer | null> | null {
    if (id.size > this.maxFileBytes) return null;
    const key = identityKey(id);
    const hit = this.entries.get(key);
    if (hit) {
      this.hits += 1;
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const pending = this.loading.get(key);
    if (pending) return pending;
    this.misses += 1;
    const load = this.load(abs, key).finally(() => this.loading.delete(key));
    this.loading.set(key, load);
    return load;
  }

  private async load(abs: string, key: string): Promise<Buffer | null> {
    const handle = await open(abs, 'r');
    try {
      const st = await handle.stat();
      if (identityKey({ dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs }) !== key) return null;
      const buf = await handle.readFile();
      if (buf.length !== st.size) return null;
      this.trim(buf.length);
      if (buf.length > this.budgetBytes - this.bytes) return null;
      this.entries.set(key, buf);
      this.bytes += buf.length;
      return buf;
    } finally {
      await handle.close();
    }
  }

  /** Drops the least recently used entries until `room` more bytes fit the budget. */
  private trim(room: number): void {
    for (const [key, buf] of this.entries) {
      if (this.bytes + room <= this.budgetBytes) break;
      this.entries.delete(key);
      this.bytes -= buf.length;
      this.evictions += 1;
    }
  }

  stats(): WholeFileStats {
    return { bytes: this.bytes, files: this.entries.size, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
