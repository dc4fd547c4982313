/**
 * Boot files by sendfile(2) (daemon/http/sendfile.ts): the body arrives byte-exact after Node's headers,
 * the connection serves the next request (keep-alive), many connections at once each get their own
 * file's bytes; a client that goes away half way or stops reading ends its transfer without a completion
 * event and without leaving an fd open; and when sendfile cannot take a transfer, the ordinary path
 * serves it and the fallback is counted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { BootContent } from '../../daemon/boot/content.js';
import { bootRoutes } from '../../daemon/http/boot-routes.js';
import { startSendfile, type FileSender } from '../../daemon/http/sendfile.js';
import { createMetrics, type Metrics } from '../../daemon/metrics.js';

let dir: string;
const files = new Map<string, Buffer>();
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-sendfile-'));
  for (const [name, size] of [['kernel', 3 << 20], ['initrd', 1 << 20], ['big', 48 << 20], ['empty', 0], ['odd', 12_345]] as const) {
    const data = randomBytes(size);
    writeFileSync(join(dir, name), data);
    files.set(name, data);
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Door { app: FastifyInstance; port: number; served: Array<{ path: string; bytes: number }>; metrics: Metrics; sender: FileSender }

async function door(sender: FileSender): Promise<Door> {
  const served: Door['served'] = [];
  const content = {
    answer: async ({ path }: { path: string }) => (path === 'script'
      ? { kind: 'content', data: '#!ipxe\n', client: null, decision: null }
      : { kind: 'file', path, client: null, decision: null }),
  } as unknown as BootContent;
  const metrics = createMetrics();
  const app = Fastify();
  await app.register(bootRoutes, { content, root: () => dir, metrics, sendfile: sender, onServed: (ev) => served.push(ev) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as { port: number }).port, served, metrics, sender };
}

/** One HTTP/1.1 connection: GETs in turn, each response read whole by its Content-Length. */
class Conn {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  closed = false;
  readonly sock: Socket;
  constructor(port: number) {
    this.sock = connect({ port, host: '127.0.0.1' });
    this.sock.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake?.();
    });
    this.sock.on('error', () => undefined);
    this.sock.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  private async need(pred: () => boolean): Promise<void> {
    while (!pred()) {
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = null;
    }
  }

  async get(path: string): Promise<{ status: number; headers: string; body: Buffer }> {
    this.sock.write(`GET /${path} HTTP/1.1\r\nHost: t\r\n\r\n`);
    await this.need(() => this.buf.includes('\r\n\r\n'));
    const end = this.buf.indexOf('\r\n\r\n');
    const headers = this.buf.subarray(0, end).toString('latin1');
    const length = Number(/content-length:\s*(\d+)/i.exec(headers)?.[1] ?? 'NaN');
    assert.ok(Number.isInteger(length), `Content-Length in ${headers}`);
    await this.need(() => this.buf.length >= end + 4 + length);
    const body = Buffer.from(this.buf.subarray(end + 4, end + 4 + length));
    this.buf = this.buf.subarray(end + 4 + length);
    assert.equal(this.buf.length, 0, 'nothing past the Content-Length');
    return { status: Number(headers.split(' ')[1]), headers, body };
  }
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

async function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('files arrive byte-exact by sendfile, and the connection serves the next requests (keep-alive)', async () => {
  const sender = startSendfile();
  assert.ok(sender, 'sendfile available (koffi, Linux)');
  const d = await door(sender);
  try {
    const c = new Conn(d.port);
    const script = await c.get('script');
    assert.equal(script.body.toString(), '#!ipxe\n');
    for (const name of ['kernel', 'initrd', 'empty', 'odd', 'kernel']) {
      const r = await c.get(name);
      assert.equal(r.status, 200);
      assert.match(r.headers, /content-type: application\/octet-stream/i);
      assert.ok(r.body.equals(files.get(name) as Buffer), `${name}: the file's bytes`);
    }
    const missing = await c.get('nope');
    assert.equal(missing.status, 404, 'and an ordinary answer after it, on the same connection');
    assert.equal(c.closed, false);
    c.sock.destroy();
    await until(() => d.served.length === 5, 'five completion events');
    assert.deepEqual(d.served.map((s) => s.bytes), ['kernel', 'initrd', 'empty', 'odd', 'kernel'].map((n) => files.get(n)?.length));
    const fallbacks = await d.metrics.httpSendfileFallbacks.get();
    assert.equal(fallbacks.values[0]?.value ?? 0, 0, 'no fallback');
    assert.equal(sender.active(), 0);
  } finally {
    await d.app.close();
    await sender.close();
  }
});

