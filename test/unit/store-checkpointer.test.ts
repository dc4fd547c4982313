import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../daemon/log.js';
import { auditEvent } from '../../daemon/store/audit.js';
import type { CheckpointReport } from '../../daemon/store/checkpoint-worker.js';
import { Checkpointer } from '../../daemon/store/checkpointer.js';
import { openStore, type Store } from '../../daemon/store/db.js';

const logger = createLogger('silent');

function fill(store: Store, rows: number): void {
  store.tx(() => {
    for (let i = 0; i < rows; i++) {
      store.audit.insert(auditEvent({ at: i, type: 'decision', mac: `52:54:00:00:${(i >> 8 & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, detail: 'x'.repeat(200) }));
    }
  });
}

const autoCheckpoint = (s: Store) => s.db.pragma('wal_autocheckpoint', { simple: true });

/**
 * The worker's reports as they arrive, and a way to wait for the first one that satisfies a condition.
 * Waiting is on the reports themselves, not on time: a loaded machine may run the worker late, and the
 * test then waits longer instead of deciding before the worker ran. The test's own timeout is the
 * safety net when a report never comes.
 */
class Reports {
  readonly all: CheckpointReport[] = [];
  private waiters: Array<{ ok: (r: CheckpointReport) => boolean; resolve: (r: CheckpointReport) => void }> = [];

  readonly push = (r: CheckpointReport): void => {
    this.all.push(r);
    this.waiters = this.waiters.filter((w) => {
      if (!w.ok(r)) return true;
      w.resolve(r);
      return false;
    });
  };

  /** The first report (received already or still to come) that satisfies ok. */
  first(ok: (r: CheckpointReport) => boolean): Promise<CheckpointReport> {
    const hit = this.all.find(ok);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve) => this.waiters.push({ ok, resolve }));
  }
}

/**
 * A checkpoint that began after `after` (Date.now() once a commit returned) and copied every frame of the
 * WAL into the database. A report of a checkpoint that ran before the commit may still be in the queue
 * when the commit returns, so a report's arrival alone does not say it saw the commit: its start does.
 */
const fullCheckpointSince = (after: number) => (r: CheckpointReport): boolean =>
  r.type === 'checkpoint' && r.startedAt > after && r.walFrames > 0 && r.checkpointed === r.walFrames;

test('the worker checkpoints the WAL the daemon\'s connection no longer checkpoints at commit', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-ckpt-'));
  const path = join(dir, 'b.db');
  const store = openStore(path);
  const reports = new Reports();
  const c = new Checkpointer(store, { intervalMs: 50, logger, onReport: reports.push });
  try {
    assert.equal(autoCheckpoint(store), 0, 'commit-time checkpoints are off while the worker runs');
    // Ten rounds of about 200 pages each: past SQLite's 1,000-page threshold, and without any checkpoint the WAL would only grow.
    // After each round the test waits for the worker's own (interval-driven) checkpoint of it, however
    // late the worker runs; the daemon's connection never checkpoints (autocheckpoint 0), so each
    // round finding the WAL reusable is the worker's doing.
    fill(store, 2000);
    const oneRound = statSync(`${path}-wal`).size;
    let committed = Date.now();
    for (let b = 1; b < 10; b++) {
      await reports.first(fullCheckpointSince(committed));
      fill(store, 2000);
      committed = Date.now();
    }
    await reports.first(fullCheckpointSince(committed));
    assert.deepEqual(reports.all.filter((r) => r.type === 'error'), []);
    // Checkpointed frames are reused (the WAL starts over), so ten rounds of writes do not make it ten times longer.
    const wal = statSync(`${path}-wal`).size;
    assert.ok(wal <= 3 * oneRound, `WAL ${wal} bytes after 10 rounds, ${oneRound} after one`);
    await c.stop();
    assert.equal(autoCheckpoint(store), 1000, 'after stop() the connection checkpoints at commit again');
    assert.equal((store.db.prepare('SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n, 20_000);
  } finally {
    await c.stop();
    store.close();
    assert.equal(existsSync(`${path}-wal`), false, 'a clean close leaves no WAL behind');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker that dies hands checkpoints back to the daemon\'s connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-ckpt-'));
  const store = openStore(join(dir, 'b.db'));
  const c = new Checkpointer(store, { intervalMs: 3_600_000, logger });
  try {
    assert.equal(autoCheckpoint(store), 0);
    await c.kill();
    assert.equal(autoCheckpoint(store), 1000);
  } finally {
    await c.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker that cannot open the database hands checkpoints back too', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-ckpt-'));
  const path = join(dir, 'b.db');
  const store = openStore(path);
  // The worker opens store.path with fileMustExist: point it at a file that is gone.
  Object.defineProperty(store, 'path', { value: join(dir, 'missing.db') });
  // The hand-back is the Checkpointer turning commit-time checkpoints on again when its worker exits:
  // wait for that call (however long a loaded machine takes to start and fail the worker), then check.
  const handedBack = new Promise<void>((resolve) => {
    const set = store.setCommitCheckpoints.bind(store);
    store.setCommitCheckpoints = (on: boolean) => {
      set(on);
      if (on) resolve();
    };
  });
  const c = new Checkpointer(store, { intervalMs: 50, logger });
  try {
    await handedBack;
    assert.equal(autoCheckpoint(store), 1000, 'the connection checkpoints at commit again');
  } finally {
    await c.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
