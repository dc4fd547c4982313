/**
 * The TFTP workers' start-up warm-up (daemon/tftp/warmup.ts): every worker serves its transfers to the
 * main thread before start returns, nothing of it shows in metrics, sessions or completions, the
 * scratch file leaves nothing behind, and a warm-up that cannot finish ends at its deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../daemon/config/load.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import { startTftpServer, type TftpCompletion } from '../../daemon/tftp/server.js';
import type { TransferPool } from '../../daemon/tftp/pool.js';
import type { TransferEnd, TransferJob } from '../../daemon/tftp/transfer.js';
import { warmUpWorkers } from '../../daemon/tftp/warmup.js';
import { download, until, WireClient } from './tftp-wire-client.js';

const scratchDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('bootgate-warm-'));

test('warm-up: every worker serves a lock-step and a windowed transfer before start returns, out of metrics and completions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tftp-warm-'));
  const file = randomBytes(300_000);
  writeFileSync(join(dir, 'f.bin'), file);
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('debug', new Writable({
    write: (chunk: Buffer, _e, cb) => {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  }));
  const before = new Set(scratchDirs());
  const metrics = createMetrics();
  const completions: TftpCompletion[] = [];
  const server = await startTftpServer({
    root: dir, address: '127.0.0.1', port: 0, config: validateConfig({ tftp: { workers: 2 } }, 'test').tftp,
    logger, metrics, warmUp: true, onComplete: (c) => completions.push(c),
  });
  try {
    const warmed = lines.find((l) => l.msg === 'tftp workers warmed up');
    assert.ok(warmed, 'the warm-up is logged');
    assert.equal(warmed.transfers, 4, 'two transfers on each of the two workers');
    assert.equal(warmed.ok, 4);
    assert.equal(warmed.level, 20, 'a warm-up that went well is a debug line');
    assert.deepEqual(scratchDirs().filter((n) => !before.has(n)), [], 'the scratch file\'s folder is gone');
    assert.deepEqual(server.sessions(), []);
    assert.deepEqual(completions, []);
    assert.equal((await metrics.tftpTransfers.get()).values.reduce((a, v) => a + v.value, 0), 0, 'no transfer counted');
    assert.equal((await metrics.tftpBytes.get()).values[0]?.value ?? 0, 0, 'no byte counted');
    assert.equal((await metrics.tftpActive.get()).values[0]?.value ?? 0, 0);
    // The warmed workers serve real requests as before, and those are counted.
    const c = await WireClient.open();
    try {
      const got = await download(c, { address: '127.0.0.1', port: server.port }, 'f.bin', { options: { blksize: '1432' } });
      assert.equal(createHash('sha256').update(got.data).digest('hex'), createHash('sha256').update(file).digest('hex'));
    } finally {
      await c.close();
    }
    assert.ok(await until(() => completions.length === 1, 60_000), 'the real transfer completes');
    assert.equal((await metrics.tftpBytes.get()).values[0]?.value, 300_000);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('warm-up: workers that never answer end at the deadline, each transfer aborted, nothing thrown', async () => {
  const aborted: number[] = [];
  const started: TransferJob[] = [];
  const pool: TransferPool = {
    lanes: 2,
    start: () => undefined,
    startOn: (_lane, job) => started.push(job),
    abort: (id) => aborted.push(id),
    abortAll: () => undefined,
    close: async () => undefined,
  };
  let id = 100;
  const r = await warmUpWorkers({
    pool,
    nextId: () => id++,
    ended: () => new Promise<TransferEnd>(() => undefined),
    job: { retries: 3, minRtoMs: 5, segmentation: true, lockstepSpinUs: 100, directIo: true },
  }, 64 * 1024, 300);
  assert.equal(r.ok, 0);
  assert.ok(r.transfers >= 2 && r.transfers <= 4, `${r.transfers} transfers tried`);
  assert.deepEqual(aborted.sort(), started.map((j) => j.id).sort(), 'every started warm-up transfer was aborted');
  assert.ok(started.every((j) => j.quiet === true && j.client.address === '127.0.0.1'));
  assert.ok(r.ms < 5000, `ended after ${r.ms} ms`);
});
