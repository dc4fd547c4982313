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

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the worker checkpoints the WAL the daemon\'s connection no longer checkpoints at commit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-ckpt-'));
  const path = join(dir, 'b.db');
  const store = openStore(path);
  const reports: CheckpointReport[] = [];
  const c = new Checkpointer(store, { intervalMs: 50, logger, onReport: (r) => reports.push(r) });
  try {
    assert.equal(autoCheckpoint(store), 0, 'commit-time checkpoints are off while the worker runs');
    // Ten rounds of about 200 pages each: past SQLite's 1,000-page threshold, and without any checkpoint the WAL would only grow.
    fill(store, 2000);
    const oneRound = statSync(`${path}-wal`).size;
    for (let b = 1; b < 10; b++) {
      fill(store, 2000);
      await new Promise((r) => setTimeout(r, 120));
    }
    await until('a full checkpoint', () => reports.some((r) => r.type === 'checkpoint' && r.walFrames > 0 && r.checkpointed === r.walFrames));
    assert.deepEqual(reports.filter((r) => r.type === 'error'), []);
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

test('a worker that cannot open the database hands checkpoints back too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-ckpt-'));
  const path = join(dir, 'b.db');
  const store = openStore(path);
  // The worker opens store.path with fileMustExist: point it at a file that is gone.
  Object.defineProperty(store, 'path', { value: join(dir, 'missing.db') });
  const c = new Checkpointer(store, { intervalMs: 50, logger });
  try {
    await until('the fallback', () => autoCheckpoint(store) === 1000);
  } finally {
    await c.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
