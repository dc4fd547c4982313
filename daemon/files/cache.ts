/**
 * A bounded chunk cache shared by concurrent transfers: a boot storm of 100 clients reading the same
 * boot.wim reads each hot chunk from disk once. Chunks are keyed by the file's identity
 * (dev, ino, size, mtimeMs), so a file an admin replaces on disk gets a new key and is served fresh at
 * once; the old chunks simply age out.
 *
 * Memory: chunks live in a slab of fixed slots (budgetBytes / chunkSize of them) that are reused, never
 * freed. Allocating a buffer per chunk would leave evicted chunks to the garbage collector, and V8 only
 * collects external memory after tens of MB have piled up per thread: measured here, that put a
 * streaming worker ~60 MB over its budget. A slot is reused only when no reader holds it; when every
 * slot is held (more readers than slots), a reader gets an unpooled buffer, so the bound is
 * budget + (readers beyond the slab) * 2 * chunkSize.
 *
 * Views returned by read() point into a slot: copy what must outlive the next read of the same reader.
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
  /**
   * The same read, blocking this thread: only for a thread that has nothing else to do meanwhile (a TFTP
   * worker whose one transfer is in the lock-step loop), where an event-loop turn costs more than the read.
   */
  readSync?(buffer: Buffer, offset: number, length: number, position: number): number;
}

/**
 * How a chunk is laid out in its slot. The raw layout holds the file's bytes; a protocol may store
 * chunks ready to send (TFTP keeps DATA packets, headers included, so a window is one slice).
 */
export interface ChunkLayout {
  /** Distinguishes the layouts of one file in the index. */
  readonly id: string;
  /** Fills `buf` with chunk `index` of a file of `size` bytes; resolves to the bytes used. */
  fill(buf: Buffer, index: number, size: number, reader: PositionalReader): Promise<number>;
  /** fill() with reader.readSync; a layout without it is always read asynchronously. */
  fillSync?(buf: Buffer, index: number, size: number, reader: Required<Pick<PositionalReader, 'readSync'>>): number;
}

/** Reads `length` bytes at `position` into `buf` at `offset`, failing if the file is shorter. */
export async function readFully(reader: PositionalReader, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await reader.read(buf, offset + done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`file shrank while reading: ${position + done} bytes available`);
    done += bytesRead;
  }
}

/** readFully() with reader.readSync. */
export function readFullySync(reader: Required<Pick<PositionalReader, 'readSync'>>, buf: Buffer, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const bytesRead = reader.readSync(buf, offset + done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`file shrank while reading: ${position + done} bytes available`);
    done += bytesRead;
  }
}

/** The file's bytes, chunkSize per chunk. */
export function rawLayout(chunkSize: number): ChunkLayout {
  return {
    id: 'raw',
    async fill(buf, index, size, reader) {
      const start = index * chunkSize;
      const length = Math.max(0, Math.min(chunkSize, size - start));
      await readFully(reader, buf, 0, length, start);
      return length;
    },
  };
}

export interface CacheStats {
  /** Bytes of chunk data indexed (what a hit can be served from). */
  bytes: number;
  chunks: number;
  /** Slab slots allocated so far (each chunkSize bytes, never freed). */
  slots: number;
  hits: number;
  misses: number;
  evictions: number;
  /** Reads served from a buffer outside the slab because every slot was held. */
  overflows: number;
}

/** One chunk's storage. `refs` counts readers holding it; the index itself holds none. */
export interface Slot {
  readonly buf: Buffer;
  length: number;
  refs: number;
  key: string | null;
  readonly pooled: boolean;
}

export class ChunkCache {
  readonly budgetBytes: number;
  readonly chunkSize: number;
  private readonly maxSlots: number;
  /** Indexed chunks; insertion order is recency order (a hit moves the entry to the end). */
  private readonly index = new Map<string, Slot>();
  private readonly loading = new Map<string, { slot: Slot; promise: Promise<Slot> }>();
  private readonly free: Slot[] = [];
  private slots = 0;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private overflows = 0;
  readonly raw: ChunkLayout;

  constructor(opts: { budgetBytes: number; chunkSize?: number }) {
    this.budgetBytes = Math.max(0, opts.budgetBytes);
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.maxSlots = Math.floor(this.budgetBytes / this.chunkSize);
    this.raw = rawLayout(this.chunkSize);
  }

