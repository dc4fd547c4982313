import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createLogger } from '../../daemon/log.js';
import { auditEvent } from '../../daemon/store/audit.js';
import { openStore, type Store } from '../../daemon/store/db.js';
import { Recorder } from '../../daemon/store/recorder.js';

const mac = (i: number) => `52:54:00:00:01:${i.toString(16).padStart(2, '0')}`;

function recorder(store: Store, over: { chunk?: number; queueMax?: number; batchSize?: number } = {}) {
  return new Recorder(store, {
    flushIntervalMs: 3_600_000, batchSize: over.batchSize ?? 1000, queueMax: over.queueMax ?? 5000, chunk: over.chunk,
    now: () => 1_700_000_000_000, logger: createLogger('silent'), isKnown: () => false,
  });
}

function decision(r: Recorder, i: number, pending: boolean): void {
  r.event(auditEvent({ at: 1_700_000_000_000 + i, type: 'decision', mac: mac(i), decision: pending ? 'pending' : 'boot', reason: 'unknown' }));
  if (pending) {
    r.sighting({ mac: mac(i), guid: null, arch: 'efi-x64', archCode: 7, vendorClass: 'PXEClient', ip: null, firstSeen: i, lastSeen: i, attempts: 1 }, true);
  }
}

const decisions = (s: Store) => (s.db.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE type = 'decision'").get() as { n: number }).n;

test('the timer writes one chunk per turn of the event loop, each chunk with its own events\' devices', async () => {
  const store = openStore(':memory:');
  const r = recorder(store, { chunk: 4 });
  try {
    for (let i = 0; i < 10; i++) decision(r, i, i % 4 === 1); // pending: 1, 5, 9
    // A sighting with no event queued (a rejected machine knocking again, its event a repeat).
    r.sighting({ mac: mac(99), guid: null, arch: null, archCode: null, vendorClass: null, ip: null, firstSeen: 0, lastSeen: 0, attempts: 1 }, true);
    r.writeSome();
    assert.equal(decisions(store), 4, 'one chunk now');
    assert.equal(r.queued, 6);
    assert.equal(store.devices.get(mac(1))?.status, 'pending', 'the device of a decision in the chunk commits with it');
    assert.equal(store.devices.get(mac(5)), undefined, 'later decisions\' devices wait for their events');
    assert.equal(store.devices.get(mac(99)), undefined);
    for (let turn = 0; turn < 10 && (r.queued > 0 || r.unflushedPending().length > 0); turn++) await nextTurn();
    assert.equal(decisions(store), 10, 'the rest followed in later turns');
    for (const i of [5, 9, 99]) assert.equal(store.devices.get(mac(i))?.status, 'pending', `device ${i}`);
  } finally {
    r.close();
    store.close();
  }
});

test('flush() writes everything queued at once, whatever the chunk size', () => {
  const store = openStore(':memory:');
  const r = recorder(store, { chunk: 4 });
  try {
    for (let i = 0; i < 10; i++) decision(r, i, i === 9);
    r.flush();
    assert.equal(decisions(store), 10);
    assert.equal(r.queued, 0);
    assert.equal(store.devices.get(mac(9))?.status, 'pending');
  } finally {
    r.close();
    store.close();
  }
});

test('a queue that never runs empty stays bounded and loses nothing that fitted', () => {
  const store = openStore(':memory:');
  const r = recorder(store, { chunk: 256, queueMax: 5000 });
  try {
    let sent = 0;
    // 40 rounds of 300 new events against 256 written per round: the queue grows by 44 a round and is
    // compacted as its written head passes 4,096.
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 300; k++) decision(r, sent++ % 250, false);
      r.writeSome();
      assert.ok(r.queued <= 5000);
    }
    assert.equal(decisions(store), 40 * 256);
    assert.equal(r.queued, sent - 40 * 256);
    r.flush();
    assert.equal(decisions(store), sent);
  } finally {
    r.close();
    store.close();
  }
});

test('a full queue drops and counts the excess, and the summary follows the last chunk', async () => {
  const store = openStore(':memory:');
  const r = recorder(store, { chunk: 4, queueMax: 6 });
  try {
    for (let i = 0; i < 9; i++) decision(r, i, false);
    assert.equal(r.queued, 6);
    r.writeSome();
    const suppressed = () => store.audit.query({ type: 'suppressed', limit: 5 });
    assert.equal(suppressed().length, 0, 'not while events are still queued');
    for (let turn = 0; turn < 5 && r.queued > 0; turn++) await nextTurn();
    await nextTurn();
    assert.equal(decisions(store), 6);
    assert.equal(suppressed()[0]?.detail, '3 decision events not recorded (queue full)');
  } finally {
    r.close();
    store.close();
  }
});
