/**
 * A bounded chunk cache shared by concurrent transfers: a boot storm of 100 clients reading the same
 * boot.wim reads each hot chunk from disk once. Chunks are keyed by the file's identity
 * (dev, ino, size, mtimeMs), so a file an admin replaces on disk gets a new key and is served fresh at
 * once; the old chunks simply age out.
 *
 * Memory: the cache holds at most `budgetBytes` of chunks. A reader additionally pins the chunk it is
 * reading (and one prefetched), so the process-wide bound is budget + readers * 2 * chunkSize.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

export const DEFAULT_CHUNK_SIZE = 256 * 1024;

export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export function identityKey(id: FileIdentity): string {
  return `${id.dev}:${id.ino}:${id.size}:${id.mtimeMs}`;
}

/** Something that can read bytes at an offset: a FileHandle, or a raw fd wrapper in a worker thread. */
export interface PositionalReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

export interface CacheStats {
  bytes: number;
  chunks: number;
  hits: number;
  misses: number;
  evictions: number;
}

export class ChunkCache {
  readonly budgetBytes: number;
  readonly chunkSize: number;
  /** Insertion order is recency order: a hit moves the entry to the end. */
  private readonly chunks = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(opts: { budgetBytes: number; chunkSize?: number }) {
    this.budgetBytes = Math.max(0, opts.budgetBytes);
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /** A cached chunk, or undefined (no I/O). */
  peek(fileKey: string, index: number): Buffer | undefined {
    const k = `${fileKey}#${index}`;
    const buf = this.chunks.get(k);
    if (buf !== undefined) {
      this.chunks.delete(k);
      this.chunks.set(k, buf);
      this.hits += 1;
    }
    return buf;
  }

  /** The chunk, reading it once however many transfers ask for it at the same time. */
  load(fileKey: string, index: number, size: number, reader: PositionalReader): Buffer | Promise<Buffer> {
    const hit = this.peek(fileKey, index);
    if (hit !== undefined) return hit;
    const k = `${fileKey}#${index}`;
    const pending = this.loading.get(k);
    if (pending !== undefined) return pending;
    this.misses += 1;
    const p = this.read(index, size, reader).then(
      (buf) => {
        this.loading.delete(k);
        this.insert(k, buf);
        return buf;
      },
      (err: unknown) => {
        this.loading.delete(k);
        throw err;
      },
    );
    this.loading.set(k, p);
    return p;
  }

  private async read(index: number, size: number, reader: PositionalReader): Promise<Buffer> {
    const start = index * this.chunkSize;
    const length = Math.max(0, Math.min(this.chunkSize, size - start));
    const buf = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await reader.read(buf, done, length - done, start + done);
      if (bytesRead === 0) throw new Error(`file shrank while reading: ${start + done} of ${size} bytes`);
      done += bytesRead;
    }
    return buf;
  }

  private insert(k: string, buf: Buffer): void {
    if (buf.length > this.budgetBytes) return;
    const old = this.chunks.get(k);
    if (old !== undefined) this.bytes -= old.length;
    this.chunks.set(k, buf);
    this.bytes += buf.length;
    for (const [key, chunk] of this.chunks) {
      if (this.bytes <= this.budgetBytes) break;
      this.chunks.delete(key);
      this.bytes -= chunk.length;
      this.evictions += 1;
    }
  }

  stats(): CacheStats {
    return { bytes: this.bytes, chunks: this.chunks.size, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}

/**
 * One reader's view of a file through the cache. It keeps the chunk it is reading (so consecutive
 * blocks do not touch the shared map) and prefetches the next one when past the middle of a chunk.
 */
export class CachedReader {
  private curIndex = -1;
  private cur: Buffer | null = null;
  /** The prefetched chunk, held here too so a zero-budget cache does not read it twice. */
  private nextIndex = -1;
  private next: Buffer | Promise<Buffer> | null = null;

  constructor(
    private readonly cache: ChunkCache,
    readonly fileKey: string,
    readonly size: number,
    private readonly reader: PositionalReader,
  ) {}

  private chunk(index: number): Buffer | Promise<Buffer> {
    if (index === this.curIndex && this.cur !== null) return this.cur;
    let got: Buffer | Promise<Buffer>;
    if (index === this.nextIndex && this.next !== null) {
      got = this.next;
      this.next = null;
      this.nextIndex = -1;
    } else {
      got = this.cache.load(this.fileKey, index, this.size, this.reader);
    }
    if (got instanceof Promise) {
      return got.then((buf) => {
        this.curIndex = index;
        this.cur = buf;
        return buf;
      });
    }
    this.curIndex = index;
    this.cur = got;
    return got;
  }

  private prefetch(index: number): void {
    if (index === this.nextIndex || index === this.curIndex || index * this.cache.chunkSize >= this.size) return;
    const got = this.cache.load(this.fileKey, index, this.size, this.reader);
    this.nextIndex = index;
    this.next = got;
    if (got instanceof Promise) {
      // Keep the loaded buffer; a failure is retried (and reported) by the read that needs the chunk.
      got.then(
        (buf) => {
          if (this.nextIndex === index) this.next = buf;
        },
        () => {
          if (this.nextIndex === index) {
            this.next = null;
            this.nextIndex = -1;
          }
        },
      );
    }
  }

  /**
   * `length` bytes at `offset` (clipped to the file), synchronously when cached. The result may be a
   * view into a shared chunk: callers must not modify it.
   */
  read(offset: number, length: number): Buffer | Promise<Buffer> {
    const len = Math.max(0, Math.min(length, this.size - offset));
    const cs = this.cache.chunkSize;
    const index = Math.floor(offset / cs);
    const within = offset - index * cs;
    if (within >= cs / 2) this.prefetch(index + 1);
    if (len === 0) return Buffer.alloc(0);
    if (within + len <= cs) {
      const c = this.chunk(index);
      return c instanceof Promise ? c.then((b) => b.subarray(within, within + len)) : c.subarray(within, within + len);
    }
    // The block straddles two chunks: copy both parts into one buffer.
    const first = cs - within;
    const a = this.read(offset, first);
    const b = this.read(offset + first, len - first);
    if (a instanceof Promise || b instanceof Promise) {
      return Promise.all([a, b]).then(([x, y]) => Buffer.concat([x, y], len));
    }
    return Buffer.concat([a, b], len);
  }
}

/** An opened file with its identity, for HTTP and for TFTP in the main thread. */
export class CachedFile {
  private constructor(
    private readonly handle: FileHandle,
    readonly identity: FileIdentity,
    readonly key: string,
  ) {}

  static async open(abs: string): Promise<CachedFile> {
    const handle = await open(abs, 'r');
    try {
      const st = await handle.stat();
      const identity = { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
      return new CachedFile(handle, identity, identityKey(identity));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get size(): number {
    return this.identity.size;
  }

  reader(cache: ChunkCache): CachedReader {
    return new CachedReader(cache, this.key, this.identity.size, this.handle);
  }

  /** Bytes start..end (inclusive, as in an HTTP Range) through the cache. */
  stream(cache: ChunkCache, start = 0, end = this.identity.size - 1): Readable {
    const r = this.reader(cache);
    let pos = start;
    const last = Math.min(end, this.identity.size - 1);
    return new Readable({
      async read() {
        if (pos > last) {
          this.push(null);
          return;
        }
        const want = Math.min(cache.chunkSize - (pos % cache.chunkSize), last - pos + 1);
        try {
          const buf = await r.read(pos, want);
          pos += buf.length;
          this.push(buf);
        } catch (err) {
          this.destroy(err as Error);
        }
      },
    });
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
