/**
 * The chunk cache: bounded by its budget, one disk read per chunk however many readers want it,
 * correct bytes across chunk boundaries, and a replaced file served fresh at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedFile, ChunkCache, CachedReader, type PositionalReader } from '../../daemon/files/cache.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-cache-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A reader over a buffer that counts reads and can hold them until released. */
function countingReader(data: Buffer) {
  let reads = 0;
  const reader: PositionalReader = {
    async read(buffer, offset, length, position) {
      reads += 1;
      await new Promise((r) => setImmediate(r));
      const n = data.copy(buffer, offset, position, Math.min(data.length, position + length));
      return { bytesRead: n };
    },
  };
  return { reader, reads: () => reads };
}

async function readAll(r: CachedReader, size: number, step: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let o = 0; o < size; o += step) parts.push(Buffer.from(await r.read(o, step)));
  return Buffer.concat(parts);
}

test('blocks that straddle chunks come back intact, for odd block sizes', async () => {
  const data = randomBytes(10_000);
  const cache = new ChunkCache({ budgetBytes: 1 << 20, chunkSize: 1024 });
  for (const step of [1, 7, 512, 1428, 1500, 4096]) {
    const { reader } = countingReader(data);
    const r = new CachedReader(cache, `k${step}`, data.length, reader);
    assert.deepEqual(await readAll(r, data.length, step), data, `step ${step}`);
  }
});

test('concurrent readers of one file read each chunk from disk once', async () => {
  const data = randomBytes(64 * 1024);
  const cache = new ChunkCache({ budgetBytes: 1 << 20, chunkSize: 4096 });
  const { reader, reads } = countingReader(data);
  const readers = Array.from({ length: 20 }, () => new CachedReader(cache, 'same', data.length, reader));
  const results = await Promise.all(readers.map((r) => readAll(r, data.length, 1468)));
  for (const got of results) assert.deepEqual(got, data);
  assert.equal(reads(), 16);
  assert.equal(cache.stats().misses, 16);
});

test('the cache never holds more than its budget', async () => {
  const data = randomBytes(256 * 1024);
  const cache = new ChunkCache({ budgetBytes: 40 * 1024, chunkSize: 8192 });
  let peak = 0;
  for (let f = 0; f < 5; f++) {
    const { reader } = countingReader(data);
    const r = new CachedReader(cache, `file${f}`, data.length, reader);
    for (let o = 0; o < data.length; o += 1000) {
      await r.read(o, 1000);
      peak = Math.max(peak, cache.stats().bytes);
    }
  }
  assert.ok(peak <= 40 * 1024, `peak ${peak}`);
  assert.ok(cache.stats().evictions > 0);
});

test('a zero budget caches nothing but still serves correct bytes (with prefetch)', async () => {
  const data = randomBytes(50_000);
  const cache = new ChunkCache({ budgetBytes: 0, chunkSize: 4096 });
  const { reader, reads } = countingReader(data);
  const r = new CachedReader(cache, 'z', data.length, reader);
  assert.deepEqual(await readAll(r, data.length, 1468), data);
  assert.equal(cache.stats().bytes, 0);
  // Each chunk is read once: the reader keeps the prefetched chunk itself.
  assert.equal(reads(), Math.ceil(data.length / 4096));
});

test('a file replaced on disk is served fresh at once (new identity, new key)', async () => {
  const path = join(dir, 'boot.ipxe');
  writeFileSync(path, 'old contents');
  const cache = new ChunkCache({ budgetBytes: 1 << 20 });
  const a = await CachedFile.open(path);
  assert.equal((await a.reader(cache).read(0, 100)).toString(), 'old contents');
  await a.close();
  const tmp = join(dir, 'boot.ipxe.new');
  writeFileSync(tmp, 'new contents!');
  renameSync(tmp, path);
  const b = await CachedFile.open(path);
  assert.notEqual(b.key, a.key);
  assert.equal((await b.reader(cache).read(0, 100)).toString(), 'new contents!');
  await b.close();
});

test('a file rewritten in place with the same size gets a new key through its mtime', async () => {
  const path = join(dir, 'same-size');
  writeFileSync(path, 'AAAA');
  const a = await CachedFile.open(path);
  await a.close();
  await new Promise((r) => setTimeout(r, 20));
  writeFileSync(path, 'BBBB');
  const b = await CachedFile.open(path);
  await b.close();
  assert.notEqual(a.key, b.key);
});

test('stream() yields the requested range through the cache (for HTTP)', async () => {
  const path = join(dir, 'img');
  const data = randomBytes(300_000);
  writeFileSync(path, data);
  const cache = new ChunkCache({ budgetBytes: 1 << 20, chunkSize: 65536 });
  const f = await CachedFile.open(path);
  const chunks: Buffer[] = [];
  for await (const c of f.stream(cache, 1000, 200_999)) chunks.push(c as Buffer);
  assert.deepEqual(Buffer.concat(chunks), data.subarray(1000, 201_000));
  await f.close();
});

test('a file that shrinks under a reader gives an error, not wrong bytes', async () => {
  const data = randomBytes(1000);
  const cache = new ChunkCache({ budgetBytes: 1 << 20, chunkSize: 4096 });
  const { reader } = countingReader(data);
  const r = new CachedReader(cache, 'shrunk', 5000, reader);
  await assert.rejects(async () => r.read(0, 4096), /shrank/);
});

test('a chunk a reader holds is never reused under it, even when the slab is exhausted', async () => {
  const a = randomBytes(8192);
  const b = randomBytes(64 * 1024);
  const cache = new ChunkCache({ budgetBytes: 2 * 4096, chunkSize: 4096 });
  const ra = new CachedReader(cache, 'a', a.length, countingReader(a).reader);
  const view = await ra.read(0, 1000); // holds chunk 0 of a (and may prefetch nothing: offset < half)
  const snapshot = Buffer.from(view);
  const others = Array.from({ length: 3 }, () => new CachedReader(cache, 'b', b.length, countingReader(b).reader));
  for (let o = 0; o < b.length; o += 1500) for (const r of others) await r.read(o, 1500);
  assert.deepEqual(view, snapshot, 'the held view was not overwritten');
  const st = cache.stats();
  assert.ok(st.slots <= 2);
  assert.ok(st.overflows > 0, 'readers beyond the slab got their own buffers');
  for (const r of [ra, ...others]) r.close();
});

test('closing readers gives every slot back: a later reader finds the chunks cached', async () => {
  const data = randomBytes(32 * 1024);
  const cache = new ChunkCache({ budgetBytes: 8 * 4096, chunkSize: 4096 });
  const { reader, reads } = countingReader(data);
  const r1 = new CachedReader(cache, 'f', data.length, reader);
  assert.deepEqual(await readAll(r1, data.length, 1468), data);
  r1.close();
  const before = reads();
  const r2 = new CachedReader(cache, 'f', data.length, reader);
  assert.deepEqual(await readAll(r2, data.length, 1468), data);
  r2.close();
  assert.equal(reads(), before, 'second pass served from the cache');
});
