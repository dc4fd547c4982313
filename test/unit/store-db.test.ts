import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, StoreError } from '../../daemon/store/db.js';
import { MIGRATIONS } from '../../daemon/store/migrations.js';
import { auditEvent } from '../../daemon/store/audit.js';
import { effectiveSettings } from '../../daemon/store/settings.js';
import type { ComputerInput } from '../../daemon/store/computers.js';
import { STORE_BACKENDS } from './helpers/store-backends.js';

function tempDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bg-store-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const pc = (over: Partial<ComputerInput> = {}): ComputerInput => ({
  name: 'PC-01', macs: ['52:54:00:77:00:01'], guid: null, profile: 'winpe', kind: null, notes: '', sourceComputer: null, ...over,
});

test('openStore: creates the file in WAL mode with the migrations recorded; reopening applies nothing twice', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'sub', 'bootgate.db');
    const s1 = openStore(path);
    assert.equal(s1.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(s1.db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(s1.schemaVersion(), MIGRATIONS.length);
    s1.computers.insert(pc(), 1);
    s1.close();
    const s2 = openStore(path);
    assert.equal(s2.schemaVersion(), MIGRATIONS.length);
    assert.equal(s2.computers.count(), 1);
    assert.equal((s2.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n, MIGRATIONS.length);
    s2.close();
  } finally {
    t.done();
  }
});

for (const b of STORE_BACKENDS) test(`${b.name}: openStore: a later migration is applied on upgrade, a database newer than the code is refused`, () => {
  const t = tempDir();
  try {
    const path = b.location(t.dir);
    openStore(path).close();
    const next = [...MIGRATIONS, { version: 99, name: 'test column', sql: 'ALTER TABLE computers ADD COLUMN test_col TEXT' }];
    const s = openStore(path, { migrations: next });
    assert.equal(s.schemaVersion(), 99);
    s.close();
    assert.throws(() => openStore(path), (e: unknown) => e instanceof StoreError && /schema version 99 is newer than this bootgate understands \(up to \d+\)/.test(e.message));
  } finally {
    t.done();
  }
});

test('openStore: a file that is not a database gives a StoreError naming it', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'junk.db');
    writeFileSync(path, 'this is a text file, not an SQLite database '.repeat(200));
    assert.throws(() => openStore(path), (e: unknown) => e instanceof StoreError && e.message.startsWith(`cannot open database ${path}: `));
    assert.throws(() => openStore(t.dir), (e: unknown) => e instanceof StoreError && e.message.includes(t.dir));
  } finally {
    t.done();
  }
});

