import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientDirectory } from '../../daemon/boot/clients.js';
import type { ClientInfo } from '../../daemon/policy/types.js';

const client = (mac: string, ip: string | null = null): ClientInfo => ({
  mac, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: 'PXEClient', ip, door: 'pxe',
});

test('the directory binds IPs to MACs and remembers the server and profile per MAC', () => {
  const d = new ClientDirectory();
  d.seen(client('52:54:00:00:00:01', '10.0.0.5'), '10.0.0.2');
  d.booting('52:54:00:00:00:01', 'winpe');
  assert.equal(d.macOfIp('10.0.0.5'), '52:54:00:00:00:01');
  assert.equal(d.serverFor('52:54:00:00:00:01'), '10.0.0.2');
  assert.equal(d.profileFor('52:54:00:00:00:01'), 'winpe');
  d.seen(client('52:54:00:00:00:01'), '10.0.0.3');
  assert.equal(d.profileFor('52:54:00:00:00:01'), 'winpe', 'a new sighting keeps the profile being booted');
  assert.equal(d.serverFor('52:54:00:00:00:01'), '10.0.0.3');
});

test('a flood of MACs evicts the oldest entries and stays bounded', () => {
  const d = new ClientDirectory(100);
  for (let i = 0; i < 1000; i++) d.seen(client(`52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, `10.1.${i >> 8}.${i & 255}`), '10.0.0.2');
  assert.equal(d.byMacAddress('52:54:00:00:00:00'), undefined);
  assert.ok(d.byMacAddress('52:54:00:00:03:e7'));
  assert.equal(d.macOfIp('10.1.0.0'), undefined);
  assert.equal(d.macOfIp('10.1.3.231'), '52:54:00:00:03:e7');
});

test('a retransmission that says the same keeps the stored copy and refreshes its place (at most once a second); a change replaces it', () => {
  let now = 0;
  const d = new ClientDirectory(3, () => now);
  const first = client('52:54:00:00:00:01', '10.0.0.5');
  d.seen(first, '10.0.0.2');
  const stored = d.byMacAddress('52:54:00:00:00:01');
  assert.deepEqual(stored, first);
  assert.notEqual(stored, first, 'the directory keeps its own copy, not the per-packet object');
  d.booting('52:54:00:00:00:01', 'winpe');
  d.seen(client('52:54:00:00:00:02'), '10.0.0.2');
  d.seen(client('52:54:00:00:00:03'), '10.0.0.2');
  // The same again within the second: the stored object stays and keeps its place (the oldest).
  now = 999;
  d.seen(client('52:54:00:00:00:01', '10.0.0.5'), '10.0.0.2');
  assert.equal(d.byMacAddress('52:54:00:00:00:01'), stored);
  // A second later it becomes the newest.
  now = 1000;
  d.seen(client('52:54:00:00:00:01', '10.0.0.5'), '10.0.0.2');
  assert.equal(d.byMacAddress('52:54:00:00:00:01'), stored);
  d.seen(client('52:54:00:00:00:04'), '10.0.0.2');
  assert.equal(d.byMacAddress('52:54:00:00:00:02'), undefined, 'the oldest other entry was evicted');
  assert.equal(d.byMacAddress('52:54:00:00:00:01'), stored);
  // Anything different is stored, the profile being booted kept.
  const moved = { ...client('52:54:00:00:00:01', '10.0.0.6'), ipxe: true };
  d.seen(moved, '10.0.0.2');
  assert.deepEqual(d.byMacAddress('52:54:00:00:00:01'), moved);
  assert.equal(d.profileFor('52:54:00:00:00:01'), 'winpe');
  assert.equal(d.macOfIp('10.0.0.6'), '52:54:00:00:00:01');
  d.seen(moved, '10.0.0.9');
  assert.equal(d.serverFor('52:54:00:00:00:01'), '10.0.0.9', 'another server address is a change too');
});

test('without a refresh, a retransmitting client is evicted in the order it was last placed', () => {
  let now = 0;
  const d = new ClientDirectory(2, () => now);
  d.seen(client('52:54:00:00:00:01'), '10.0.0.2');
  d.seen(client('52:54:00:00:00:02'), '10.0.0.2');
  now = 500;
  d.seen(client('52:54:00:00:00:01'), '10.0.0.2');
  d.seen(client('52:54:00:00:00:03'), '10.0.0.2');
  assert.equal(d.byMacAddress('52:54:00:00:00:01'), undefined);
  assert.ok(d.byMacAddress('52:54:00:00:00:02'));
});
