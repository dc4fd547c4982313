import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { Gatekeeper } from '../../daemon/boot/gatekeeper.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { auditEvent } from '../../daemon/store/audit.js';
import { createStoreBackend, type StoreBackendDeps } from '../../daemon/store/backend.js';
import { openStore, type Store } from '../../daemon/store/db.js';
import { STORE_BACKENDS } from './helpers/store-backends.js';

const logger = createLogger('silent');

function config(over: Record<string, unknown> = {}) {
  return validateConfig({
    policy: { unknown: { action: 'pending', profile: 'winpe' } },
    store: { pendingMax: 3, auditRetentionDays: 7 },
    profiles: {
      winpe: { bootFiles: { 'efi-x64': 'boot/x64/wdsmgfw.efi' } },
      wipe: { kind: 'required', bootOnceMarker: 'sources/boot.wim', bootFiles: { 'efi-x64': 'wipe/wipe.efi' } },
    },
    ...over,
  }, 'test');
}

function client(mac: string, over: Partial<ClientInfo> = {}): ClientInfo {
  return {
    mac, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null,
    vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ip: null, door: 'dhcp', ...over,
  };
}

function setup(deps: Partial<StoreBackendDeps> = {}, cfgOver: Record<string, unknown> = {}, store: Store = openStore(':memory:')) {
  let t = 1_700_000_000_000;
  const metrics = createMetrics(new Registry());
  const backend = createStoreBackend(config(cfgOver), store, { logger, metrics, now: () => t, ...deps });
  const gate = new Gatekeeper(backend, logger, metrics);
  return {
    store, backend, gate, metrics,
    advance: (ms: number) => { t += ms; },
    done: () => { backend.close(); store.close(); },
  };
}

function addComputer(store: Store, name: string, mac: string, profile = 'winpe', guid: string | null = null): number {
  const id = store.tx(() => store.computers.insert({ name, macs: mac ? [mac] : [], guid, profile, kind: null, notes: '', sourceComputer: null }, 1));
  store.notify('inventory');
  return id;
}

test('backend: the snapshot is cached until the inventory changes', () => {
  const s = setup();
  try {
    const a = s.backend.snapshot();
    assert.equal(s.backend.snapshot(), a, 'same object while nothing changed');
    addComputer(s.store, 'PC-01', '52:54:00:77:00:01');
    const b = s.backend.snapshot();
    assert.notEqual(b, a);
    assert.equal(b.inventory.byMac.get('52:54:00:77:00:01')?.name, 'PC-01');
    assert.equal(s.gate.decide(client('52:54:00:77:00:01')).reason, 'known');
  } finally {
    s.done();
  }
});