  /**
   * The slot holding chunk `index` of the file, with one reference taken for the caller (give it back
   * with release()). Reads it from disk once however many callers want it at the same time. With `sync`
   * (and a reader and layout that can), a chunk not in memory is read before this returns, blocking the
   * thread; one already being read asynchronously is still waited for.
   */
  acquire(fileKey: string, index: number, size: number, reader: PositionalReader, layout: ChunkLayout = this.raw, sync = false): Slot | Promise<Slot> {
    const k = `${fileKey}/${layout.id}#${index}`;
    const hit = this.index.get(k);
    if (hit !== undefined) {
      this.index.delete(k);
      this.index.set(k, hit);
      hit.refs += 1;
      this.hits += 1;
      return hit;
    }
    const pending = this.loading.get(k);
    if (pending !== undefined) {
      pending.slot.refs += 1;
      return pending.promise;
    }
    this.misses += 1;
    const slot = this.takeSlot();
    slot.refs = 1;
    slot.length = 0;
    const readSync = reader.readSync;
    if (sync && readSync !== undefined && layout.fillSync !== undefined) {
      let length: number;
      try {
        length = layout.fillSync(slot.buf, index, size, { readSync: readSync.bind(reader) });
      } catch (err) {
        this.giveBack(slot);
        throw err;
      }
      return this.loaded(k, slot, length);
    }
    const promise = layout.fill(slot.buf, index, size, reader).then(
      (length) => {
        this.loading.delete(k);
        return this.loaded(k, slot, length);
      },
      (err: unknown) => {
        this.loading.delete(k);
        this.giveBack(slot);
        throw err;
      },
    );
    this.loading.set(k, { slot, promise });
    return promise;
  }

  /** A slot whose chunk has been read: indexed (when it belongs to the slab) and handed to the caller. */
  private loaded(k: string, slot: Slot, length: number): Slot {
    slot.length = length;
    if (slot.pooled) {
      slot.key = k;
      this.index.set(k, slot);
      this.bytes += slot.length;
    }
    return slot;
  }

  /** A slot whose read failed goes back to the free list. */
  private giveBack(slot: Slot): void {
    slot.refs = 0;
    if (slot.pooled) this.free.push(slot);
  }

  /** One more reference to a slot the caller already holds. */
  retain(slot: Slot): void {
    slot.refs += 1;
  }

  release(slot: Slot): void {
    slot.refs -= 1;
    if (slot.refs === 0 && slot.key === null && slot.pooled && !this.free.includes(slot)) this.free.push(slot);
  }

  /** A free slot: never-used, newly allocated, the least recently used unheld chunk, or an unpooled buffer. */
  private takeSlot(): Slot {
    const f = this.free.pop();
    if (f !== undefined) return f;
    if (this.slots < this.maxSlots) {
      this.slots += 1;
      return { buf: Buffer.allocUnsafeSlow(this.chunkSize), length: 0, refs: 0, key: null, pooled: true };
    }
    for (const [k, slot] of this.index) {
      if (slot.refs > 0) continue;
      this.index.delete(k);
      this.bytes -= slot.length;
      slot.key = null;
      this.evictions += 1;
      return slot;
    }
    this.overflows += 1;
    return { buf: Buffer.allocUnsafeSlow(this.chunkSize), length: 0, refs: 0, key: null, pooled: false };
  }

  stats(): CacheStats {
    return {
      bytes: this.bytes, chunks: this.index.size, slots: this.slots, hits: this.hits,
      misses: this.misses, evictions: this.evictions, overflows: this.overflows,
    };
  }
}

interface Prefetch {
  index: number;
  value: Slot | Promise<Slot>;
  /** Taken over by a read while still loading: the read now owns the reference. */
  adopted: boolean;
}

/**
 * One consumer's place in a file through the cache: it holds one reference to its current chunk and
 * prefetches the next, so a sequential reader rarely waits. Shared by CachedReader (HTTP, raw bytes) and
 * the TFTP engine's CachedPackets (ready DATA packets); `acquire` says which layout a chunk is read in.
 */
export class ChunkCursor {
  private curIndex = -1;
  private cur: Slot | null = null;
  private next: Prefetch | null = null;
  private closed = false;

  constructor(
    private readonly cache: ChunkCache,
    /** Chunks in the file: a prefetch past the last one is skipped. */
    private readonly chunks: number,
    /** `sync`: the caller may block on a read (ChunkCache.acquire). */
    private readonly acquire: (index: number, sync: boolean) => Slot | Promise<Slot>,
    /** The error a read still in flight when the cursor closes fails with. */
    private readonly closedMessage: string,
  ) {}

