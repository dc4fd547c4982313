/**
 * Backup and restore of the store: an online backup taken while writes keep coming is one consistent
 * state and opens; `bootgate store backup FILE` goes through the running daemon's API (streamed, the
 * daemon's temporary copy removed) or straight to the file without a daemon; a restore refuses while
 * the daemon answers, keeps the database it replaces, and marks required deployments consumed since
 * the backup as consumed again (or, with --no-keep-consumed, lists them as offered again).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import yargs from 'yargs';
import type { CliIo } from '../../daemon/cli/index.js';
import { loadConfig } from '../../daemon/config/load.js';
import { backupProblem, backupStore } from '../../daemon/features/backup/service.js';
import { createAdminCommands } from '../../daemon/features/commands.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type Daemon } from '../../daemon/main.js';
import { auditEvent } from '../../daemon/store/audit.js';
import { setBootOnce } from '../../daemon/store/boot-once.js';
import { openStore, type Store } from '../../daemon/store/db.js';
import { freePort } from './helpers/dhcp-client.js';

const pc = (name: string, mac: string) => ({ name, macs: [mac], guid: null, profile: 'winpe', kind: 'required' as const, notes: '', sourceComputer: null });
const macOf = (i: number) => `52:54:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

/** One write as the daemon makes them: a computer and its audit event in one transaction. */
function writePair(store: Store, i: number): void {
  store.tx(() => {
    store.computers.insert(pc(`W-${i}`, macOf(i)), i);
    store.audit.insert(auditEvent({ at: i, type: 'admin', computer: `W-${i}`, actor: 'test', detail: 'pair' }));
  });
}

async function cli(cwd: string, argv: string[]) {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo = {
    env: {}, fetch: globalThis.fetch, cwd, defaultConfig: null,
    out: (s) => { out += s; }, err: (s) => { err += s; }, setExitCode: (c) => { code = c; },
    readFile: (p) => readFileSync(p, 'utf8'),
  };
  await yargs(argv).command(createAdminCommands(io)).strict().exitProcess(false)
    .fail((msg, e) => { throw e ?? new Error(msg); }).parseAsync();
  return { out, err, code };
}

