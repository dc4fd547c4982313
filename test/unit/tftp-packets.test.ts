/**
 * DATA packets laid out in cache chunks: every piece equals the packets the codec would build, across
 * chunk boundaries, for a short last block, an empty last block, and block numbers past 65535.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ChunkCache, type PositionalReader } from '../../daemon/files/cache.js';
import { encodeTftp } from '../../daemon/protocol/tftp/codec.js';
import { blockCount } from '../../daemon/tftp/session.js';
import { bytesPackets, CachedPackets, type PacketSource } from '../../daemon/tftp/packets.js';

function memReader(data: Buffer): PositionalReader {
  return {
    async read(buffer, offset, length, position) {
      return { bytesRead: data.copy(buffer, offset, position, Math.min(data.length, position + length)) };
    },
  };
}

function expected(data: Buffer, blksize: number, from: number, to: number): Buffer {
  const parts: Buffer[] = [];
  for (let b = from; b <= to; b++) {
    parts.push(encodeTftp({ op: 'data', block: b % 65536, data: data.subarray((b - 1) * blksize, b * blksize) }));
  }
  return Buffer.concat(parts);
}

/** Walks the whole file in windows of `window` blocks and compares every piece. */
async function walk(src: PacketSource, data: Buffer, blksize: number, window: number): Promise<number> {
  const total = blockCount(data.length, blksize);
  let pieces = 0;
  for (let from = 1; from <= total; ) {
    const to = Math.min(total, from + window - 1);
    const p = await src.piece(from, to);
    assert.ok(p.count >= 1 && p.count <= to - from + 1);
    assert.deepEqual(p.buf.subarray(p.start, p.end), expected(data, blksize, from, from + p.count - 1), `blocks ${from}+${p.count}`);
    p.release();
    from += p.count;
    pieces++;
  }
  return pieces;
}

test('cached DATA packets match the codec for odd sizes, short and empty last blocks', async () => {
  for (const [size, blksize, window] of [[100_000, 1428, 16], [1428 * 50, 1428, 16], [0, 512, 1], [5, 512, 4], [70_000, 8192, 12]] as const) {
    const data = randomBytes(size);
    const cache = new ChunkCache({ budgetBytes: 1 << 20, chunkSize: 16 * 1024 });
    const src = new CachedPackets(cache, 'k', size, blksize, memReader(data));
    const pieces = await walk(src, data, blksize, window);
    assert.ok(pieces >= Math.ceil(blockCount(size, blksize) / window));
    src.close();
  }
});

test('block numbers past 65535 roll over to 0 inside the cached packets', async () => {
  const data = randomBytes(8 * 66_000 + 3);
  const cache = new ChunkCache({ budgetBytes: 4 << 20, chunkSize: 64 * 1024 });
  const src = new CachedPackets(cache, 'r', data.length, 8, memReader(data));
  await walk(src, data, 8, 64);
  src.close();
});

test('generated content is packetized the same way', async () => {
  for (const size of [0, 1, 512, 513, 5000]) {
    const data = randomBytes(size);
    await walk(bytesPackets(data, 512), data, 512, 8);
  }
});

test('two block sizes of one file are cached separately; released pieces leave no references', async () => {
  const data = randomBytes(200_000);
  const cache = new ChunkCache({ budgetBytes: 1 << 20, chunkSize: 32 * 1024 });
  const a = new CachedPackets(cache, 'same', data.length, 1428, memReader(data));
  const b = new CachedPackets(cache, 'same', data.length, 1468, memReader(data));
  await walk(a, data, 1428, 16);
  await walk(b, data, 1468, 4);
  a.close();
  b.close();
  // Everything is cached and unheld: a third walk reads nothing from disk.
  let reads = 0;
  const counting: PositionalReader = { read: (...args) => { reads++; return memReader(data).read(...args); } };
  const c = new CachedPackets(cache, 'same', data.length, 1428, counting);
  await walk(c, data, 1428, 16);
  c.close();
  assert.equal(reads, 0);
});

test('a reader that may block gets every piece at once, read in place, equal to the asynchronous ones', async () => {
  const data = randomBytes(300_001);
  const cache = new ChunkCache({ budgetBytes: 1 << 20, chunkSize: 32 * 1024 });
  let asyncReads = 0;
  let syncReads = 0;
  const reader: PositionalReader = {
    read: (...args) => {
      asyncReads++;
      return memReader(data).read(...args);
    },
    readSync: (buffer, offset, length, position) => {
      syncReads++;
      return data.copy(buffer, offset, position, Math.min(data.length, position + length));
    },
  };
  const src = new CachedPackets(cache, 'sync', data.length, 1432, reader);
  const total = blockCount(data.length, 1432);
  for (let b = 1; b <= total; b++) {
    const p = src.piece(b, b, true);
    assert.ok(!(p instanceof Promise), `block ${b} came back as a promise`);
    assert.deepEqual(p.buf.subarray(p.start, p.end), expected(data, 1432, b, b), `block ${b}`);
    p.release();
  }
  src.close();
  // No background prefetch: each chunk was read once, in place.
  assert.equal(asyncReads, 0);
  assert.equal(syncReads, Math.ceil(total / Math.floor((32 * 1024) / 1436)));
  // The chunks are now in the cache for any reader.
  const again = new CachedPackets(cache, 'sync', data.length, 1432, memReader(data));
  assert.equal(await walk(again, data, 1432, 4) > 0, true);
  again.close();
});

test('an in-place read that fails throws and gives its slot back; a chunk already loading is still awaited', async () => {
  const data = randomBytes(100_000);
  const cache = new ChunkCache({ budgetBytes: 64 * 1024, chunkSize: 32 * 1024 });
  const failing: PositionalReader = {
    read: () => Promise.reject(new Error('EIO')),
    readSync: () => {
      throw new Error('EIO');
    },
  };
  const bad = new CachedPackets(cache, 'bad', data.length, 1432, failing);
  assert.throws(() => bad.piece(1, 1, true), /EIO/);
  bad.close();
  // Both slots of the budget are still usable: two files' chunks fit at once.
  const a = new CachedPackets(cache, 'a', data.length, 1432, memReader(data));
  const b = new CachedPackets(cache, 'b', data.length, 1432, memReader(data));
  const pa = await a.piece(1, 1);
  const pb = await b.piece(1, 1);
  assert.equal(cache.stats().overflows, 0);
  pa.release();
  pb.release();
  a.close();
  b.close();
  // A chunk whose asynchronous read is in flight is not read twice: the in-place caller gets its promise.
  let syncReads = 0;
  const slow: PositionalReader = {
    read: (...args) => new Promise((r) => setImmediate(() => r(memReader(data).read(...args)))),
    readSync: () => {
      syncReads++;
      return 0;
    },
  };
  const x = new CachedPackets(cache, 'slow', data.length, 1432, slow);
  const y = new CachedPackets(cache, 'slow', data.length, 1432, slow);
  const first = x.piece(1, 1);
  const second = y.piece(1, 1, true);
  assert.ok(first instanceof Promise && second instanceof Promise);
  const [p1, p2] = await Promise.all([first, second]);
  assert.deepEqual(p2.buf.subarray(p2.start, p2.end), expected(data, 1432, 1, 1));
  assert.equal(syncReads, 0);
  p1.release();
  p2.release();
  x.close();
  y.close();
});