  /** Makes `slot` the current chunk (one reference held by this cursor). */
  private hold(index: number, slot: Slot): Slot {
    if (this.closed) {
      this.cache.release(slot);
      throw new Error(this.closedMessage);
    }
    if (this.cur !== null) this.cache.release(this.cur);
    this.curIndex = index;
    this.cur = slot;
    return slot;
  }

  /** Chunk `index`: now when it is the current or a loaded prefetched one, or when `sync` reads it now. */
  chunk(index: number, sync = false): Slot | Promise<Slot> {
    if (index === this.curIndex && this.cur !== null) return this.cur;
    let got: Slot | Promise<Slot>;
    const n = this.next;
    if (n !== null && n.index === index) {
      n.adopted = true;
      this.next = null;
      got = n.value;
    } else {
      got = this.acquire(index, sync);
    }
    return got instanceof Promise ? got.then((s) => this.hold(index, s)) : this.hold(index, got);
  }

  prefetch(index: number): void {
    if (this.next?.index === index || index === this.curIndex || index >= this.chunks) return;
    this.dropNext();
    const rec: Prefetch = { index, value: this.acquire(index, false), adopted: false };
    this.next = rec;
    const v = rec.value;
    if (v instanceof Promise) {
      v.then(
        (slot) => {
          if (this.next === rec) rec.value = slot;
          else if (!rec.adopted) this.cache.release(slot);
        },
        () => {
          if (this.next === rec) this.next = null;
        },
      );
    }
  }

  /** Gives up the prefetched chunk (a pending one is released by its own handler when it lands). */
  private dropNext(): void {
    const n = this.next;
    this.next = null;
    if (n !== null && !(n.value instanceof Promise)) this.cache.release(n.value);
  }

  /** Gives the held chunks back to the cache. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.cur !== null) this.cache.release(this.cur);
    this.cur = null;
    this.curIndex = -1;
    this.dropNext();
  }
}

export class CachedReader {
  private readonly cursor: ChunkCursor;

  constructor(
    private readonly cache: ChunkCache,
    readonly fileKey: string,
    readonly size: number,
    reader: PositionalReader,
  ) {
    this.cursor = new ChunkCursor(cache, Math.ceil(size / cache.chunkSize), (index) => cache.acquire(fileKey, index, size, reader), 'reader closed');
  }

  /**
   * `length` bytes at `offset` (clipped to the file), synchronously when cached. The result is a view
   * into a slot that may be reused after this reader moves on: copy it before the next read.
   */
  read(offset: number, length: number): Buffer | Promise<Buffer> {
    const len = Math.max(0, Math.min(length, this.size - offset));
    const cs = this.cache.chunkSize;
    const index = Math.floor(offset / cs);
    const within = offset - index * cs;
    if (within >= cs / 2) this.cursor.prefetch(index + 1);
    if (len === 0) return Buffer.alloc(0);
    if (within + len <= cs) {
      const c = this.cursor.chunk(index);
      return c instanceof Promise ? c.then((s) => s.buf.subarray(within, within + len)) : c.buf.subarray(within, within + len);
    }
    // The block straddles two chunks: copy the first part before the reader moves to the second.
    const first = cs - within;
    const a = this.read(offset, first);
    const joinWith = (x: Buffer): Buffer | Promise<Buffer> => {
      const head = Buffer.from(x);
      const b = this.read(offset + first, len - first);
      return b instanceof Promise ? b.then((y) => Buffer.concat([head, y], len)) : Buffer.concat([head, b], len);
    };
    return a instanceof Promise ? a.then(joinWith) : joinWith(a);
  }

  /** Gives the held chunks back to the cache. */
  close(): void {
    this.cursor.close();
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

  /** Bytes start..end (inclusive, as in an HTTP Range) through the cache, as copies the consumer may keep. */
  stream(cache: ChunkCache, start = 0, end = this.identity.size - 1): Readable {
    const r = this.reader(cache);
    let pos = start;
    const last = Math.min(end, this.identity.size - 1);
    return new Readable({
      async read() {
        if (pos > last) {
          r.close();
          this.push(null);
          return;
        }
        const want = Math.min(cache.chunkSize - (pos % cache.chunkSize), last - pos + 1);
        try {
          const buf = Buffer.from(await r.read(pos, want));
          pos += buf.length;
          this.push(buf);
        } catch (err) {
          r.close();
          this.destroy(err as Error);
        }
      },
      destroy(err, cb) {
        r.close();
        cb(err);
      },
    });
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
