/**
 * Crash safety: a child process is killed with SIGKILL in the middle of a large import and in the
 * middle of a burst of decisions; the database is reopened and checked. An import is there whole or
 * not at all; every decision batch the child saw committed is there, and no batch is there in part.
 *
 * The child is this same file run with BG_CRASH_CHILD set (so nothing else under test/unit/ is a
 * script the test runner would pick up).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { Gatekeeper } from '../../daemon/boot/gatekeeper.js';
import { InventoryService } from '../../daemon/features/inventory/service.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { createStoreBackend } from '../../daemon/store/backend.js';
import { openStore } from '../../daemon/store/db.js';

const ROWS = 20_000;
const BATCH = 500;
const BATCHES_MAX = 200;

const cfg = validateConfig({
  profiles: { winpe: { bootFiles: { 'efi-x64': 'boot/x64/wdsmgfw.efi' } } },
  policy: { unknown: { action: 'pending', profile: 'winpe' } },
  store: { pendingMax: 1_000_000 },
}, 'crash');

const macOf = (i: number): string => `02:${[24, 16, 8, 0].map((s) => ((i >>> s) & 0xff).toString(16).padStart(2, '0')).join(':')}:01`;

/** Blocks this thread (inside whatever transaction is open) until the parent kills it. */
function hang(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
}

function say(line: string): void {
  writeSync(1, `${line}\n`);
}

function childImport(db: string, hangMidway: boolean): void {
  const store = openStore(db);
  const svc = new InventoryService(store, () => cfg);
  const csv = ['Name,MAC,Profile', ...Array.from({ length: ROWS }, (_, i) => `PC-${i},${macOf(i)},winpe`)].join('\n');
  svc.importComputers(csv, 'csv', {
    progressEvery: 1000,
    onProgress: (n) => {
      if (hangMidway && n === ROWS / 4) { say('mid-import'); hang(); }
    },
  }, 'crash');
  say('import-committed');
  hang();
}

function childDecisions(db: string, hangInFlush: boolean): void {
  const store = openStore(db);
  if (hangInFlush) {
    // Stop half-way through writing batch 11, inside the flush's transaction.
    const insert = store.audit.insert.bind(store.audit);
    let k = 0;
    store.audit.insert = (e) => {
      insert(e);
      if (++k === 10 * BATCH + BATCH / 2) { say('mid-flush'); hang(); }
    };
  }
  const logger = createLogger('silent');
  const metrics = createMetrics(new Registry());
  // Flushes only when told, so each committed batch is exactly BATCH decisions.
  const backend = createStoreBackend(cfg, store, { logger, metrics, flushIntervalMs: 3_600_000, queueMax: BATCH * 4 });
  const gate = new Gatekeeper(backend, logger, metrics);
  let n = 0;
  for (let b = 0; b < BATCHES_MAX; b++) {
    for (let i = 0; i < BATCH; i++, n++) {
      const client: ClientInfo = {
        mac: macOf(n), archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null,
        vendorClass: 'PXEClient:Arch:00007', ip: null, door: 'dhcp',
      };
      gate.decide(client);
    }
    backend.flush();
    say(`committed ${n}`);
  }
  say('done');
  hang();
}

const role = process.env.BG_CRASH_CHILD;
if (role !== undefined) {
  const db = process.env.BG_CRASH_DB ?? '';
  if (role === 'import-hang') childImport(db, true);
  else if (role === 'import') childImport(db, false);
  else if (role === 'decisions') childDecisions(db, false);
  else if (role === 'decisions-hang') childDecisions(db, true);
} else {
  /** Runs the child until `until(line)` says so, SIGKILLs it, and returns the lines it printed. */
  const runChild = (role: string, db: string, until: (line: string) => boolean): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
        env: { ...process.env, BG_CRASH_CHILD: role, BG_CRASH_DB: db }, stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines: string[] = [];
      let buf = '';
      let killed = false;
      const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child ${role} never reached its kill point`)); }, 60_000);
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          lines.push(line);
          if (!killed && until(line)) { killed = true; child.kill('SIGKILL'); }
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(guard);
        if (signal !== 'SIGKILL') reject(new Error(`child ${role} exited ${code} ${signal} before the kill`));
        else resolve(lines);
      });
    });

  const dir = () => mkdtempSync(join(tmpdir(), 'bg-crash-'));

  test('crash: SIGKILL in the middle of an import leaves none of it', async () => {
    const d = dir();
    try {
      const db = join(d, 'b.db');
      const lines = await runChild('import-hang', db, (l) => l === 'mid-import');
      assert.deepEqual(lines, ['mid-import'], 'killed while 5,000 rows were written inside the open transaction');
      const s = openStore(db);
      assert.equal(s.computers.count(), 0);
      assert.equal((s.db.prepare('SELECT COUNT(*) AS n FROM computer_macs').get() as { n: number }).n, 0);
      assert.equal(s.audit.count(), 0);
      assert.equal(s.db.pragma('integrity_check', { simple: true }), 'ok');
      s.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('crash: SIGKILL right after an import committed keeps all of it', async () => {
    const d = dir();
    try {
      const db = join(d, 'b.db');
      await runChild('import', db, (l) => l === 'import-committed');
      const s = openStore(db);
      assert.equal(s.computers.count(), ROWS);
      assert.equal(s.computers.byMac(macOf(ROWS - 1))?.name, `PC-${ROWS - 1}`);
      assert.equal(s.audit.query({ type: 'admin', limit: 5 })[0]?.detail, `import: ${ROWS} created, 0 updated`);
      s.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('crash: SIGKILL inside a decision batch\'s transaction loses only that uncommitted batch', async () => {
    const d = dir();
    try {
      const db = join(d, 'b.db');
      const lines = await runChild('decisions-hang', db, (l) => l === 'mid-flush');
      assert.equal(lines.at(-2), `committed ${10 * BATCH}`);
      const s = openStore(db);
      assert.equal((s.db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE type = 'decision'").get() as { n: number }).n, 10 * BATCH);
      assert.equal(s.devices.count('pending'), 10 * BATCH);
      assert.equal(s.devices.get(macOf(10 * BATCH)), undefined, 'the half-written batch is gone entirely');
      s.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('crash: SIGKILL during a burst of decisions keeps every committed batch, and no batch in part', async (t) => {
    const d = dir();
    try {
      const db = join(d, 'b.db');
      const lines = await runChild('decisions', db, (l) => l.startsWith('committed ') && Number(l.slice(10)) >= 10 * BATCH);
      const committed = Math.max(...lines.filter((l) => l.startsWith('committed ')).map((l) => Number(l.slice(10))));
      const s = openStore(db);
      const events = (s.db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE type = 'decision'").get() as { n: number }).n;
      const devices = s.devices.count('pending');
      t.diagnostic(`${committed} decisions reported committed when killed; ${events} on disk after reopening`);
      assert.ok(events >= committed, `${events} decision events on disk, ${committed} reported committed`);
      assert.equal(events % BATCH, 0, 'only whole batches');
      assert.equal(devices, events, 'each decision recorded its new pending device in the same transaction');
      for (const i of [0, committed / 2, committed - 1]) assert.equal(s.devices.get(macOf(i))?.status, 'pending', `device ${i}`);
      assert.equal(s.db.pragma('integrity_check', { simple: true }), 'ok');
      s.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
}
