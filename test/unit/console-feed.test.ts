/**
 * The console's live boot feed: the replay ring for reconnecting streams (the last N events, in order,
 * after a given id), the per-machine timelines and their bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BootFeed } from '../../daemon/features/console/live.js';
import type { BootTarget, ClientInfo } from '../../daemon/policy/types.js';

test('the replay ring keeps the last events in order and answers "after id"', () => {
  let t = 1000;
  const feed = new BootFeed(() => t++, { machines: 3, perMachine: 4, recent: 5 });
  assert.deepEqual(feed.since(0), []);
  for (let i = 1; i <= 3; i += 1) feed.publish({ kind: 'decision', mac: '52:54:00:00:00:01', decision: 'boot', reason: `r${i}` });
  assert.deepEqual(feed.since(0).map((e) => e.id), [1, 2, 3], 'not yet full');
  for (let i = 4; i <= 12; i += 1) feed.publish({ kind: 'decision', mac: `52:54:00:00:00:0${i % 4}`, decision: 'boot', reason: `r${i}` });
  assert.deepEqual(feed.since(0).map((e) => e.id), [8, 9, 10, 11, 12], 'the oldest went first');
  assert.deepEqual(feed.since(10).map((e) => e.id), [11, 12]);
  assert.deepEqual(feed.since(12), []);
  assert.equal(feed.lastId, 12);
  const one = new BootFeed(() => t++, { machines: 1, perMachine: 1, recent: 1 });
  one.publish({ kind: 'admin', detail: 'a' });
  one.publish({ kind: 'admin', detail: 'b' });
  assert.deepEqual(one.since(0).map((e) => e.detail), ['b']);
});

test('timelines: bounded per machine and in machines, most recent first, progress of one file replaced', () => {
  let t = 1000;
  const feed = new BootFeed(() => t++, { machines: 2, perMachine: 3, recent: 100 });
  const a = '52:54:00:00:00:0a';
  const b = '52:54:00:00:00:0b';
  feed.publish({ kind: 'decision', mac: a, decision: 'boot', reason: 'known', profile: 'p' });
  feed.publish({ kind: 'progress', mac: a, file: 'boot.wim', bytes: 10 });
  feed.publish({ kind: 'progress', mac: a, file: 'boot.wim', bytes: 20 });
  assert.deepEqual(feed.machinesView()[0]?.events.map((e) => e.bytes), [null, 20], 'the latest progress line only');
  for (const f of ['x', 'y', 'z']) feed.publish({ kind: 'transfer', mac: a, file: f });
  assert.deepEqual(feed.machinesView()[0]?.events.map((e) => e.file), ['x', 'y', 'z']);
  feed.publish({ kind: 'decision', mac: b, decision: 'pending', reason: 'unknown' });
  assert.deepEqual(feed.machinesView().map((m) => m.mac), [b, a]);
  feed.publish({ kind: 'decision', mac: '52:54:00:00:00:0c', decision: 'boot', reason: 'known' });
  assert.deepEqual(feed.machinesView().map((m) => m.mac), ['52:54:00:00:00:0c', b], 'the least recently active machine went');
  assert.equal(feed.machinesView()[1]?.lastDecision, 'pending');
});

test('a decision becomes one event with its reason, profile, computer, architecture and file; routine non-PXE traffic none', () => {
  let t = 5000;
  const feed = new BootFeed(() => t++, { machines: 10, perMachine: 10, recent: 10 });
  const client: ClientInfo = {
    mac: '52:54:00:00:00:0a', archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null,
    vendorClass: 'PXEClient', ip: '10.0.0.9', door: 'dhcp',
  };
  const target = { path: 'ipxe.efi', transport: 'tftp' } as BootTarget;
  const boot = feed.publishDecision(client, { kind: 'boot', profile: 'winpe', target, computer: 'pc-1', reason: 'known' });
  assert.deepEqual(boot, {
    id: 1, at: 5000, kind: 'decision', mac: client.mac, ip: '10.0.0.9', door: 'dhcp', decision: 'boot', reason: 'known',
    profile: 'winpe', computer: 'pc-1', arch: 'efi-x64', file: 'ipxe.efi', bytes: null, size: null, rate: null, detail: null,
  });
  const script = { path: 'boot.ipxe', transport: 'http' } as BootTarget;
  const local = feed.publishDecision({ ...client, arch: null, archCode: 99 }, { kind: 'local', computer: null, reason: 'known', script });
  assert.equal(local?.arch, '99', 'an architecture without a name is shown by its code');
  assert.equal(local?.file, 'boot.ipxe');
  assert.equal(local?.profile, null);
  assert.equal(feed.publishDecision(client, { kind: 'ignore', reason: 'not-pxe' }), null);
  assert.equal(feed.since(0).length, 2);
  assert.deepEqual(feed.machinesView()[0]?.events.map((e) => e.decision), ['boot', 'local']);
});