test('an online backup while writes keep coming: one consistent state that opens and passes its check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-backup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = openStore(join(dir, 'bootgate.db'));
  t.after(() => store.close());
  // Enough pages that the copy takes many turns of the event loop (100 pages a turn).
  store.tx(() => {
    for (let i = 0; i < 20_000; i++) store.audit.insert(auditEvent({ at: i, type: 'admin', actor: 'fill', detail: 'x'.repeat(200) }));
  });
  let written = 0;
  let done = false;
  const writer = (async () => {
    while (!done && written < 100_000) {
      writePair(store, 1_000_000 + written);
      written += 1;
      await new Promise((r) => setImmediate(r));
    }
  })();
  const dest = join(dir, 'backup.db');
  const r = await backupStore(store, dest);
  const writtenWhileCopying = written;
  done = true;
  await writer;
  assert.ok(writtenWhileCopying > 0, 'writes happened while the backup ran');
  assert.equal(backupProblem(dest), null);
  const copy = new Database(dest, { readonly: true });
  try {
    assert.equal(copy.pragma('journal_mode', { simple: true }), 'delete', 'one self-contained file');
    const computers = (copy.prepare("SELECT COUNT(*) AS n FROM computers WHERE name LIKE 'W-%'").get() as { n: number }).n;
    const events = (copy.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE detail = 'pair'").get() as { n: number }).n;
    // Every write is whole in the copy or absent from it: never a computer without its event.
    assert.equal(computers, events);
    assert.ok(computers <= written);
    assert.equal((copy.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE actor = 'fill'").get() as { n: number }).n, 20_000);
  } finally {
    copy.close();
  }
  assert.ok(r.bytes > 4_000_000 && r.pages > 1000, JSON.stringify(r));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temporary file left');
});

describe('bootgate store backup / restore, with and without a daemon', () => {
  let dir: string;
  let conf: string;
  let config: string;
  let db: string;
  let daemon: Daemon | null = null;
  const at = (argv: string[]) => cli(join(dir, 'elsewhere'), [...argv, '-c', '../conf/bootgate.yaml']);
  const writeConfig = (port: number) => writeFileSync(config, [
    'store: { path: data/bootgate.db }',
    `http: { port: ${port}, address: 127.0.0.1 }`,
    'profiles: { winpe: { kind: required, bootFiles: { efi-x64: bootmgfw.efi } } }',
    '',
  ].join('\n'));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bg-backup-cli-'));
    conf = join(dir, 'conf');
    mkdirSync(conf);
    mkdirSync(join(dir, 'elsewhere'));
    config = join(conf, 'bootgate.yaml');
    db = join(conf, 'data', 'bootgate.db');
    writeConfig(await freePort());
    const file = loadConfig({ file: config, env: {} });
    daemon = await startDaemon({
      config: {
        ...file, root: conf,
        http: { ...file.http, port: 0 },
        tftp: { ...file.tftp, enabled: false },
        server: { ...file.server, bindAddress: '127.0.0.1', dhcpPort: await freePort(), pxePort: 0, clientPort: await freePort(), broadcastAddress: '127.0.0.1' },
        log: { level: 'silent' as const },
      },
      logger: createLogger('silent'),
    });
    writeConfig(daemon.ports.http ?? 0);
  });

  after(async () => {
    await daemon?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('through the running daemon: streamed, written whole, the daemon\'s copy removed; restore refused', async () => {
    const add = await at(['computers', 'add', 'PC-1', '--mac', '52:54:00:0b:00:01', '--profile', 'winpe']);
    assert.equal(add.code, 0, add.err);
    const r = await at(['store', 'backup', '../backup-1.db', '-v']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /using the admin API/);
    assert.match(r.out, new RegExp(`^backup of API http://127\\.0\\.0\\.1:\\d+/api/v1 written to ${join(dir, 'backup-1.db')} \\(\\d+ bytes\\)\\n$`));
    assert.equal(backupProblem(join(dir, 'backup-1.db')), null);
    const copy = new Database(join(dir, 'backup-1.db'), { readonly: true });
    assert.deepEqual(copy.prepare('SELECT name FROM computers').all(), [{ name: 'PC-1' }]);
    copy.close();
    assert.deepEqual(readdirSync(join(conf, 'data')).filter((f) => f.startsWith('.')), [], 'the daemon removed its temporary copy');
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.partial')), []);

    const base = `http://127.0.0.1:${daemon?.ports.http}/api/v1`;
    assert.equal((await fetch(`${base}/store/backup`, { method: 'POST' })).status, 401, 'a backup needs a token');
    const doc = await (await fetch(`${base}/openapi.json`)).json() as { paths: Record<string, { post?: { responses: Record<string, { content?: object }> } }> };
    assert.deepEqual(Object.keys(doc.paths['/api/v1/store/backup']?.post?.responses['200']?.content ?? {}), ['application/vnd.sqlite3']);

    const refused = await at(['store', 'restore', '../backup-1.db']);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /the daemon answers at .*: stop it first/);
  });

  test('without a daemon: backup from the file; restore keeps the old database and carries consumed deployments over', async () => {
    await daemon?.close();
    daemon = null;
    const direct = await at(['store', 'backup', '../backup-2.db']);
    assert.equal(direct.code, 0, direct.err);
    assert.match(direct.out, new RegExp(`^backup of database ${db} written to ${join(dir, 'backup-2.db')}`));

    // After the backup, PC-1's required deployment runs (consumed) and PC-2 is added.
    const live = openStore(db);
    const pc1 = live.computers.byName('PC-1');
    assert.ok(pc1);
    setBootOnce(live, { computer: pc1, consumed: true, by: 'marker:sources/boot.wim', actor: 'marker', now: Date.now() });
    live.computers.insert(pc('PC-2', '52:54:00:0b:00:02'), Date.now());
    live.close();

    const r = await at(['store', 'restore', '../backup-2.db']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^restored ${db} from ${join(dir, 'backup-2.db')}\\n`));
    assert.match(r.out, /the database it replaced is kept as .*bootgate\.db\.before-restore-\S+\n/);
    assert.match(r.out, /marked consumed again \(1\):\n {2}PC-1 {2}consumed \S+ \(marker:sources\/boot\.wim\)\n$/);
    const restored = openStore(db, { mustExist: true });
    assert.equal(restored.computers.byName('PC-2'), undefined, 'the backup\'s state, not the later one');
    assert.match(restored.computers.byName('PC-1')?.bootOnceConsumedBy ?? '', /^restore:marker:sources\/boot\.wim$/);
    restored.close();
    const kept = readdirSync(join(conf, 'data')).filter((f) => f.includes('before-restore') && !f.endsWith('-wal') && !f.endsWith('-shm'));
    assert.equal(kept.length, 1);
    const old = new Database(join(conf, 'data', kept[0] as string), { readonly: true });
    assert.deepEqual(old.prepare('SELECT name FROM computers ORDER BY name').all(), [{ name: 'PC-1' }, { name: 'PC-2' }], 'the replaced database is whole');
    old.close();

    const again = await at(['store', 'restore', '../backup-2.db', '--no-keep-consumed']);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /NOT marked: they will be offered again \(1\):\n {2}PC-1 /);
    const plain = openStore(db, { mustExist: true });
    assert.equal(plain.computers.byName('PC-1')?.bootOnceConsumedAt, null);
    plain.close();

    writeFileSync(join(dir, 'junk.db'), 'not a database');
    const junk = await at(['store', 'restore', '../junk.db']);
    assert.equal(junk.code, 1);
    assert.match(junk.err, /not restored: .*junk\.db/);
    assert.ok(existsSync(db));
  });
});
