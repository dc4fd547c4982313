/**
 * DATA packets ready to send. The chunk cache keeps a file's chunks laid out as consecutive DATA
 * packets for one block size (header, payload, header, payload, ...): block b always carries the same
 * bytes and the same 16-bit number, so every client using that block size shares them, and a window is
 * one contiguous slice of a slot. Sending it is one UDP GSO call (or one call per packet) with no
 * per-packet copying or header building in JavaScript: on the bench, per-packet JavaScript work was
 * the difference between Bootgate's and atftpd's CPU time per byte.
 */
import type { ChunkCache, ChunkLayout, PositionalReader, Slot } from '../files/cache.js';
import { ChunkCursor, readFully, readFullySync } from '../files/cache.js';
import { TFTP_LIMITS, wireBlock, writeDataHeader } from '../protocol/tftp/codec.js';
import { blockCount, blockLength } from './session.js';

const HEADER = TFTP_LIMITS.DATA_HEADER;

/** Chunks of `perChunk` DATA packets of one block size. */
export class DataPacketLayout implements ChunkLayout {
  readonly id: string;
  readonly perChunk: number;
  readonly packetSize: number;

  constructor(
    readonly blksize: number,
    chunkSize: number,
  ) {
    this.packetSize = blksize + HEADER;
    this.perChunk = Math.max(1, Math.floor(chunkSize / this.packetSize));
    this.id = `tftp-data-${blksize}`;
  }

  chunkOf(block: number): number {
    return Math.floor((block - 1) / this.perChunk);
  }

  /** Byte offset of block `block`'s packet inside its chunk. */
  offsetOf(block: number): number {
    return ((block - 1) % this.perChunk) * this.packetSize;
  }

  /**
   * Reads the chunk's payload in one read, to the slot's tail end (after room for every header), then
   * spreads it forward packet by packet: each packet's destination is at or before its source, so the
   * moves never overwrite bytes still to be moved.
   */
  async fill(buf: Buffer, index: number, size: number, reader: PositionalReader): Promise<number> {
    const span = this.span(buf, index, size);
    if (span === null) return 0;
    await readFully(reader, buf, span.base, span.payload, span.start);
    return this.frame(buf, span.first, span.n, size);
  }

  fillSync(buf: Buffer, index: number, size: number, reader: Required<Pick<PositionalReader, 'readSync'>>): number {
    const span = this.span(buf, index, size);
    if (span === null) return 0;
    readFullySync(reader, buf, span.base, span.payload, span.start);
    return this.frame(buf, span.first, span.n, size);
  }

  /** Chunk `index`'s blocks and where its payload is read to, or null past the file's end. */
  private span(buf: Buffer, index: number, size: number): { first: number; n: number; start: number; payload: number; base: number } | null {
    if (buf.length < this.packetSize) throw new Error(`chunk of ${buf.length} bytes cannot hold a ${this.blksize}-byte block`);
    const first = index * this.perChunk + 1;
    const n = Math.min(this.perChunk, blockCount(size, this.blksize) - first + 1);
    if (n <= 0) return null;
    const start = (first - 1) * this.blksize;
    const payload = Math.max(0, Math.min(n * this.blksize, size - start));
    return { first, n, start, payload, base: n * HEADER };
  }

  /** Spreads the payload read at n * HEADER into n DATA packets; returns the bytes used. */
  private frame(buf: Buffer, first: number, n: number, size: number): number {
    const base = n * HEADER;
    let used = 0;
    for (let i = 0; i < n; i++) {
      const len = blockLength(size, this.blksize, first + i);
      const at = i * this.packetSize;
      buf.copy(buf, at + HEADER, base + i * this.blksize, base + i * this.blksize + len);
      writeDataHeader(buf, wireBlock(first + i), at);
      used = at + HEADER + len;
    }
    return used;
  }
}

/** Consecutive packets in one buffer: blocks first..first+count-1, bytes start..end. */
export interface Piece {
  buf: Buffer;
  start: number;
  end: number;
  count: number;
  /** Gives the underlying chunk back; call once the send carrying it has completed. */
  release(): void;
}

export interface PacketSource {
  /**
   * The packets of blocks from..to that lie in one chunk (at least one block). `sync`: the caller's thread
   * may block on a read from disk (the lock-step loop), so a chunk not in memory is read now.
   */
  piece(from: number, to: number, sync?: boolean): Piece | Promise<Piece>;
  close(): void;
}

const noop = () => undefined;

/** Generated content (an iPXE script): packetized once, in memory. */
export function bytesPackets(data: Buffer, blksize: number): PacketSource {
  const total = blockCount(data.length, blksize);
  const packetSize = blksize + HEADER;
  const buf = Buffer.allocUnsafe((total - 1) * packetSize + HEADER + blockLength(data.length, blksize, total));
  for (let b = 1; b <= total; b++) {
    const at = (b - 1) * packetSize;
    writeDataHeader(buf, wireBlock(b), at);
    data.copy(buf, at + HEADER, (b - 1) * blksize, (b - 1) * blksize + blockLength(data.length, blksize, b));
  }
  return {
    piece(from, to) {
      const end = to === total ? buf.length : to * packetSize;
      return { buf, start: (from - 1) * packetSize, end, count: to - from + 1, release: noop };
    },
    close: noop,
  };
}

/** A file through the shared cache, holding its current chunk and prefetching the next. */
export class CachedPackets implements PacketSource {
  private readonly layout: DataPacketLayout;
  private readonly cursor: ChunkCursor;

  constructor(
    private readonly cache: ChunkCache,
    fileKey: string,
    size: number,
    blksize: number,
    reader: PositionalReader,
  ) {
    const layout = new DataPacketLayout(blksize, cache.chunkSize);
    this.layout = layout;
    const chunks = Math.ceil(blockCount(size, blksize) / layout.perChunk);
    this.cursor = new ChunkCursor(cache, chunks, (index, sync) => cache.acquire(fileKey, index, size, reader, layout, sync), 'transfer closed');
  }

  piece(from: number, to: number, sync = false): Piece | Promise<Piece> {
    const L = this.layout;
    const index = L.chunkOf(from);
    const last = Math.min(to, (index + 1) * L.perChunk);
    // A reader that may block reads the next chunk when it gets there: a read in the background would
    // land only at the next event-loop turn, which is what that reader avoids.
    if (!sync && L.offsetOf(from) >= (L.perChunk * L.packetSize) / 2) this.cursor.prefetch(index + 1);
    const make = (slot: Slot): Piece => {
      // The piece holds its own reference: the source may move on before the send completes.
      this.cache.retain(slot);
      const end = Math.min(slot.length, L.offsetOf(last) + L.packetSize);
      return { buf: slot.buf, start: L.offsetOf(from), end, count: last - from + 1, release: () => this.cache.release(slot) };
    };
    const slot = this.cursor.chunk(index, sync);
    return slot instanceof Promise ? slot.then(make) : make(slot);
  }

  close(): void {
    this.cursor.close();
  }
}