test('backend: pending devices are recorded with attempts, and bounded by store.pendingMax', async () => {
  const s = setup();
  try {
    const macs = Array.from({ length: 10 }, (_, i) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`);
    const first = macs.map((m) => s.gate.decide(client(m)).reason);
    assert.deepEqual(first, ['unknown-pending', 'unknown-pending', 'unknown-pending', ...Array(7).fill('pending-full')]);
    assert.equal(s.gate.decide(client(macs[0]!)).reason, 'pending', 'a recorded device is still pending, not full');
    s.backend.flush();
    const rows = s.store.devices.list('pending');
    assert.deepEqual(rows.map((d) => [d.mac, d.attempts]), [[macs[0], 2], [macs[1], 1], [macs[2], 1]]);
    assert.match(await s.metrics.registry.getSingleMetricAsString('bootgate_pending_devices'), /bootgate_pending_devices 3/);
    s.advance(90_000);
    assert.match(await s.metrics.registry.getSingleMetricAsString('bootgate_pending_oldest_age_seconds'), /bootgate_pending_oldest_age_seconds 90\n?$/);
    // The bound survives a rebuild (reopen is the same path: the set is read back from the table).
    s.store.notify('devices');
    assert.equal(s.backend.snapshot().pending.size, 3);
    assert.equal(s.gate.decide(client(macs[9]!)).reason, 'pending-full');
  } finally {
    s.done();
  }
});

test('backend: each decision becomes an audit event with its reason; routine non-PXE DHCP does not', () => {
  const s = setup();
  try {
    addComputer(s.store, 'PC-01', '52:54:00:77:00:01');
    s.gate.decide(client('52:54:00:77:00:01', { ip: '10.77.0.50' }), { file: 'boot/x64/wdsmgfw.efi' });
    s.gate.decide(client('52:54:00:77:00:02', { vendorClass: 'MSFT 5.0' }));
    s.backend.flush();
    const events = s.store.audit.query({ type: 'decision', limit: 10 });
    assert.equal(events.length, 1);
    assert.deepEqual(
      [events[0]?.mac, events[0]?.decision, events[0]?.reason, events[0]?.computer, events[0]?.profile, events[0]?.ip, events[0]?.arch, events[0]?.detail],
      ['52:54:00:77:00:01', 'boot', 'known', 'PC-01', 'winpe', '10.77.0.50', 'efi-x64', 'boot/x64/wdsmgfw.efi'],
    );
  } finally {
    s.done();
  }
});

test('backend: a full write queue drops events, counts them, and leaves one summary event', async () => {
  const s = setup({ queueMax: 8 }, { policy: { unknown: { action: 'ignore', profile: 'winpe' } } });
  try {
    for (let i = 0; i < 20; i++) s.backend.record(client(`52:54:00:77:01:${i.toString(16).padStart(2, '0')}`), { kind: 'ignore', reason: 'unknown-ignore' }, {});
    s.backend.flush();
    assert.equal(s.store.audit.query({ type: 'decision', limit: 100 }).length, 8);
    const summary = s.store.audit.query({ type: 'suppressed', limit: 10 });
    assert.equal(summary[0]?.detail, '12 decision events not recorded (queue full)');
    assert.match(await s.metrics.registry.getSingleMetricAsString('bootgate_audit_dropped_total'), /bootgate_audit_dropped_total 12/);
  } finally {
    s.done();
  }
});

test('backend: retransmissions of the same decision within 5 s are one audit event; a new outcome or a later retry is another', () => {
  let t = Date.parse('2026-11-21T10:00:00Z');
  const s = setup({ now: () => t }, { policy: { unknown: { action: 'ignore', profile: 'winpe' } } });
  try {
    const c = client('52:54:00:77:00:06');
    for (let i = 0; i < 4; i++) s.backend.record(c, { kind: 'ignore', reason: 'unknown-ignore' }, {});
    s.backend.record(c, { kind: 'ignore', reason: 'denied-mac' }, {});
    t += 5000;
    s.backend.record(c, { kind: 'ignore', reason: 'unknown-ignore' }, {});
    s.backend.flush();
    const reasons = s.store.audit.query({ type: 'decision', limit: 100 }).map((e) => e.reason).sort();
    assert.deepEqual(reasons, ['denied-mac', 'unknown-ignore', 'unknown-ignore']);
  } finally {
    s.done();
  }
});

test('backend: a DISCOVER retransmitted after a boot fetched several files is still the same audit event', () => {
  let t = Date.parse('2026-11-21T10:00:00Z');
  const s = setup({ now: () => t }, { policy: { unknown: { action: 'ignore', profile: 'winpe' } } });
  try {
    const c = client('52:54:00:77:00:07');
    const ignore = { kind: 'ignore', reason: 'unknown-ignore' } as const;
    s.backend.record(c, ignore, {});
    const files = ['bootmgfw.efi', 'Boot/BCD', 'Boot/boot.sdi', 'sources/boot.wim', 'Fonts/wgl4_boot.ttf', 'Boot/en-US/bootmgr.efi.mui'];
    for (const file of files) {
      t += 100;
      s.backend.record(c, ignore, { file });
    }
    t += 100;
    s.backend.record(c, ignore, {});
    for (const file of files) s.backend.record(c, ignore, { file });
    s.backend.flush();
    const details = s.store.audit.query({ type: 'decision', limit: 100 }).map((e) => e.detail ?? '-').sort();
    assert.deepEqual(details, ['-', ...files].sort());
  } finally {
    s.done();
  }
});

test('backend: a rejected device is ignored and its attempts still counted', () => {
  const s = setup();
  try {
    s.gate.decide(client('02:00:00:00:00:aa'));
    s.backend.flush();
    s.store.devices.setStatus('02:00:00:00:00:aa', 'rejected', 5, 'test');
    s.store.notify('devices');
    assert.equal(s.gate.decide(client('02:00:00:00:00:aa')).reason, 'rejected');
    s.backend.flush();
    const d = s.store.devices.get('02:00:00:00:00:aa');
    assert.deepEqual([d?.status, d?.attempts], ['rejected', 2]);
    assert.equal(s.backend.snapshot().pending.size, 0);
  } finally {
    s.done();
  }
});

test('backend: a device approved before its sightings were written is not re-added as pending', () => {
  const s = setup();
  try {
    s.gate.decide(client('02:00:00:00:00:bb'));
    addComputer(s.store, 'PC-BB', '02:00:00:00:00:bb');
    s.backend.flush();
    assert.equal(s.store.devices.get('02:00:00:00:00:bb'), undefined);
    assert.equal(s.backend.snapshot().pending.has('02:00:00:00:00:bb'), false);
  } finally {
    s.done();
  }
});

test('backend: boot once — the completion marker consumes a required deployment, then local disk', () => {
  const s = setup();
  try {
    addComputer(s.store, 'PC-W', '52:54:00:77:00:01', 'wipe');
    addComputer(s.store, 'PC-A', '52:54:00:77:00:02', 'winpe');
    assert.equal(s.gate.decide(client('52:54:00:77:00:01')).kind, 'boot');
    assert.equal(s.backend.markServed('52:54:00:77:00:01', 'wipe', 'wipe/wipe.efi'), false, 'not the marker');
    assert.equal(s.backend.markServed('52:54:00:77:00:01', 'winpe', '\\Sources\\boot.wim'), false, 'not the computer\'s profile');
    assert.equal(s.backend.markServed('52:54:00:77:00:02', 'winpe', 'sources/boot.wim'), false, 'available profile has no marker');
    assert.equal(s.backend.markServed('52:54:00:77:00:01', 'wipe', '\\Sources\\BOOT.WIM'), true);
    assert.equal(s.backend.markServed('52:54:00:77:00:01', 'wipe', 'sources/boot.wim'), false, 'already consumed');
    assert.deepEqual(s.gate.decide(client('52:54:00:77:00:01')), { kind: 'local', computer: 'PC-W', reason: 'boot-once-consumed' });
    const c = s.store.computers.byName('PC-W');
    assert.equal(c?.bootOnceConsumedBy, 'marker:\\Sources\\BOOT.WIM');
    const ev = s.store.audit.query({ type: 'boot-once', limit: 5 });
    assert.deepEqual([ev[0]?.computer, ev[0]?.mac, ev[0]?.actor], ['PC-W', '52:54:00:77:00:01', 'marker']);
  } finally {
    s.done();
  }
});

test('backend: boot once for a machine known only by its GUID (MAC learnt from its decision)', () => {
  const s = setup();
  try {
    addComputer(s.store, 'PC-G', '', 'wipe', '00112233-4455-6677-8899-aabbccddee01');
    const c = client('52:54:00:77:00:09', { guid: '33221100-5544-7766-8899-aabbccddee01', guidSwapped: '00112233-4455-6677-8899-aabbccddee01' });
    assert.equal(s.gate.decide(c).reason, 'known');
    assert.equal(s.backend.markServed('52:54:00:77:00:09', 'wipe', 'sources/boot.wim'), true);
    assert.equal(s.gate.decide(c).reason, 'boot-once-consumed');
  } finally {
    s.done();
  }
});

test('backend: run-time settings override the config, persist, and notify listeners', () => {
  const t = mkdtempSync(join(tmpdir(), 'bg-backend-'));
  try {
    const path = join(t, 'b.db');
    const s = setup({}, { server: { interfaces: ['eth0'] } }, openStore(path));
    const seen: unknown[] = [];
    s.backend.onSettingsChange((x) => seen.push(x));
    assert.deepEqual(s.backend.settings(), { answering: true, responseDelaySeconds: 0, interfaces: ['eth0'] });
    s.store.settings.set('answering', false, 1);
    s.store.notify('settings');
    assert.equal(s.backend.settings().answering, false);
    assert.equal(s.gate.decide(client('52:54:00:77:00:01')).reason, 'disabled');
    assert.equal(seen.length, 1);
    // Another process (the CLI on the file) changes a setting: seen through PRAGMA data_version.
    const other = openStore(path);
    other.settings.set('responseDelaySeconds', 4, 2);
    other.close();
    assert.equal(s.backend.checkExternalChanges(), true);
    assert.equal(s.backend.settings().responseDelaySeconds, 4);
    assert.equal(seen.length, 2);
    assert.equal(s.backend.checkExternalChanges(), false);
    s.done();
    // Persisted across a restart.
    const again = setup({}, { server: { interfaces: ['eth0'] } }, openStore(path));
    assert.deepEqual(again.backend.settings(), { answering: false, responseDelaySeconds: 4, interfaces: ['eth0'] });
    again.done();
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
});

test('backend: an inventory change by another process is picked up', () => {
  const t = mkdtempSync(join(tmpdir(), 'bg-backend-'));
  try {
    const path = join(t, 'b.db');
    const s = setup({}, {}, openStore(path));
    assert.equal(s.gate.decide(client('52:54:00:77:00:01')).reason, 'unknown-pending');
    const other = openStore(path);
    addComputer(other, 'PC-01', '52:54:00:77:00:01');
    other.close();
    s.backend.checkExternalChanges();
    assert.equal(s.gate.decide(client('52:54:00:77:00:01')).reason, 'known');
    s.done();
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
});

test('backend: audit retention by age and by row cap', async () => {
  const s = setup({ auditMaxRows: 100 });
  try {
    const day = 86_400_000;
    const now = 1_700_000_000_000;
    s.store.tx(() => {
      for (let i = 0; i < 3000; i++) s.store.audit.insert(auditEvent({ at: now - 8 * day, type: 'decision' }));
      for (let i = 0; i < 150; i++) s.store.audit.insert(auditEvent({ at: now - day, type: 'decision', mac: `m${i}` }));
    });
    const removed = await s.backend.prune();
    assert.equal(removed, 3050);
    assert.equal(s.store.audit.count(), 100);
    assert.equal(s.store.audit.query({ limit: 200 }).at(-1)?.mac, 'm50', 'the newest 100 are kept');
  } finally {
    s.done();
  }
});

// The same behaviours on both backends. On the shared store the snapshot reloads off the answer path
// and writes go through the journal, so each step that changes something is followed by settle():
// everything queued written and the snapshot reloaded (on SQLite: the batched writer flushed).
for (const b of STORE_BACKENDS) {
  function shared(cfgOver: Record<string, unknown> = {}, deps: Partial<StoreBackendDeps> = {}) {
    const s = setup({ link: { pingMs: 500, backoff: { minMs: 100, maxMs: 1000 } }, ...deps }, cfgOver, b.open());
    return {
      ...s,
      settle: async () => { s.backend.flush(); await s.backend.drain(); },
    };
  }

  test(`${b.name}: backend: an inventory change reaches the snapshot; each decision is an audit event with its reason`, async () => {
    const s = shared();
    try {
      addComputer(s.store, 'PC-01', '52:54:00:77:00:01');
      await s.settle();
      assert.equal(s.backend.snapshot().inventory.byMac.get('52:54:00:77:00:01')?.name, 'PC-01');
      s.gate.decide(client('52:54:00:77:00:01', { ip: '10.77.0.50' }), { file: 'boot/x64/wdsmgfw.efi' });
      s.gate.decide(client('52:54:00:77:00:02', { vendorClass: 'MSFT 5.0' }));
      await s.settle();
      const events = s.store.audit.query({ type: 'decision', limit: 10 });
      assert.deepEqual(
        events.map((e) => [e.mac, e.decision, e.reason, e.computer, e.profile, e.ip, e.arch, e.detail, e.server]),
        [['52:54:00:77:00:01', 'boot', 'known', 'PC-01', 'winpe', '10.77.0.50', 'efi-x64', 'boot/x64/wdsmgfw.efi', s.store.serverName]],
      );
    } finally {
      s.done();
    }
  });

  test(`${b.name}: backend: pending devices recorded with attempts and bounded; a rejected one ignored, its attempts counted`, async () => {
    const s = shared();
    try {
      const macs = Array.from({ length: 10 }, (_, i) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`);
      const first = macs.map((m) => s.gate.decide(client(m)).reason);
      assert.deepEqual(first, ['unknown-pending', 'unknown-pending', 'unknown-pending', ...Array(7).fill('pending-full')]);
      assert.equal(s.gate.decide(client(macs[0]!)).reason, 'pending');
      await s.settle();
      assert.deepEqual(s.store.devices.list('pending').map((d) => [d.mac, d.attempts, d.seenBy]),
        [[macs[0], 2, s.store.serverName], [macs[1], 1, s.store.serverName], [macs[2], 1, s.store.serverName]]);
      s.store.devices.setStatus(macs[0]!, 'rejected', 5, 'test');
      s.store.notify('devices');
      await s.settle();
      assert.equal(s.gate.decide(client(macs[0]!)).reason, 'rejected');
      await s.settle();
      assert.deepEqual([s.store.devices.get(macs[0]!)?.status, s.store.devices.get(macs[0]!)?.attempts], ['rejected', 3]);
      assert.equal(s.backend.snapshot().pending.size, 2);
    } finally {
      s.done();
    }
  });

  test(`${b.name}: backend: retransmissions within 5 s are one audit event; a device approved before its sightings were written is not re-added`, async () => {
    let t = Date.parse('2026-11-21T10:00:00Z');
    const s = shared({}, { now: () => t });
    try {
      const c = client('52:54:00:77:00:06');
      for (let i = 0; i < 4; i++) s.backend.record(c, { kind: 'ignore', reason: 'unknown-ignore' }, {});
      s.backend.record(c, { kind: 'ignore', reason: 'denied-mac' }, {});
      t += 5000;
      s.backend.record(c, { kind: 'ignore', reason: 'unknown-ignore' }, {});
      s.gate.decide(client('02:00:00:00:00:bb'));
      addComputer(s.store, 'PC-BB', '02:00:00:00:00:bb');
      await s.settle();
      assert.deepEqual(s.store.audit.query({ type: 'decision', mac: c.mac, limit: 100 }).map((e) => e.reason).sort(), ['denied-mac', 'unknown-ignore', 'unknown-ignore']);
      assert.equal(s.store.devices.get('02:00:00:00:00:bb'), undefined);
      assert.equal(s.backend.snapshot().pending.has('02:00:00:00:00:bb'), false);
    } finally {
      s.done();
    }
  });

  test(`${b.name}: backend: boot once — the completion marker consumes a required deployment (also for a machine known by GUID), then local disk`, async () => {
    const s = shared();
    try {
      addComputer(s.store, 'PC-W', '52:54:00:77:00:01', 'wipe');
      addComputer(s.store, 'PC-A', '52:54:00:77:00:02', 'winpe');
      addComputer(s.store, 'PC-G', '', 'wipe', '00112233-4455-6677-8899-aabbccddee01');
      await s.settle();
      assert.equal(s.gate.decide(client('52:54:00:77:00:01')).kind, 'boot');
      assert.equal(s.backend.markServed('52:54:00:77:00:01', 'wipe', 'wipe/wipe.efi'), false, 'not the marker');
      assert.equal(s.backend.markServed('52:54:00:77:00:02', 'winpe', 'sources/boot.wim'), false, 'available profile has no marker');
      assert.equal(s.backend.markServed('52:54:00:77:00:01', 'wipe', '\\Sources\\BOOT.WIM'), true);
      const g = client('52:54:00:77:00:09', { guid: '33221100-5544-7766-8899-aabbccddee01', guidSwapped: '00112233-4455-6677-8899-aabbccddee01' });
      assert.equal(s.gate.decide(g).reason, 'known');
      assert.equal(s.backend.markServed('52:54:00:77:00:09', 'wipe', 'sources/boot.wim'), true);
      // At once, before the write reaches the store: a machine back at F12 is not offered it again.
      assert.equal(s.gate.decide(g).reason, 'boot-once-consumed');
      assert.equal(s.gate.decide(client('52:54:00:77:00:01')).reason, 'boot-once-consumed');
      await s.settle();
      assert.equal(s.backend.markServed('52:54:00:77:00:01', 'wipe', 'sources/boot.wim'), false, 'already consumed');
      assert.deepEqual(s.gate.decide(client('52:54:00:77:00:01')), { kind: 'local', computer: 'PC-W', reason: 'boot-once-consumed' });
      assert.equal(s.gate.decide(g).reason, 'boot-once-consumed');
      assert.equal(s.store.computers.byName('PC-W')?.bootOnceConsumedBy, 'marker:\\Sources\\BOOT.WIM');
      const ev = s.store.audit.query({ type: 'boot-once', limit: 5 }).filter((e) => e.computer === 'PC-W');
      assert.deepEqual(ev.map((e) => [e.computer, e.mac, e.actor]), [['PC-W', '52:54:00:77:00:01', 'marker']]);
    } finally {
      s.done();
    }
  });

  test(`${b.name}: backend: run-time settings from the store override the config and notify listeners`, async () => {
    const s = shared({ server: { interfaces: ['eth0'] } });
    try {
      const seen: unknown[] = [];
      s.backend.onSettingsChange((x) => seen.push(x));
      s.store.settings.set('answering', false, 1);
      s.store.notify('settings');
      await s.settle();
      assert.equal(s.backend.settings().answering, false);
      assert.equal(s.gate.decide(client('52:54:00:77:00:01')).reason, 'disabled');
      assert.equal(seen.length, 1);
    } finally {
      s.done();
    }
  });

  test(`${b.name}: backend: audit retention by age and by row cap`, async () => {
    const s = shared({}, { auditMaxRows: 100 });
    try {
      const day = 86_400_000;
      const now = 1_700_000_000_000;
      await s.backend.prune();
      s.store.tx(() => {
        for (let i = 0; i < 3000; i++) s.store.audit.insert(auditEvent({ at: now - 8 * day, type: 'decision' }));
        for (let i = 0; i < 150; i++) s.store.audit.insert(auditEvent({ at: now - day, type: 'decision', mac: `m${i}` }));
      });
      assert.equal(await s.backend.prune(), 3050);
      assert.equal(s.store.audit.count(), 100);
      assert.equal(s.store.audit.query({ limit: 200 }).at(-1)?.mac, 'm50', 'the newest 100 are kept');
    } finally {
      s.done();
    }
  });
}
