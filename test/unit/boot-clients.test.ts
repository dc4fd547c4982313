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
