/**
 * Importing computers: a supplier's CSV and YAML, exact per-row errors, all or nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validateConfig } from '../../daemon/config/load.js';
import { AdminError } from '../../daemon/http/admin/errors.js';
import { EventsService } from '../../daemon/features/events/service.js';
import { InventoryService } from '../../daemon/features/inventory/service.js';
import { openStore } from '../../daemon/store/db.js';

const cfg = validateConfig({
  profiles: { winpe: { kind: 'required' }, linux: {} },
  policy: { unknown: { action: 'pending', profile: 'winpe' } },
}, 'test');

function setup() {
  const store = openStore(':memory:');
  let t = 1_700_000_000_000;
  const svc = new InventoryService(store, () => cfg, () => (t += 1000));
  return { store, svc, events: new EventsService(store), done: () => store.close() };
}

function importError(fn: () => unknown): AdminError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AdminError) return e;
    throw e;
  }
  assert.fail('expected an AdminError');
}

test('import: the example CSV and YAML import cleanly (every supported MAC and GUID form)', () => {
  const s = setup();
  try {
    const csv = s.svc.importComputers(readFileSync('config/computers.example.csv', 'utf8'), 'csv', {}, 'test');
    assert.deepEqual(csv, { created: 4, updated: 0, ignoredColumns: [] });
    const yaml = s.svc.importComputers(readFileSync('config/computers.example.yaml', 'utf8'), 'yaml', {}, 'test');
    assert.deepEqual(yaml, { created: 2, updated: 0, ignoredColumns: [] });
    const pc3 = s.svc.getComputer('LAB-PC-003');
    assert.deepEqual(pc3.macs, ['52:54:00:77:00:03', '52:54:00:77:00:13']);
    assert.equal(pc3.guid, '33221100-5544-7766-8899-aabbccddee03');
    assert.equal(s.svc.getComputer('52:54:00:77:00:13').name, 'LAB-PC-003', 'found by its second MAC');
    assert.equal(s.svc.getComputer('00112233-4455-6677-8899-aabbccddee03').name, 'LAB-PC-003', 'found by the GUID in the other byte order');
    assert.equal(s.svc.getComputer('lab-pc-001').effectiveKind, 'required');
    assert.equal(s.svc.getComputer('LAB-PC-002').sourceComputer, 'LAB-PC-OLD-02');
    assert.deepEqual(s.svc.getComputer('LAB-PC-101').macs, ['52:54:00:77:01:01', '52:54:00:77:01:11']);
  } finally {
    s.done();
  }
});

test('import: every problem reported with its line; nothing imported', () => {
  const s = setup();
  try {
    s.svc.importComputers('Name,MAC,Profile\nEXISTING,52:54:00:00:00:99,linux\n', 'csv', {}, 'test');
    const csv = [
      'Name;MAC;SMBIOS GUID;Profile;Serial',
      'PC-01;52:54:00:00:00:01;;winpe;S1',
      'PC 02;52:54:00:00:00:zz;;winpe;S2',
      'PC-03;;;winpe;S3',
      'PC-04;52:54:00:00:00:01;00000000-0000-0000-0000-000000000000;nope;S4',
      'pc-01;52:54:00:00:00:05;;;S5',
      'PC-06;52:54:00:00:00:99;not-a-guid;linux;S6',
      'existing;52:54:00:00:00:07;;linux;S7',
    ].join('\n');
    const e = importError(() => s.svc.importComputers(csv, 'csv', {}, 'test'));
    assert.equal(e.status, 400);
    assert.equal(e.code, 'ERR_IMPORT');
    assert.equal(e.message, 'import refused, nothing was imported: 11 problems');
    assert.deepEqual(e.problems, [
      'line 3: name "PC 02" is not a valid computer name (letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters)',
      'line 3: MAC "52:54:00:00:00:zz" is not a MAC address (expected 6 octets such as 52:54:00:12:34:56)',
      'line 4: needs at least one MAC or an SMBIOS GUID',
      'line 5: SMBIOS GUID 00000000-0000-0000-0000-000000000000 is the placeholder firmware sends when it has none; leave it empty',
      'line 5: profile "nope" is not in the configuration (profiles: winpe, linux)',
      'line 5: MAC 52:54:00:00:00:01 is also on line 2',
      'line 6: profile is missing',
      'line 6: name "pc-01" is also on line 2',
      'line 7: SMBIOS GUID "not-a-guid" is not a GUID (expected 32 hex digits such as 00112233-4455-6677-8899-aabbccddee01)',
      'line 7: MAC 52:54:00:00:00:99 already belongs to computer "EXISTING"',
      'line 8: computer "EXISTING" already exists (import with update to replace it)',
    ]);
    assert.equal(s.store.computers.count(), 1, 'all or nothing');
  } finally {
    s.done();
  }
});

test('import: duplicates inside the file and clashes with the inventory', () => {
  const s = setup();
  try {
    s.svc.importComputers('Name,MAC,GUID,Profile\nOLD-1,52:54:00:00:00:01,00112233-4455-6677-8899-aabbccddee01,linux\n', 'csv', {}, 'test');
    const csv = [
      'Name,MAC,GUID,Profile',
      'NEW-1,52:54:00:00:00:02,,winpe',
      'NEW-2,52:54:00:00:00:02,,winpe',
      'new-1,52:54:00:00:00:03,,winpe',
      'NEW-4,52:54:00:00:00:01,,winpe',
      'NEW-5,,33221100-5544-7766-8899-aabbccddee01,winpe',
      'NEW-6,,00112233-4455-6677-8899-aabbccdd0006,winpe',
      'NEW-7,,33221100-5544-7766-8899-aabbccdd0006,winpe',
    ].join('\n');
    const e = importError(() => s.svc.importComputers(csv, 'csv', {}, 'test'));
    assert.deepEqual(e.problems, [
      'line 3: MAC 52:54:00:00:00:02 is also on line 2',
      'line 4: name "new-1" is also on line 2',
      'line 5: MAC 52:54:00:00:00:01 already belongs to computer "OLD-1"',
      'line 6: SMBIOS GUID 33221100-5544-7766-8899-aabbccddee01 already belongs to computer "OLD-1"',
      'line 8: SMBIOS GUID 33221100-5544-7766-8899-aabbccdd0006 is also on line 7 (GUIDs match in either byte order)',
    ]);
  } finally {
    s.done();
  }
});

test('import: update mode replaces by name and may move MACs between computers of the same file', () => {
  const s = setup();
  try {
    s.svc.importComputers('Name,MAC,Profile\nA,52:54:00:00:00:01,linux\nB,52:54:00:00:00:02,linux\n', 'csv', {}, 'test');
    const r = s.svc.importComputers('Name,MAC,Profile\nA,52:54:00:00:00:02,winpe\nB,52:54:00:00:00:01,winpe\nC,52:54:00:00:00:03,winpe\n', 'csv', { update: true }, 'test');
    assert.deepEqual(r, { created: 1, updated: 2, ignoredColumns: [] });
    assert.equal(s.svc.getComputer('52:54:00:00:00:02').name, 'A');
    assert.equal(s.svc.getComputer('A').profile, 'winpe');
  } finally {
    s.done();
  }
});

test('import: a default profile for sheets without one; unknown columns reported; headerless Configuration Manager order', () => {
  const s = setup();
  try {
    const r = s.svc.importComputers('Computer Name,MAC Address,Asset Tag\nPC-1,52:54:00:00:00:01,X\n', 'csv', { defaultProfile: 'linux' }, 'test');
    assert.deepEqual(r, { created: 1, updated: 0, ignoredColumns: ['Asset Tag'] });
    assert.equal(s.svc.getComputer('PC-1').profile, 'linux');
    const h = s.svc.importComputers('PC-2,52:54:00:00:00:02,00112233-4455-6677-8899-aabbccddee02,winpe,OLD-PC-2\n', 'csv', {}, 'test');
    assert.equal(h.created, 1);
    assert.equal(s.svc.getComputer('PC-2').sourceComputer, 'OLD-PC-2');
    assert.throws(() => s.svc.importComputers('Name,MAC\nPC-3,52:54:00:00:00:03\n', 'csv', { defaultProfile: 'gone' }, 'test'), /default profile "gone" is not in the configuration/);
  } finally {
    s.done();
  }
});

test('import: file-level problems (CSV syntax, header, YAML syntax and shape)', () => {
  const s = setup();
  try {
    const cases: Array<[string, 'csv' | 'yaml', string[]]> = [
      ['Name,MAC\n"PC-1,52:54:00:00:00:01\n', 'csv', ['line 2: Quote Not Closed: the parsing is finished with an opening quote']],
      ['Name,Profile\nPC-1,winpe\n', 'csv', ['line 1: no MAC or SMBIOS GUID column']],
      ['MAC,Profile,MAC Address\n', 'csv', ['line 1: columns 1 and 3 both give the MAC', 'line 1: no Name column']],
      ['', 'csv', ['the file has no rows']],
      ['Name,MAC,Profile\n', 'csv', ['the file lists no computers']],
      ['- name: a\n  name: b\n', 'yaml', ['line 2: Map keys must be unique']],
      ['name: PC-1\n', 'yaml', ['line 1: expected a list of computers or a mapping with the one key "computers"']],
      ['- name: PC-1\n  mac: "52:54:00:00:00:01"\n  profile: winpe\n  colour: red\n- 42\n', 'yaml', [
        'item 1 (line 1): unknown key "colour" (known: name, mac, macs, guid, smbiosGuid, profile, kind, notes, sourceComputer)',
        'item 2 (line 5): expected a mapping with name, macs, guid, profile',
      ]],
      ['- name: PC-1\n  macs: [52:54:00:00:00:01, 7]\n  profile: winpe\n  kind: sometimes\n', 'yaml', [
        'item 1 (line 1): MAC 7 is not a MAC address (expected 6 octets such as 52:54:00:12:34:56)',
        'item 1 (line 1): kind "sometimes" must be "required" or "available"',
      ]],
    ];
    for (const [text, format, problems] of cases) {
      const e = importError(() => s.svc.importComputers(text, format, {}, 'test'));
      assert.deepEqual(e.problems, problems, text);
    }
    assert.equal(s.store.computers.count(), 0);
  } finally {
    s.done();
  }
});

test('import: an imported MAC leaves the pending queue; the import is audited', () => {
  const s = setup();
  try {
    s.store.devices.seen({ mac: '52:54:00:00:00:01', guid: null, arch: null, archCode: null, vendorClass: null, ip: null, firstSeen: 1, lastSeen: 1, attempts: 1 }, true);
    s.svc.importComputers('Name,MAC,Profile\nPC-1,52:54:00:00:00:01,winpe\n', 'csv', {}, 'cli');
    assert.equal(s.store.devices.get('52:54:00:00:00:01'), undefined);
    const ev = s.events.events({ type: 'admin' });
    assert.equal(ev[0]?.detail, 'import: 1 created, 0 updated');
    assert.equal(ev[0]?.actor, 'cli');
  } finally {
    s.done();
  }
});
