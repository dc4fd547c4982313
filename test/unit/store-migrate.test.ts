/**
 * `bootgate store migrate`: an appliance's SQLite store copied into a shared PostgreSQL store in one
 * transaction; run twice, nothing is added twice; a conflicting computer stops it (nothing written)
 * unless --merge; a password on the command line is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import type { CliIo } from '../../daemon/cli/index.js';
import { createAdminCommands } from '../../daemon/features/commands.js';
import { auditEvent } from '../../daemon/store/audit.js';
import { openStore, type Store } from '../../daemon/store/db.js';
import { freshPgUrl } from './helpers/store-backends.js';

async function cli(argv: string[]) {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo = {
    env: {}, fetch: globalThis.fetch,
    out: (t) => { out += t; }, err: (t) => { err += t; }, setExitCode: (c) => { code = c; },
    readFile: (p) => readFileSync(p, 'utf8'),
  };
  await yargs(argv).command(createAdminCommands(io)).strict().exitProcess(false)
    .fail((msg, e) => { throw e ?? new Error(msg); }).parseAsync();
  return { out, err, code };
}

const pc = (name: string, mac: string, profile = 'winpe') => ({ name, macs: [mac], guid: null, profile, kind: null, notes: '', sourceComputer: null });

function count(s: Store, table: string): number {
  return (s.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
}

test('store migrate: copies everything once, idempotent, refuses conflicts without --merge', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-migrate-'));
  try {
    const file = join(dir, 'bootgate.db');
    const src = openStore(file, { serverName: 'old-appliance' });
    src.durable(() => {
      for (let i = 0; i < 30; i++) src.computers.insert(pc(`PC-${i}`, `52:54:00:ee:00:${i.toString(16).padStart(2, '0')}`), 1);
      src.devices.seen({ mac: '52:54:00:ee:01:01', guid: null, arch: 'bios', archCode: 0, vendorClass: 'PXEClient', ip: null, firstSeen: 5, lastSeen: 6, attempts: 2 }, true);
      for (let i = 0; i < 40; i++) src.audit.insert(auditEvent({ at: 1000 + i, type: 'decision', mac: '52:54:00:ee:00:01', reason: 'known' }));
      src.settings.set('responseDelaySeconds', 2, 1);
    });
    src.close();
    const url = freshPgUrl();

    const first = await cli(['store', 'migrate', '--from', file, '--to', url, '--name', 'old-appliance']);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /computers 30 added, 0 replaced, 0 already there/);
    const target = openStore(url);
    try {
      assert.equal(target.computers.count(), 30);
      assert.equal(count(target, 'audit_events'), 41, '40 events and the migration\'s own');
      assert.equal(target.devices.get('52:54:00:ee:01:01')?.seenBy, 'old-appliance');
      assert.deepEqual(target.settings.overrides(), { responseDelaySeconds: 2 });

      const again = await cli(['store', 'migrate', '--from', file, '--to', url]);
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, /computers 0 added, 0 replaced, 30 already there/);
      assert.equal(target.computers.count(), 30);
      assert.equal(count(target, 'audit_events'), 42, 'only the second run\'s own event');

      // Another appliance's computer holds PC-3's MAC in the target: refused, nothing written.
      target.durable(() => {
        const id = target.computers.byName('PC-3')?.id as number;
        target.computers.delete(id);
        target.computers.insert(pc('OTHER-3', '52:54:00:ee:00:03', 'linux'), 2);
      });
      const before = count(target, 'audit_events');
      const refused = await cli(['store', 'migrate', '--from', file, '--to', url]);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /1 computer in the source conflict/);
      assert.match(refused.err, /PC-3 \(52:54:00:ee:00:03\) conflicts with OTHER-3/);
      assert.equal(target.computers.byName('OTHER-3')?.profile, 'linux');
      assert.equal(count(target, 'audit_events'), before, 'nothing written');

      const merged = await cli(['store', 'migrate', '--from', file, '--to', url, '--merge']);
      assert.equal(merged.code, 0, merged.err);
      assert.match(merged.out, /computers 0 added, 1 replaced, 29 already there/);
      assert.equal(target.computers.byName('OTHER-3'), undefined);
      assert.equal(target.computers.byMac('52:54:00:ee:00:03')?.name, 'PC-3');
    } finally {
      target.close();
    }

    const withPassword = await cli(['store', 'migrate', '--from', file, '--to', 'postgres://bootgate:secret@db/bootgate']);
    assert.equal(withPassword.code, 1);
    assert.match(withPassword.err, /never the command line/);
    const inQuery = await cli(['store', 'migrate', '--from', file, '--to', 'postgres://bootgate@db/bootgate?password=secret']);
    assert.equal(inQuery.code, 1);
    assert.match(inQuery.err, /never the command line/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a wrong store URL is a clear error naming store.url, not a half-open store', () => {
  const url = freshPgUrl().replace(/\/t\d+_\d+\?/, '/no_such_database?');
  assert.throws(() => openStore(url), (e: Error) => e.name === 'StoreError' && /^store\.url postgres:\/\/.*no_such_database.*: .*does not exist/.test(e.message));
  assert.throws(() => openStore('postgres://bootgate:secret@db1:5432,,db2:5432/bootgate?target_session_attrs=read-write'),
    (e: Error) => e.name === 'StoreError' && /^store\.url postgres:\/\/bootgate:\*\*\*@db1:5432,,db2:5432\/bootgate\S*: host 2 of the host list is empty$/.test(e.message)
      && !e.message.includes('secret'), 'and the password is not shown');
});