test('many connections at once each get their own files, whole', async () => {
  const sender = startSendfile();
  assert.ok(sender);
  const d = await door(sender);
  try {
    await Promise.all(Array.from({ length: 24 }, async (_v, i) => {
      const c = new Conn(d.port);
      const order = i % 2 === 0 ? ['kernel', 'script', 'initrd'] : ['initrd', 'odd', 'kernel'];
      for (const name of order) {
        const r = await c.get(name);
        if (name === 'script') assert.equal(r.body.toString(), '#!ipxe\n');
        else assert.ok(r.body.equals(files.get(name) as Buffer), `connection ${i}: ${name}`);
      }
      c.sock.destroy();
    }));
    await until(() => sender.active() === 0, 'every transfer ended');
  } finally {
    await d.app.close();
    await sender.close();
  }
});

test('a client that goes away half way or stops reading: no completion event, no fd left open, the server carries on', async () => {
  const sender = startSendfile({ stallMs: 300 });
  assert.ok(sender);
  const d = await door(sender);
  try {
    // Warm up (the worker thread, fastify's first request) so the fd count compares like with like.
    const warm = new Conn(d.port);
    await warm.get('odd');
    warm.sock.destroy();
    await until(() => d.served.length === 1 && sender.active() === 0, 'the warm-up transfer');
    const fds = openFds();

    // Goes away after 1 MiB of 48.
    const gone = connect({ port: d.port, host: '127.0.0.1' });
    gone.on('error', () => undefined);
    let got = 0;
    gone.on('data', (c: Buffer) => {
      got += c.length;
      if (got > 1 << 20) gone.destroy();
    });
    gone.write('GET /big HTTP/1.1\r\nHost: t\r\n\r\n');
    // Asks and never reads: ends when it makes no progress for stallMs.
    const idle = connect({ port: d.port, host: '127.0.0.1' });
    idle.on('error', () => undefined);
    idle.pause();
    idle.write('GET /big HTTP/1.1\r\nHost: t\r\n\r\n');
    await until(() => got > 1 << 20, 'the first client read 1 MiB');
    await until(() => sender.active() === 0, 'both transfers ended');
    idle.destroy();
    await until(() => openFds() <= fds, `fds back to ${fds} (now ${openFds()})`);
    assert.deepEqual(d.served.map((s) => s.path), ['odd'], 'no completion event for either');
    const errors = await d.metrics.httpTransfers.get();
    assert.equal(errors.values.find((v) => v.labels.result === 'error')?.value, 2);

    const after = new Conn(d.port);
    assert.ok((await after.get('kernel')).body.equals(files.get('kernel') as Buffer), 'the next client is served');
    after.sock.destroy();
  } finally {
    await d.app.close();
    await sender.close();
  }
});

test('when sendfile cannot take a transfer, the body is written the ordinary way and the fallback counted', async () => {
  const refusing: FileSender = {
    send: async () => { throw new Error('not today'); },
    active: () => 0,
    close: async () => undefined,
  };
  const d = await door(refusing);
  try {
    const c = new Conn(d.port);
    assert.ok((await c.get('kernel')).body.equals(files.get('kernel') as Buffer));
    assert.ok((await c.get('odd')).body.equals(files.get('odd') as Buffer), 'keep-alive as usual');
    c.sock.destroy();
    const fallbacks = await d.metrics.httpSendfileFallbacks.get();
    assert.equal(fallbacks.values[0]?.value, 2);
  } finally {
    await d.app.close();
  }
});
