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
