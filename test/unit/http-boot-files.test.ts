/**
 * Boot files over HTTP: small files from the shared in-memory copy, large ones streamed, both whole and
 * byte-exact; a file replaced on disk is served fresh at once; the completion hook (boot-once markers)
 * fires only for a transfer the client received whole. And the memory cache itself: one disk read for
 * many concurrent requests, least recently used files dropped to stay within the budget.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { BootContent } from '../../daemon/boot/content.js';
import { WholeFileCache } from '../../daemon/files/whole-cache.js';
import { bootRoutes } from '../../daemon/http/boot-routes.js';
import { createMetrics } from '../../daemon/metrics.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-httpfiles-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function identity(path: string) {
  const st = statSync(path);
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

test('the memory cache reads a file once for many concurrent callers and returns its exact bytes', async () => {
  const path = join(dir, 'a.bin');
  const data = randomBytes(100_000);
  writeFileSync(path, data);
  const cache = new WholeFileCache(1 << 20);
  const got = await Promise.all(Array.from({ length: 10 }, () => cache.get(path, identity(path))));
  for (const g of got) assert.ok(g && g.equals(data));
  assert.equal(new Set(got).size, 1, 'one Buffer shared by every caller');
  assert.deepEqual({ ...cache.stats(), bytes: undefined }, { bytes: undefined, files: 1, hits: 0, misses: 1, evictions: 0 });
  assert.equal(cache.get(path, identity(path)), got[0], 'a hit is returned at once, not as a promise');
});

test('the memory cache keeps within its budget, dropping the least recently used file, and refuses files over half of it', async () => {
  const cache = new WholeFileCache(250_000);
  const paths = ['x', 'y', 'z'].map((n) => {
    const p = join(dir, `${n}.bin`);
    writeFileSync(p, randomBytes(100_000));
    return p;
  });
  const [x, y, z] = paths as [string, string, string];
  await cache.get(x, identity(x));
  await cache.get(y, identity(y));
  assert.ok(cache.get(x, identity(x)) instanceof Buffer, 'x is now the most recently used');
  await cache.get(z, identity(z));
  const s = cache.stats();
  assert.equal(s.files, 2);
  assert.equal(s.evictions, 1);
  assert.ok(s.bytes <= 250_000);
  assert.ok(cache.get(x, identity(x)) instanceof Buffer, 'x stayed');
  assert.ok(!(cache.get(y, identity(y)) instanceof Buffer), 'y, the least recently used, went');
  const big = join(dir, 'big.bin');
  writeFileSync(big, randomBytes(130_000));
  assert.equal(cache.get(big, identity(big)), null, 'over half the budget: streamed, not kept');
  cache.resize(100_000);
  assert.ok(cache.stats().bytes <= 100_000);
});

test('a file replaced between the stat and the read is not cached under the old identity', async () => {
  const path = join(dir, 'swap.bin');
  writeFileSync(path, Buffer.alloc(1000, 1));
  const before = identity(path);
  const next = join(dir, 'swap.next');
  writeFileSync(next, Buffer.alloc(1000, 2));
  renameSync(next, path);
  const cache = new WholeFileCache(1 << 20);
  assert.equal(await cache.get(path, before), null);
  assert.equal(cache.stats().files, 0);
});

interface Served { clientIp: string; path: string; bytes: number }

async function door(memory: WholeFileCache | undefined): Promise<{ app: FastifyInstance; base: string; served: Served[] }> {
  const served: Served[] = [];
  const content = {
    answer: async ({ path }: { path: string }) => ({ kind: 'file', path, client: null, decision: null }),
  } as unknown as BootContent;
  const app = Fastify();
  await app.register(bootRoutes, { content, root: () => dir, metrics: createMetrics(), memory, onServed: (ev) => served.push(ev) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  return { app, base: `http://127.0.0.1:${port}`, served };
}

for (const [label, budget] of [['from memory', 64 << 20], ['streamed (over the cache budget)', 1 << 20], ['streamed (no cache)', null]] as const) {
  test(`a boot file ${label} arrives whole, and a replaced file is served fresh`, async () => {
    const path = join(dir, 'kernel.bin');
    const first = randomBytes(3 << 20);
    writeFileSync(path, first);
    const d = await door(budget === null ? undefined : new WholeFileCache(budget));
    try {
      const a = Buffer.from(await (await fetch(`${d.base}/kernel.bin`)).arrayBuffer());
      assert.ok(a.equals(first));
      const second = randomBytes(3 << 20);
      writeFileSync(join(dir, 'kernel.next'), second);
      renameSync(join(dir, 'kernel.next'), path);
      const b = Buffer.from(await (await fetch(`${d.base}/kernel.bin`)).arrayBuffer());
      assert.ok(b.equals(second), 'the new file, not the cached old one');
      const head = await fetch(`${d.base}/kernel.bin`, { method: 'HEAD' });
      assert.equal(head.headers.get('content-length'), String(second.length));
      // The completion hook may trail the client's last byte by a moment: wait for its event count.
      for (let i = 0; i < 200 && d.served.length < 2; i++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(d.served.map((s) => s.bytes), [first.length, second.length]);
    } finally {
      await d.app.close();
    }
  });
}

test('a client that hangs up half way is not a whole transfer: no completion event', async () => {
  const path = join(dir, 'initrd.bin');
  writeFileSync(path, randomBytes(32 << 20));
  const d = await door(new WholeFileCache(128 << 20));
  try {
    const closed = new Promise<void>((resolve) => {
      d.app.server.once('request', (_req, res) => res.once('close', () => resolve()));
    });
    await new Promise<void>((resolve) => {
      const req = request(`${d.base}/initrd.bin`, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 1 << 20) req.destroy();
        });
        res.on('error', () => undefined);
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.end();
    });
    await closed;
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(d.served, []);
  } finally {
    await d.app.close();
  }
});
