/**
 * The TFTP server on 127.0.0.1 (port 0) against a scriptable client: options, Windows paths, and the
 * hostile-client suite (traversal, WRQ, duplicated and future ACKs, spoofed transfer IDs, session
 * limits, a 10,000-request flood while a legitimate client is served).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../daemon/config/load.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics, type Metrics } from '../../daemon/metrics.js';
import { startTftpServer, type TftpServerOptions, type TftpServer, type TftpCompletion } from '../../daemon/tftp/server.js';
import { download, until, WireClient, type Peer } from './tftp-wire-client.js';
import { loadSyncIo } from '../../daemon/tftp/syncio.js';

let dir: string;
const files: Record<string, Buffer> = {};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-tftp-'));
  mkdirSync(join(dir, 'Boot', 'x64'), { recursive: true });
  const put = (rel: string, data: Buffer) => {
    files[rel] = data;
    writeFileSync(join(dir, rel), data);
  };
  put('small.bin', randomBytes(100_000));
  // Past two 256 KiB cache chunks: windows that end a chunk and windows split across two.
  put('large.bin', randomBytes(600_007));
  put('exact.bin', randomBytes(1468 * 20));
  put('Boot/BCD', randomBytes(3000));
  put('Boot/x64/wdsnbp.com', randomBytes(30_000));
  put('rollover.bin', randomBytes(16 * 70_000 + 5));
  put('text.cfg', Buffer.from('line1\nline2\r\n'));
  put('empty', Buffer.alloc(0));
  writeFileSync(join(tmpdir(), 'bg-tftp-outside'), 'secret');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const silent = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));

interface Harness {
  server: TftpServer;
  metrics: Metrics;
  req: Peer;
  completions: TftpCompletion[];
}

async function start(tftp: Record<string, unknown> = {}, extra: Partial<TftpServerOptions> = {}): Promise<Harness> {
  const config = validateConfig({ tftp: { workers: 0, ...tftp } }, 'test').tftp;
  const metrics = createMetrics();
  const completions: TftpCompletion[] = [];
  const server = await startTftpServer({
    root: dir, address: '127.0.0.1', port: 0, config, logger: silent, metrics,
    onComplete: (ev) => completions.push(ev), ...extra,
  });
  return { server, metrics, req: { address: '127.0.0.1', port: server.port }, completions };
}

async function counter(m: Metrics, name: 'tftpRefused' | 'tftpTransfers', label: string): Promise<number> {
  const v = await m[name].get();
  return v.values.filter((x) => Object.values(x.labels).includes(label)).reduce((a, x) => a + x.value, 0);
}

async function withClient<T>(fn: (c: WireClient) => Promise<T>, address = '127.0.0.1'): Promise<T> {
  const c = await WireClient.open(address);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

test('plain RFC 1350 download (no options) and windowed downloads with every option', async () => {
  // A timeout floor far above the loopback round trip: the DATA count below is then exact.
  const h = await start({ timeoutMs: 5000 }, { minRtoMs: 5000 });
  try {
    const plain = await withClient((c) => download(c, h.req, 'small.bin'));
    assert.equal(plain.error, null);
    assert.equal(sha(plain.data), sha(files['small.bin'] as Buffer));
    assert.equal(plain.oack, null);
    const opts = await withClient((c) => download(c, h.req, 'small.bin', { options: { blksize: '1428', windowsize: '16', tsize: '0', timeout: '2' } }));
    assert.equal(sha(opts.data), sha(files['small.bin'] as Buffer));
    assert.deepEqual(opts.oack, { blksize: '1428', tsize: '100000', timeout: '2', windowsize: '16' });
    assert.equal(opts.dataPackets, Math.floor(100_000 / 1428) + 1);
    const exact = await withClient((c) => download(c, h.req, 'exact.bin', { options: { blksize: '1468', windowsize: '8' } }));
    assert.equal(sha(exact.data), sha(files['exact.bin'] as Buffer));
    const empty = await withClient((c) => download(c, h.req, 'empty', { options: { tsize: '0' } }));
    assert.equal(empty.data.length, 0);
    assert.equal(empty.oack?.tsize, '0');
    assert.ok(await until(async () => (await counter(h.metrics, 'tftpTransfers', 'ok')) === 4));
    assert.ok(await until(() => h.completions.length === 4));
    assert.deepEqual(h.completions[0], { ...h.completions[0], path: 'small.bin', bytes: 100_000, result: 'ok' });
  } finally {
    await h.server.close();
  }
});

test('blksize and windowsize are lowered to the configured limits and the in-flight budget', async () => {
  const h = await start({ blockSizeMax: 8192, windowSizeMax: 64, inflightBytesMax: 98304 });
  try {
    const big = await withClient((c) => download(c, h.req, 'small.bin', { options: { blksize: '65464', windowsize: '64' } }));
    assert.deepEqual(big.oack, { blksize: '8192', windowsize: '12' });
    assert.equal(sha(big.data), sha(files['small.bin'] as Buffer));
    const h2 = await start();
    try {
      const r = await withClient((c) => download(c, h2.req, 'small.bin', { options: { blksize: '9000', windowsize: '1000' } }));
      assert.deepEqual(r.oack, { blksize: '1468', windowsize: '64' });
    } finally {
      await h2.server.close();
    }
  } finally {
    await h.server.close();
  }
});

test('refused option values get error 8 and no transfer', async () => {
  const h = await start();
  try {
    const refused: Array<Record<string, string>> = [{ blksize: '4' }, { blksize: 'big' }, { timeout: '0' }, { timeout: '256' }, { windowsize: '0' }, { tsize: '-1' }];
    for (const options of refused) {
      const r = await withClient((c) => download(c, h.req, 'small.bin', { options }));
      assert.equal(r.error?.code, 8, JSON.stringify(options));
    }
    assert.equal(await counter(h.metrics, 'tftpRefused', 'bad-option'), 6);
  } finally {
    await h.server.close();
  }
});

test('Windows boot manager paths: backslashes and any case', async () => {
  const h = await start();
  try {
    for (const path of ['\\Boot\\BCD', '\\boot\\bcd', 'BOOT/BCD']) {
      const r = await withClient((c) => download(c, h.req, path, { options: { blksize: '1456', windowsize: '4' } }));
      assert.equal(sha(r.data), sha(files['Boot/BCD'] as Buffer), path);
    }
    const nbp = await withClient((c) => download(c, h.req, '\\boot\\x64\\wdsnbp.com'));
    assert.equal(sha(nbp.data), sha(files['Boot/x64/wdsnbp.com'] as Buffer));
  } finally {
    await h.server.close();
  }
});

test('hostile: traversal forms get error 2, missing files error 1, uploads error 2', async () => {
  const h = await start();
  try {
    for (const path of ['../bg-tftp-outside', '..\\bg-tftp-outside', '%2e%2e/bg-tftp-outside', '..%2fbg-tftp-outside', 'C:\\Windows\\win.ini', 'Boot/../../bg-tftp-outside']) {
      const r = await withClient((c) => download(c, h.req, path));
      assert.equal(r.error?.code, 2, path);
      assert.equal(r.data.length, 0);
    }
    const missing = await withClient((c) => download(c, h.req, 'nope.efi'));
    assert.equal(missing.error?.code, 1);
    const wrq = await withClient(async (c) => {
      c.send({ op: 'wrq', filename: 'upload.bin', mode: 'octet', options: {} }, h.req);
      return c.next();
    });
    assert.ok(wrq && wrq.pkt.op === 'error' && wrq.pkt.code === 2);
    assert.equal(await counter(h.metrics, 'tftpRefused', 'write'), 1);
    assert.equal(await counter(h.metrics, 'tftpRefused', 'access'), 6);
    assert.equal(await counter(h.metrics, 'tftpRefused', 'not-found'), 1);
  } finally {
    await h.server.close();
  }
});

test('hostile: duplicated ACKs never double the DATA (lockstep and windowed)', async () => {
  // A timeout floor far above the loopback round trip, so every DATA counted is caused by an ACK.
  const h = await start({ timeoutMs: 5000 }, { minRtoMs: 5000 });
  try {
    const variants: Array<Record<string, string>> = [{}, { blksize: '1024' }, { blksize: '1024', windowsize: '8' }];
    for (const options of variants) {
      const r = await withClient((c) => download(c, h.req, 'small.bin', { options, duplicateAcks: true }));
      assert.equal(sha(r.data), sha(files['small.bin'] as Buffer));
      const bs = Number(options.blksize ?? '512');
      assert.equal(r.dataPackets, Math.floor(100_000 / bs) + 1, JSON.stringify(options));
    }
  } finally {
    await h.server.close();
  }
});

test('hostile: ACKs for future blocks are ignored and the transfer completes intact', async () => {
  const h = await start({ timeoutMs: 5000 }, { minRtoMs: 5000 });
  try {
    let sent = false;
    const r = await withClient((c) =>
      download(c, h.req, 'small.bin', {
        options: { blksize: '1000', windowsize: '4' },
        onData: (block, tid, client) => {
          if (block === 2 && !sent) {
            sent = true;
            for (const b of [50, 99, 65535]) client.send({ op: 'ack', block: b }, tid);
          }
        },
      }),
    );
    assert.equal(sha(r.data), sha(files['small.bin'] as Buffer));
    assert.equal(r.dataPackets, 101);
  } finally {
    await h.server.close();
  }
});

test('hostile: a stranger on the transfer port gets error 5 and the transfer is undisturbed', async () => {
  for (const workers of [0, 1]) {
    const h = await start({ workers, timeoutMs: 5000 }, { minRtoMs: 5000 });
    const stranger = await WireClient.open();
    try {
      let poked = false;
      const r = await withClient((c) =>
        download(c, h.req, 'small.bin', {
          options: { blksize: '1000', windowsize: '4' },
          onData: (block, tid) => {
            if (block === 10 && !poked) {
              poked = true;
              stranger.send({ op: 'ack', block: 60 }, tid);
              stranger.send({ op: 'error', code: 0, message: 'abort please' }, tid);
            }
          },
        }),
      );
      assert.equal(sha(r.data), sha(files['small.bin'] as Buffer), `workers ${workers}`);
      assert.equal(r.dataPackets, 101);
      // A safety net, not a timing: on a loaded machine the worker's answer may take seconds.
      const reply = await stranger.next(60_000);
      assert.ok(reply && reply.pkt.op === 'error' && reply.pkt.code === 5, `workers ${workers}`);
    } finally {
      await stranger.close();
      await h.server.close();
    }
  }
});

test('lock-step fast path (worker thread): plain, options, duplicated and future ACKs, a stranger, chunk boundaries', async () => {
  assert.notEqual(loadSyncIo(), null, 'the synchronous socket calls must load here, or this test exercises nothing new');
  // One worker, so the lock-step transfer is its thread's only one and takes the synchronous loop.
  const h = await start({ workers: 1, timeoutMs: 5000 }, { minRtoMs: 5000 });
  const stranger = await WireClient.open();
  try {
    const plain = await withClient((c) => download(c, h.req, 'small.bin'));
    assert.equal(sha(plain.data), sha(files['small.bin'] as Buffer));
    assert.equal(plain.dataPackets, Math.floor(100_000 / 512) + 1);
    const dup = await withClient((c) => download(c, h.req, 'small.bin', { options: { blksize: '1024', tsize: '0' }, duplicateAcks: true }));
    assert.equal(sha(dup.data), sha(files['small.bin'] as Buffer));
    assert.equal(dup.dataPackets, Math.floor(100_000 / 1024) + 1);
    let sent = false;
    let poked = false;
    const hostile = await withClient((c) =>
      download(c, h.req, 'small.bin', {
        options: { blksize: '1000' },
        onData: (block, tid, client) => {
          if (block === 2 && !sent) {
            sent = true;
            for (const b of [50, 99, 65535]) client.send({ op: 'ack', block: b }, tid);
          }
          if (block === 10 && !poked) {
            poked = true;
            stranger.send({ op: 'ack', block: 60 }, tid);
            stranger.send({ op: 'error', code: 0, message: 'abort please' }, tid);
          }
        },
      }),
    );
    assert.equal(sha(hostile.data), sha(files['small.bin'] as Buffer));
    assert.equal(hostile.dataPackets, 101);
    const reply = await stranger.next(60_000);
    assert.ok(reply && reply.pkt.op === 'error' && reply.pkt.code === 5);
    // 70,001 blocks of 16 bytes: many cache chunks, so the loop leaves for disk reads and comes back.
    const roll = await withClient((c) => download(c, h.req, 'rollover.bin', { options: { blksize: '16' } }));
    assert.equal(sha(roll.data), sha(files['rollover.bin'] as Buffer));
    assert.equal(roll.dataPackets, 70_001);
    assert.ok(await until(async () => (await counter(h.metrics, 'tftpTransfers', 'ok')) === 4));
  } finally {
    await stranger.close();
    await h.server.close();
  }
});

test('lock-step fast path (worker thread): lost ACKs are recovered by timeout, a silent client ends in error, a client error aborts', async () => {
  const h = await start({ workers: 1, timeoutMs: 200, retries: 3 }, { minRtoMs: 20 });
  try {
    // Withhold the first ACK of every 10th block: only the server's timeout resend moves the transfer on.
    const lossy = await withClient(async (c) => {
      c.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: { blksize: '1024' } }, h.req);
      const parts: Buffer[] = [];
      const seen = new Set<number>();
      let tid: Peer | null = null;
      let resent = 0;
      for (;;) {
        const r = await c.next(60_000);
        assert.ok(r !== null, 'the server went silent');
        tid ??= r.from;
        if (r.pkt.op === 'oack') {
          c.send({ op: 'ack', block: 0 }, tid);
          continue;
        }
        assert.equal(r.pkt.op, 'data');
        if (r.pkt.op !== 'data') break;
        const b = r.pkt.block;
        if (seen.has(b)) resent++;
        else parts.push(Buffer.from(r.pkt.data));
        const withhold = b % 10 === 0 && !seen.has(b);
        seen.add(b);
        if (!withhold) c.send({ op: 'ack', block: b }, tid);
        if (r.pkt.data.length < 1024 && !withhold) return { data: Buffer.concat(parts), resent };
      }
      return { data: Buffer.concat(parts), resent };
    });
    assert.equal(sha(lossy.data), sha(files['small.bin'] as Buffer));
    assert.ok(lossy.resent >= 9, `resent ${lossy.resent}`);
    // ACK the OACK, then silence: DATA is resent, then the transfer ends with an error packet.
    await withClient(async (c) => {
      c.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: { blksize: '1024' } }, h.req);
      const oack = await c.next(60_000);
      assert.ok(oack !== null && oack.pkt.op === 'oack');
      c.send({ op: 'ack', block: 0 }, oack.from);
      let data = 0;
      for (;;) {
        const r = await c.next(60_000);
        assert.ok(r !== null, 'the server must end with an error packet');
        if (r.pkt.op === 'error') break;
        if (r.pkt.op === 'oack') continue; // resent before our ACK(0) arrived
        // A second timeout also offers the next block (session.ts: the client may hold all it was sent).
        assert.ok(r.pkt.op === 'data' && r.pkt.block <= 1 + data, `${r.pkt.op} after ${data} DATA`);
        data++;
      }
      assert.ok(data >= 2, `DATA 1 sent ${data} times`);
    });
    assert.ok(await until(async () => (await counter(h.metrics, 'tftpTransfers', 'timeout')) === 1, 60_000));
    // The client ends it with an error packet mid-transfer.
    await withClient(async (c) => {
      c.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: {} }, h.req);
      const first = await c.next(60_000);
      assert.ok(first !== null && first.pkt.op === 'data');
      c.send({ op: 'ack', block: 1 }, first.from);
      const second = await c.next(60_000);
      assert.ok(second !== null && second.pkt.op === 'data' && second.pkt.block === 2);
      c.send({ op: 'error', code: 0, message: 'enough' }, first.from);
    });
    assert.ok(await until(async () => (await counter(h.metrics, 'tftpTransfers', 'aborted')) === 1, 60_000));
  } finally {
    await h.server.close();
  }
});

test('lock-step fast path (worker thread): a lock-step and a windowed transfer at once on one worker are both intact', async () => {
  const h = await start({ workers: 1, timeoutMs: 5000 });
  try {
    const [a, b, c] = await Promise.all([
      withClient((x) => download(x, h.req, 'rollover.bin', { options: { blksize: '512' } })),
      withClient((x) => download(x, h.req, 'small.bin', { options: { blksize: '1428', windowsize: '16' } })),
      withClient((x) => download(x, h.req, 'small.bin', { options: { blksize: '1432' } })),
    ]);
    assert.equal(sha(a.data), sha(files['rollover.bin'] as Buffer));
    assert.equal(sha(b.data), sha(files['small.bin'] as Buffer));
    assert.equal(sha(c.data), sha(files['small.bin'] as Buffer));
  } finally {
    await h.server.close();
  }
});

test('direct sends (worker thread): windowed downloads intact with exact DATA counts, duplicated ACKs, chunk boundaries; the same through node:dgram', async () => {
  // koffi is a dependency: without it the direct path would silently not run and this test prove nothing.
  assert.notEqual(loadSyncIo(), null);
  for (const directIo of [true, false]) {
    const h = await start({ workers: 1, timeoutMs: 5000 }, { minRtoMs: 5000, directIo });
    try {
      const variants: Array<Record<string, string>> = [
        { blksize: '1428', windowsize: '16' },
        { blksize: '1468', windowsize: '4' },
        { blksize: '512', windowsize: '64' },
        { blksize: '1024', windowsize: '3' },
      ];
      for (const options of variants) {
        for (const duplicateAcks of [false, true]) {
          const r = await withClient((c) => download(c, h.req, 'large.bin', { options, duplicateAcks }));
          const what = `${JSON.stringify(options)} duplicateAcks ${duplicateAcks} directIo ${directIo}`;
          assert.equal(r.error, null, what);
          assert.equal(sha(r.data), sha(files['large.bin'] as Buffer), what);
          // No timeouts at this floor: every DATA was caused by an ACK, each block sent once.
          assert.equal(r.dataPackets, Math.floor(600_007 / Number(options.blksize)) + 1, what);
        }
      }
      // Several windowed transfers at once on the one worker, each on its own socket.
      const many = await Promise.all(
        [1, 2, 3, 4, 5].map((i) => withClient((c) => download(c, h.req, i % 2 ? 'large.bin' : 'small.bin', { options: { blksize: '1468', windowsize: String(i * 3) } }))),
      );
      many.forEach((r, i) => assert.equal(sha(r.data), sha(files[(i + 1) % 2 ? 'large.bin' : 'small.bin'] as Buffer), `concurrent ${i}`));
      assert.ok(await until(async () => (await counter(h.metrics, 'tftpTransfers', 'ok')) === variants.length * 2 + 5));
    } finally {
      await h.server.close();
    }
  }
});

test('no DATA before the OACK is acknowledged; a silent client gets OACK retries, then an error', async () => {
  const h = await start({ timeoutMs: 50, retries: 2 });
  try {
    await withClient(async (c) => {
      c.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: { blksize: '1428', tsize: '0' } }, h.req);
      const kinds: string[] = [];
      for (;;) {
        const r = await c.next();
        assert.ok(r !== null, 'the server must end with an error packet');
        kinds.push(r.pkt.op);
        if (r.pkt.op === 'error') break;
      }
      assert.ok(kinds.every((k) => k === 'oack' || k === 'error'), kinds.join(','));
      assert.ok(kinds.filter((k) => k === 'oack').length >= 3);
    });
    assert.ok(await until(async () => (await counter(h.metrics, 'tftpTransfers', 'timeout')) === 1));
  } finally {
    await h.server.close();
  }
});

test("OVMF's tsize probe: OACK then the client's error 8 is a normal end ('probe')", async () => {
  const h = await start();
  try {
    await withClient(async (c) => {
      c.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: { tsize: '0', blksize: '1468', windowsize: '4' } }, h.req);
      const oack = await c.next();
      assert.ok(oack && oack.pkt.op === 'oack');
      assert.equal(oack.pkt.op === 'oack' && oack.pkt.options.tsize, '100000');
      c.send({ op: 'error', code: 8, message: 'User aborted the transfer' }, oack.from);
    });
    assert.ok(await until(async () => (await counter(h.metrics, 'tftpTransfers', 'probe')) === 1));
    assert.equal(h.completions[0]?.result, 'probe');
  } finally {
    await h.server.close();
  }
});

test('block numbers roll over past 65535 (16-byte blocks, 70,001 of them)', async () => {
  const h = await start({ blockSizeMax: 16 });
  try {
    const r = await withClient((c) => download(c, h.req, 'rollover.bin', { options: { blksize: '16', windowsize: '64' } }));
    assert.equal(sha(r.data), sha(files['rollover.bin'] as Buffer));
  } finally {
    await h.server.close();
  }
});

test('Microsoft variable window: msftwindow 31416 is answered 27182 and ACK hints are honoured', async () => {
  const h = await start();
  try {
    await withClient(async (c) => {
      c.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: { blksize: '1000', windowsize: '2', msftwindow: '31416' } }, h.req);
      const oack = await c.next();
      assert.ok(oack && oack.pkt.op === 'oack');
      assert.deepEqual(oack.pkt.op === 'oack' && oack.pkt.options, { blksize: '1000', windowsize: '2', msftwindow: '27182' });
      c.send({ op: 'ack', block: 0, windowHint: 5 }, oack.from);
      const blocks: number[] = [];
      for (let i = 0; i < 5; i++) {
        const d = await c.next();
        if (d?.pkt.op === 'data') blocks.push(d.pkt.block);
      }
      assert.deepEqual(blocks, [1, 2, 3, 4, 5]);
      c.send({ op: 'error', code: 0, message: 'enough' }, oack.from);
    });
  } finally {
    await h.server.close();
  }
});

test('per-client limit answers the extra request with an error; the total limit drops silently; other clients are served', async () => {
  const h = await start({ sessionsPerClientMax: 2, sessionsMax: 3, timeoutMs: 2000 });
  const stalled: WireClient[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const c = await WireClient.open('127.0.0.1');
      stalled.push(c);
      c.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: { blksize: '1428' } }, h.req);
    }
    assert.ok(await until(async () => (await counter(h.metrics, 'tftpRefused', 'limit-client')) === 1));
    assert.ok(await until(() => h.server.sessions().length === 2));
    // Exactly one of the three got an ERROR from the request port instead of an OACK: no timeout to wait out.
    const first = await Promise.all(stalled.map((c) => c.next(5000)));
    const errors = first.filter((r) => r !== null && r.pkt.op === 'error');
    assert.equal(errors.length, 1);
    const err = errors[0] as NonNullable<(typeof first)[number]>;
    assert.equal(err.from.port, h.req.port);
    assert.ok(err.pkt.op === 'error' && err.pkt.code === 0 && /too many transfers from this address/.test(err.pkt.message));
    assert.equal(first.filter((r) => r !== null && r.pkt.op === 'oack').length, 2);
    // Another address has its own allowance, within the total.
    const other = await withClient((c) => download(c, h.req, 'Boot/BCD'), '127.0.0.2');
    assert.equal(sha(other.data), sha(files['Boot/BCD'] as Buffer));
    const s = h.server.sessions().filter((x) => x.client.startsWith('127.0.0.1:'));
    assert.equal(s.length, 2);
    assert.ok(s.every((x) => x.client.startsWith('127.0.0.1:') && x.path === 'small.bin' && x.size === 100_000));
    // The total limit (3) drops silently: fill the third slot from 127.0.0.2, then ask from 127.0.0.3.
    const filler = await WireClient.open('127.0.0.2');
    stalled.push(filler);
    filler.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: { blksize: '1428' } }, h.req);
    assert.ok(await until(() => h.server.sessions().length === 3));
    const late = await WireClient.open('127.0.0.3');
    stalled.push(late);
    late.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: { blksize: '1428' } }, h.req);
    assert.ok(await until(async () => (await counter(h.metrics, 'tftpRefused', 'limit-total')) === 1));
    assert.equal(await late.next(300), null);
  } finally {
    for (const c of stalled) await c.close();
    await h.server.close();
  }
});

test('flood: 10,000 requests from one address stay bounded and a legitimate client is served', async () => {
  const h = await start({ sessionsPerClientMax: 8, sessionsMax: 200, timeoutMs: 1000 });
  const flooders: WireClient[] = [];
  try {
    for (let i = 0; i < 100; i++) flooders.push(await WireClient.open('127.0.0.1'));
    let maxSessions = 0;
    const flood = (async () => {
      for (let round = 0; round < 100; round++) {
        for (const f of flooders) f.send({ op: 'rrq', filename: round % 2 ? 'small.bin' : 'nope', mode: 'octet', options: { blksize: '1428' } }, h.req);
        maxSessions = Math.max(maxSessions, h.server.sessions().length);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const legit = await withClient((c) => download(c, h.req, 'small.bin', { options: { blksize: '1428', windowsize: '16' } }), '127.0.0.3');
    await flood;
    assert.equal(legit.error, null);
    assert.equal(sha(legit.data), sha(files['small.bin'] as Buffer));
    assert.ok(maxSessions <= 9, `sessions peaked at ${maxSessions}`);
    const dropped = (await counter(h.metrics, 'tftpRefused', 'limit-client')) + (await counter(h.metrics, 'tftpRefused', 'not-found'));
    assert.ok(dropped > 0);
  } finally {
    for (const f of flooders) await f.close();
    await h.server.close();
  }
});

test('policy hook: generated content, refusals with their reason, and the request it saw', async () => {
  const seen: string[] = [];
  const h = await start({}, {
    onRequest: (req) => {
      seen.push(`${req.path}|${JSON.stringify(req.options)}`);
      if (req.path === 'boot.ipxe') return { kind: 'content', data: Buffer.from('#!ipxe\nchain http://x/\n') };
      if (req.path === 'denied.efi') return { kind: 'refuse', code: 2, message: 'not for you', reason: 'policy' };
      return { kind: 'file', path: req.path };
    },
  });
  try {
    const script = await withClient((c) => download(c, h.req, 'boot.ipxe', { options: { tsize: '0' } }));
    assert.equal(script.data.toString(), '#!ipxe\nchain http://x/\n');
    assert.equal(script.oack?.tsize, String(script.data.length));
    const denied = await withClient((c) => download(c, h.req, 'denied.efi'));
    assert.deepEqual(denied.error, { code: 2, message: 'not for you' });
    assert.equal(await counter(h.metrics, 'tftpRefused', 'policy'), 1);
    assert.deepEqual(seen, ['boot.ipxe|{"tsize":"0"}', 'denied.efi|{}']);
  } finally {
    await h.server.close();
  }
});

test('a file replaced on disk is served fresh at once', async () => {
  const h = await start();
  try {
    writeFileSync(join(dir, 'menu.cfg'), 'version one');
    const a = await withClient((c) => download(c, h.req, 'menu.cfg'));
    writeFileSync(join(dir, 'menu.cfg.tmp'), 'version two, longer');
    renameSync(join(dir, 'menu.cfg.tmp'), join(dir, 'menu.cfg'));
    const b = await withClient((c) => download(c, h.req, 'menu.cfg'));
    assert.equal(a.data.toString(), 'version one');
    assert.equal(b.data.toString(), 'version two, longer');
  } finally {
    await h.server.close();
  }
});

test('netascii mode converts line ends; unknown modes are refused', async () => {
  const h = await start();
  try {
    const r = await withClient((c) => download(c, h.req, 'text.cfg', { mode: 'netascii' }));
    assert.equal(r.data.toString('latin1'), 'line1\r\nline2\r\0\r\n');
    const mail = await withClient((c) => download(c, h.req, 'text.cfg', { mode: 'mail' }));
    assert.equal(mail.error?.code, 4);
  } finally {
    await h.server.close();
  }
});

test('undecodable requests are counted and dropped; the server keeps serving', async () => {
  const h = await start();
  try {
    await withClient(async (c) => {
      for (const junk of ['', '00', '0001', '00070000', 'ffff41']) c.send(Buffer.from(junk, 'hex'), h.req);
    });
    assert.ok(await until(async () => (await counter(h.metrics, 'tftpRefused', 'malformed')) === 5));
    const r = await withClient((c) => download(c, h.req, 'Boot/BCD'));
    assert.equal(r.error, null);
  } finally {
    await h.server.close();
  }
});

test('close(grace) stops new requests at once and ends stalled transfers with an error packet', async () => {
  const h = await start({ timeoutMs: 5000, workers: 1 });
  await withClient(async (c) => {
    c.send({ op: 'rrq', filename: 'small.bin', mode: 'octet', options: { blksize: '1428' } }, h.req);
    const oack = await c.next();
    assert.ok(oack?.pkt.op === 'oack');
    assert.equal(h.server.sessions().length, 1);
    await h.server.close(50);
    const bye = await c.next();
    assert.ok(bye && bye.pkt.op === 'error', 'the stalled client is told');
  });
  assert.equal(await counter(h.metrics, 'tftpTransfers', 'error'), 1);
  const active = await h.metrics.tftpActive.get();
  assert.equal(active.values[0]?.value, 0);
});
