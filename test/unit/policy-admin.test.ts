/**
 * The admin operations the API and the CLI share, seen through the policy: approve, reject, boot-once
 * clear and done, single-computer edits, settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { Gatekeeper } from '../../daemon/boot/gatekeeper.js';
import { AdminError } from '../../daemon/http/admin/errors.js';
import { EventsService } from '../../daemon/features/events/service.js';
import { InventoryService } from '../../daemon/features/inventory/service.js';
import { SettingsService } from '../../daemon/features/settings/service.js';
import { StatusService } from '../../daemon/features/status/service.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { createStoreBackend } from '../../daemon/store/backend.js';
import { openStore } from '../../daemon/store/db.js';

const cfg = validateConfig({
  server: { interfaces: ['eth0'] },
  profiles: {
    winpe: { bootFiles: { 'efi-x64': 'boot/x64/wdsmgfw.efi' } },
    wipe: { kind: 'required', bootOnceMarker: 'sources/boot.wim', bootFiles: { 'efi-x64': 'wipe/wipe.efi' } },
  },
  policy: { unknown: { action: 'pending', profile: 'winpe' } },
}, 'test');

function client(mac: string, over: Partial<ClientInfo> = {}): ClientInfo {
  return {
    mac, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null,
    vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ip: null, door: 'dhcp', ...over,
  };
}

function setup() {
  const store = openStore(':memory:');
  const logger = createLogger('silent');
  const metrics = createMetrics(new Registry());
  const backend = createStoreBackend(cfg, store, { logger, metrics });
  const gate = new Gatekeeper(backend, logger, metrics);
  const svc = new InventoryService(store, () => cfg);
  const settings = new SettingsService(store, () => cfg);
  const events = new EventsService(store);
  const status = new StatusService(() => cfg);
  return { store, backend, gate, svc, settings, events, status, done: () => { backend.close(); store.close(); } };
}

function adminError(fn: () => unknown): AdminError {
  try { fn(); } catch (e) { if (e instanceof AdminError) return e; throw e; }
  assert.fail('expected an AdminError');
}

const MAC = '52:54:00:77:00:31';

test('pending -> approve: the device becomes a computer and boots on its next try', () => {
  const s = setup();
  try {
    const guid = { guid: '33221100-5544-7766-8899-aabbccddee31', guidSwapped: '00112233-4455-6677-8899-aabbccddee31' };
    assert.equal(s.gate.decide(client(MAC, { ...guid, ip: '10.77.0.60' })).reason, 'unknown-pending');
    s.backend.flush();
    const pending = s.svc.listDevices('pending');
    assert.deepEqual(pending.map((d) => [d.mac, d.guid, d.arch, d.ip, d.attempts]), [[MAC, guid.guid, 'efi-x64', '10.77.0.60', 1]]);
    const pc = s.svc.approve('52-54-00-77-00-31', { name: 'LAB-31', profile: 'wipe' }, 'api:abc');
    assert.deepEqual([pc.name, pc.macs, pc.guid, pc.profile, pc.effectiveKind], ['LAB-31', [MAC], guid.guid, 'wipe', 'required']);
    assert.deepEqual(s.svc.listDevices(), []);
    assert.deepEqual(s.gate.decide(client(MAC)), { kind: 'boot', profile: 'wipe', computer: 'LAB-31', reason: 'known', target: { transport: 'tftp', path: 'wipe/wipe.efi' } });
    assert.equal(s.events.events({ mac: MAC, type: 'admin' })[0]?.detail, 'approved as LAB-31');
  } finally {
    s.done();
  }
});

test('approve without options: a generated name and the unknown policy profile', () => {
  const s = setup();
  try {
    s.gate.decide(client(MAC));
    s.backend.flush();
    const pc = s.svc.approve(MAC, {}, 'cli');
    assert.deepEqual([pc.name, pc.profile, pc.effectiveKind], ['pc-525400770031', 'winpe', 'available']);
  } finally {
    s.done();
  }
});

test('approve and reject: exact errors', () => {
  const s = setup();
  try {
    s.gate.decide(client(MAC));
    s.backend.flush();
    s.svc.saveComputer({ name: 'TAKEN', macs: '52:54:00:77:00:99', profile: 'winpe' }, 'cli');
    const rows: Array<[() => unknown, number, string]> = [
      [() => s.svc.approve('nonsense', {}, 'cli'), 400, '"nonsense" is not a MAC address'],
      [() => s.svc.approve('52:54:00:77:00:32', {}, 'cli'), 404, 'no pending or rejected device 52:54:00:77:00:32'],
      [() => s.svc.approve(MAC, { profile: 'nope' }, 'cli'), 400, 'profile "nope" is not in the configuration (profiles: winpe, wipe)'],
      [() => s.svc.approve(MAC, { name: 'bad name' }, 'cli'), 400, 'name "bad name" is not a valid computer name'],
      [() => s.svc.approve(MAC, { name: 'taken' }, 'cli'), 409, 'computer "taken" already exists'],
      [() => s.svc.reject('52:54:00:77:00:32', 'cli'), 404, 'no pending or rejected device 52:54:00:77:00:32'],
    ];
    for (const [fn, status, message] of rows) {
      const e = adminError(fn);
      assert.deepEqual([e.status, e.message], [status, message]);
    }
    assert.equal(s.svc.listDevices('pending').length, 1, 'failed approvals changed nothing');
  } finally {
    s.done();
  }
});

test('reject: the device is ignored from then on; forgetting it makes it pending again', () => {
  const s = setup();
  try {
    s.gate.decide(client(MAC));
    s.backend.flush();
    assert.equal(s.svc.reject(MAC, 'cli').status, 'rejected');
    assert.equal(s.gate.decide(client(MAC)).reason, 'rejected');
    s.svc.forgetDevice(MAC, 'cli');
    assert.equal(s.gate.decide(client(MAC)).reason, 'unknown-pending');
  } finally {
    s.done();
  }
});

test('boot once: reported done through the service, then cleared', () => {
  const s = setup();
  try {
    s.svc.saveComputer({ name: 'W-1', macs: [MAC], profile: 'wipe' }, 'cli');
    assert.equal(s.gate.decide(client(MAC)).kind, 'boot');
    const done = s.svc.deploymentDone('W-1', 'api:abc');
    assert.equal(done.bootOnce.consumedBy, 'reported done');
    assert.notEqual(done.bootOnce.consumedAt, null);
    assert.deepEqual(s.gate.decide(client(MAC, { ipxe: true })), {
      kind: 'local', computer: 'W-1', reason: 'boot-once-consumed', script: { transport: 'http', path: 'ipxe/52-54-00-77-00-31.ipxe' },
    });
    const cleared = s.svc.clearBootOnce(MAC, 'cli');
    assert.deepEqual(cleared.bootOnce, { consumedAt: null, consumedBy: null });
    assert.equal(s.gate.decide(client(MAC)).kind, 'boot');
    assert.deepEqual(s.events.events({ type: 'boot-once' }).map((e) => [e.detail, e.actor]), [['cleared', 'cli'], ['consumed (reported done)', 'api:abc']]);
  } finally {
    s.done();
  }
});

test('computers: create, replace (rename, new MACs), delete; conflicts are 409', () => {
  const s = setup();
  try {
    s.svc.saveComputer({ name: 'A', macs: ['52:54:00:00:00:01'], profile: 'winpe' }, 'cli');
    s.svc.saveComputer({ name: 'B', macs: ['52:54:00:00:00:02'], profile: 'winpe' }, 'cli');
    const renamed = s.svc.saveComputer({ name: 'A2', macs: ['52:54:00:00:00:01', '52:54:00:00:00:03'], profile: 'wipe', notes: 'moved' }, 'cli', 'A');
    assert.deepEqual([renamed.name, renamed.macs, renamed.notes], ['A2', ['52:54:00:00:00:01', '52:54:00:00:00:03'], 'moved']);
    assert.deepEqual(adminError(() => s.svc.saveComputer({ name: 'B', macs: ['52:54:00:00:00:09'], profile: 'winpe' }, 'cli', 'A2')).status, 409);
    const clash = adminError(() => s.svc.saveComputer({ name: 'C', macs: ['52:54:00:00:00:02'], profile: 'winpe' }, 'cli'));
    assert.deepEqual([clash.status, clash.code, clash.message], [409, 'ERR_CONFLICT', 'body: MAC 52:54:00:00:00:02 already belongs to computer "B"']);
    const bad = adminError(() => s.svc.saveComputer({ name: 'C', profile: 'winpe' }, 'cli'));
    assert.deepEqual([bad.status, bad.message], [400, 'body: needs at least one MAC or an SMBIOS GUID']);
    s.svc.deleteComputer('b', 'cli');
    assert.deepEqual(s.svc.listComputers().map((c) => c.name), ['A2']);
    assert.equal(adminError(() => s.svc.getComputer('B')).status, 404);
    assert.equal(adminError(() => s.svc.getComputer('52:54:00:00:00:02')).message, 'no computer "52:54:00:00:00:02" (looked up by MAC)');
  } finally {
    s.done();
  }
});

test('settings: set, revert with null, exact problems; the backend sees them at once', () => {
  const s = setup();
  try {
    const seen: boolean[] = [];
    s.backend.onSettingsChange((x) => seen.push(x.answering));
    const after = s.settings.updateSettings({ answering: false, responseDelaySeconds: 3 }, 'cli');
    assert.deepEqual(after.effective, { answering: false, responseDelaySeconds: 3, interfaces: ['eth0'] });
    assert.deepEqual(after.overrides, { answering: false, responseDelaySeconds: 3 });
    assert.equal(s.gate.decide(client(MAC)).reason, 'disabled');
    assert.deepEqual(seen, [false]);
    assert.equal(s.backend.settings().responseDelaySeconds, 3);
    s.settings.updateSettings({ answering: null }, 'cli');
    assert.equal(s.backend.settings().answering, true);
    const e = adminError(() => s.settings.updateSettings({ responseDelaySeconds: 61, colour: 'red' } as never, 'cli'));
    assert.deepEqual(e.problems, [
      'responseDelaySeconds must be a whole number from 0 to 60, found 61',
      'unknown setting "colour" (known: answering, responseDelaySeconds, interfaces)',
    ]);
  } finally {
    s.done();
  }
});

test('profiles: read from the configuration', () => {
  const s = setup();
  try {
    assert.deepEqual(s.status.profiles().map((p) => [p.name, p.kind, p.bootOnceMarker]), [['winpe', 'available', null], ['wipe', 'required', 'sources/boot.wim']]);
    assert.equal(adminError(() => s.status.profile('toString')).status, 404);
  } finally {
    s.done();
  }
});
