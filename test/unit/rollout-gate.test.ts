/**
 * decide() with the rollout gate: a computer not admitted yet keeps its previous profile or boots its
 * local disk; a required deployment outside the computer's maintenance window boots the local disk;
 * boot-once comes first; and the rollout/window config checks beyond the JSON schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../daemon/config/load.js';
import { decide, snapshotFromConfig, type PolicySnapshot } from '../../daemon/policy/decide.js';
import { buildInventoryIndex, type InventoryEntry } from '../../daemon/policy/inventory.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { rolloutConfigProblems, groupWindows } from '../../daemon/features/rollout/config.js';
import { buildGate, OPEN_GATE, type GateData } from '../../daemon/policy/rollout.js';

const MAC_NEW = '52:54:00:07:00:01';
const MAC_WAIT = '52:54:00:07:00:02';
const MAC_WIPE = '52:54:00:07:00:03';

const config = validateConfig({
  policy: { unknown: { action: 'ignore' } },
  profiles: {
    win10: { bootFiles: { 'efi-x64': 'win10/bootmgfw.efi' } },
    win11: {
      kind: 'required', bootFiles: { 'efi-x64': 'win11/bootmgfw.efi' },
      rollout: { startDate: '2025-03-03', timeZone: 'Europe/Berlin', notAdmitted: 'previous', previousProfile: 'win10' },
    },
    win11local: { kind: 'required', bootFiles: { 'efi-x64': 'win11/bootmgfw.efi' }, rollout: { startDate: '2025-03-03', timeZone: 'Europe/Berlin' } },
    wipe: { kind: 'required', bootFiles: { 'efi-x64': 'wipe/wipe.efi' } },
    tools: { kind: 'available', bootFiles: { 'efi-x64': 'tools/ipxe.efi' } },
  },
}, 'test');

const pc = (name: string, mac: string, profile: string, over: Partial<InventoryEntry> = {}): InventoryEntry => ({
  name, macs: [mac], guid: null, profile, kind: null, bootOnceConsumed: false, ...over,
});

function client(mac: string, over: Partial<ClientInfo> = {}): ClientInfo {
  return { mac, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null, vendorClass: 'PXEClient:Arch:00007', ip: null, door: 'dhcp', ...over };
}

function snap(computers: InventoryEntry[], data: Partial<GateData> | null): PolicySnapshot {
  const base = { ...snapshotFromConfig(config), inventory: buildInventoryIndex(computers) };
  if (data === null) return base;
  return { ...base, rollout: buildGate({ rollouts: new Map(), windowOf: new Map(), open: new Map(), ...data }) };
}

const rollouts = new Map([
  ['win11', { admitted: new Set(['pc-new']), fallback: 'win10' }],
  ['win11local', { admitted: new Set<string>(), fallback: null }],
]);

test('admitted computers boot the profile; the others keep their previous profile', () => {
  const s = snap([pc('PC-NEW', MAC_NEW, 'win11'), pc('pc-wait', MAC_WAIT, 'win11')], { rollouts });
  assert.deepEqual(decide(client(MAC_NEW), s), { kind: 'boot', profile: 'win11', target: { transport: 'tftp', path: 'win11/bootmgfw.efi' }, computer: 'PC-NEW', reason: 'known' });
  assert.deepEqual(decide(client(MAC_WAIT), s), { kind: 'boot', profile: 'win10', target: { transport: 'tftp', path: 'win10/bootmgfw.efi' }, computer: 'pc-wait', reason: 'rollout-not-admitted' });
});

test('not admitted with notAdmitted: local boots the local disk (iPXE gets its exit script)', () => {
  const s = snap([pc('pc-wait', MAC_WAIT, 'win11local')], { rollouts });
  assert.deepEqual(decide(client(MAC_WAIT), s), { kind: 'local', computer: 'pc-wait', reason: 'rollout-not-admitted' });
  assert.deepEqual(decide(client(MAC_WAIT, { ipxe: true }), s), {
    kind: 'local', computer: 'pc-wait', reason: 'rollout-not-admitted', script: { transport: 'http', path: 'ipxe/52-54-00-07-00-02.ipxe' },
  });
});

test('a required deployment outside the window boots the local disk; inside it boots; available ones ignore windows', () => {
  const computers = [pc('pc-wipe', MAC_WIPE, 'wipe'), pc('pc-tools', MAC_NEW, 'tools')];
  const windowOf = new Map([['pc-wipe', 'nights'], ['pc-tools', 'nights']]);
  const closed = snap(computers, { windowOf, open: new Map([['nights', false]]) });
  const open = snap(computers, { windowOf, open: new Map([['nights', true]]) });
  assert.deepEqual(decide(client(MAC_WIPE), closed), { kind: 'local', computer: 'pc-wipe', reason: 'outside-window' });
  assert.equal(decide(client(MAC_WIPE), open).reason, 'known');
  assert.equal(decide(client(MAC_NEW), closed).reason, 'known', 'available: a person at the machine chose it');
  // A computer's own kind overrides the profile's.
  const forced = snap([pc('pc-tools', MAC_NEW, 'tools', { kind: 'required' })], { windowOf, open: new Map([['nights', false]]) });
  assert.equal(decide(client(MAC_NEW), forced).reason, 'outside-window');
  // A window the gate knows nothing about counts as closed (fail safe: no surprise re-imaging).
  assert.equal(decide(client(MAC_WIPE), snap(computers, { windowOf, open: new Map() })).reason, 'outside-window');
});

test('order: boot-once consumed before the rollout, the rollout before the window', () => {
  const consumed = snap([pc('pc-wait', MAC_WAIT, 'win11', { bootOnceConsumed: true })], { rollouts });
  assert.equal(decide(client(MAC_WAIT), consumed).reason, 'boot-once-consumed');
  const both = snap([pc('pc-wait', MAC_WAIT, 'win11')], { rollouts, windowOf: new Map([['pc-wait', 'nights']]), open: new Map([['nights', false]]) });
  assert.equal(decide(client(MAC_WAIT), both).reason, 'rollout-not-admitted');
  const admittedClosed = snap([pc('pc-new', MAC_NEW, 'win11')], { rollouts, windowOf: new Map([['pc-new', 'nights']]), open: new Map([['nights', false]]) });
  assert.equal(decide(client(MAC_NEW), admittedClosed).reason, 'outside-window');
});

test('without a gate, or with the open gate, decisions are unchanged', () => {
  const computers = [pc('pc-wait', MAC_WAIT, 'win11')];
  assert.equal(decide(client(MAC_WAIT), snap(computers, null)).reason, 'known');
  assert.equal(decide(client(MAC_WAIT), { ...snap(computers, null), rollout: OPEN_GATE }).reason, 'known');
});

test('config checks beyond the schema: dates, zones, fallback profiles, windows, one window per group', () => {
  const bad = validateConfig({
    profiles: {
      a: { rollout: { startDate: '2025-02-30', timeZone: 'Mars/Olympus', notAdmitted: 'previous' } },
      b: { rollout: { startDate: '2025-03-01', timeZone: 'UTC', notAdmitted: 'previous', previousProfile: 'b', dailyLimit: 5, dailyLimitPerGroup: 9 } },
      c: { rollout: { startDate: '2025-03-01', timeZone: 'UTC', notAdmitted: 'previous', previousProfile: 'nope' } },
    },
    maintenanceWindows: {
      nights: { schedule: 'Mon-Fri 20:00-06:00', timeZone: 'Europe/Berlin', groups: ['kiosks'] },
      weekend: { schedule: 'Sat-Sun 25:00-06:00', timeZone: 'UTC', groups: ['kiosks', 'labs'] },
    },
  }, 'test');
  assert.deepEqual(rolloutConfigProblems(bad), [
    'profiles.a.rollout.startDate: expected a calendar date YYYY-MM-DD, found "2025-02-30"',
    'profiles.a.rollout.timeZone: unknown time zone "Mars/Olympus" (use an IANA name such as Europe/Berlin or America/New_York)',
    'profiles.a.rollout.previousProfile: required when notAdmitted is "previous" (the profile a computer keeps until it is admitted)',
    'profiles.b.rollout.previousProfile: must be another profile than "b" itself',
    'profiles.b.rollout.dailyLimitPerGroup: 9 is more than dailyLimit 5, which caps it anyway',
    'profiles.c.rollout.previousProfile: expected the name of a profile (a, b, c), found "nope"',
    'maintenanceWindows.weekend: window "Sat-Sun 25:00-06:00": "25:00" is not a time HH:MM from 00:00 to 23:59',
    'maintenanceWindows.weekend.groups: group "kiosks" already keeps window "nights" (a group has one window)',
  ]);
  assert.deepEqual(rolloutConfigProblems(config), []);
  assert.deepEqual([...groupWindows(bad)], [['kiosks', 'nights'], ['labs', 'weekend']]);
});