for (const b of STORE_BACKENDS) {
  test(`${b.name}: computers: lookups by MAC, by name (case-insensitive), by GUID; update replaces MACs; delete cascades`, () => {
    const s = b.open();
    try {
      const id = s.tx(() => s.computers.insert(pc({ macs: ['52:54:00:77:00:01', '52:54:00:77:00:11'], guid: '00112233-4455-6677-8899-aabbccddee01' }), 10));
      assert.equal(s.computers.byMac('52:54:00:77:00:11')?.id, id);
      assert.equal(s.computers.byName('pc-01')?.id, id);
      assert.deepEqual(s.computers.byGuid('00112233-4455-6677-8899-aabbccddee01')?.macs, ['52:54:00:77:00:01', '52:54:00:77:00:11']);
      s.tx(() => s.computers.update(id, pc({ name: 'PC-01b', macs: ['52:54:00:77:00:21'] }), 20));
      const after = s.computers.byId(id);
      assert.equal(after?.name, 'PC-01b');
      assert.deepEqual(after?.macs, ['52:54:00:77:00:21']);
      assert.equal(after?.createdAt, 10);
      assert.equal(after?.updatedAt, 20);
      assert.equal(s.computers.byMac('52:54:00:77:00:01'), undefined);
      assert.ok(s.computers.setBootOnce(id, 30, 'api', 30));
      assert.equal(s.computers.byId(id)?.bootOnceConsumedAt, 30);
      assert.ok(s.computers.delete(id));
      assert.equal((s.db.prepare('SELECT COUNT(*) AS n FROM computer_macs').get() as { n: number }).n, 0);
    } finally {
      s.close();
    }
  });

  test(`${b.name}: computers: a MAC, a name or a GUID cannot belong to two computers`, () => {
    const s = b.open();
    try {
      s.tx(() => s.computers.insert(pc({ guid: '00112233-4455-6677-8899-aabbccddee01' }), 1));
      assert.throws(() => s.tx(() => s.computers.insert(pc({ name: 'PC-02' }), 1)), /UNIQUE|unique constraint/);
      assert.throws(() => s.tx(() => s.computers.insert(pc({ name: 'pc-01', macs: ['52:54:00:77:00:02'] }), 1)), /UNIQUE|unique constraint/);
      assert.throws(() => s.tx(() => s.computers.insert(pc({ name: 'PC-03', macs: [], guid: '00112233-4455-6677-8899-aabbccddee01' }), 1)), /UNIQUE|unique constraint/);
      assert.equal(s.computers.count(), 1, 'failed transactions left nothing behind');
    } finally {
      s.close();
    }
  });

  test(`${b.name}: devices: sightings accumulate attempts; a rejected device keeps its status; touch never inserts`, () => {
    const s = b.open();
    try {
      const sight = { mac: '52:54:00:77:00:09', guid: null, arch: 'bios', archCode: 0, vendorClass: 'PXEClient', ip: null, firstSeen: 5, lastSeen: 5, attempts: 2 };
      s.devices.seen(sight, true);
      s.devices.seen({ ...sight, firstSeen: 9, lastSeen: 9, attempts: 3, ip: '10.77.0.50' }, true);
      let d = s.devices.get(sight.mac);
      assert.deepEqual([d?.status, d?.attempts, d?.firstSeen, d?.lastSeen, d?.ip], ['pending', 5, 5, 9, '10.77.0.50']);
      s.devices.setStatus(sight.mac, 'rejected', 10, 'cli');
      s.devices.seen({ ...sight, lastSeen: 11, attempts: 1 }, false);
      d = s.devices.get(sight.mac);
      assert.deepEqual([d?.status, d?.attempts, d?.decidedBy], ['rejected', 6, 'cli']);
      s.devices.seen({ ...sight, mac: '52:54:00:77:00:0a' }, false);
      assert.equal(s.devices.get('52:54:00:77:00:0a'), undefined);
      assert.deepEqual(s.devices.macs('rejected'), [sight.mac]);
      assert.equal(s.devices.count('pending'), 0);
    } finally {
      s.close();
    }
  });

  test(`${b.name}: audit: filters by MAC, type and time, newest first; retention by age and by row count`, () => {
    const s = b.open();
    try {
      s.tx(() => {
        for (let i = 0; i < 50; i++) {
          s.audit.insert(auditEvent({ at: i * 1000, type: i % 10 === 0 ? 'admin' : 'decision', mac: i % 2 ? '52:54:00:00:00:01' : '52:54:00:00:00:02', reason: 'known' }));
        }
      });
      const mine = s.audit.query({ mac: '52:54:00:00:00:01', since: 10_000, until: 20_000, limit: 100 });
      assert.deepEqual(mine.map((e) => e.at), [19_000, 17_000, 15_000, 13_000, 11_000]);
      assert.equal(s.audit.query({ type: 'admin', limit: 100 }).length, 5);
      assert.equal(s.audit.query({ limit: 3 })[0]?.at, 49_000);
      const page2 = s.audit.query({ limit: 3, beforeId: s.audit.query({ limit: 3 })[2]!.id });
      assert.equal(page2[0]?.at, 46_000);
      assert.equal(s.audit.deleteOlderThan(10_000, 4), 4, 'chunked');
      assert.equal(s.audit.deleteOlderThan(10_000, 100), 6);
      assert.equal(s.audit.count(), 40);
      assert.equal(s.audit.trimTo(25, 100), 15);
      assert.equal(s.audit.count(), 25);
      assert.equal(s.audit.query({ limit: 100 }).at(-1)?.at, 25_000, 'the newest are kept');
      assert.equal(s.audit.trimTo(25, 100), 0);
    } finally {
      s.close();
    }
  });

  test(`${b.name}: settings: overrides on top of the config; unknown keys and bad values never leak through`, () => {
    const s = b.open();
    try {
      const base = { answering: true, responseDelaySeconds: 0, interfaces: ['eth0'] };
      assert.deepEqual(effectiveSettings(base, s.settings.overrides()), base);
      s.settings.set('answering', false, 1);
      s.settings.set('interfaces', ['br0', 'eth1'], 1);
      assert.deepEqual(effectiveSettings(base, s.settings.overrides()), { answering: false, responseDelaySeconds: 0, interfaces: ['br0', 'eth1'] });
      s.db.prepare("INSERT INTO settings (key, value, updated_at) VALUES ('bogus', '1', 1)").run();
      s.db.prepare("UPDATE settings SET value = 'not json' WHERE key = 'answering'").run();
      s.settings.set('responseDelaySeconds', 'seven', 1);
      assert.deepEqual(effectiveSettings(base, s.settings.overrides()), { answering: true, responseDelaySeconds: 0, interfaces: ['br0', 'eth1'] });
      assert.ok(s.settings.clear('interfaces'));
      assert.deepEqual(effectiveSettings(base, s.settings.overrides()).interfaces, ['eth0']);
    } finally {
      s.close();
    }
  });
}
