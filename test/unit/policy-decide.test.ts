/**
 * Every path through decide(): one row per path, each naming the decision and the reason it must carry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateConfig } from '../../daemon/config/load.js';
import { decide, snapshotFromConfig, type PolicySnapshot } from '../../daemon/policy/decide.js';
import { buildInventoryIndex, type InventoryEntry } from '../../daemon/policy/inventory.js';
import { ARCH_KEYS, type ClientInfo, type Decision } from '../../daemon/policy/types.js';

const MAC_A = '52:54:00:77:00:01';
const MAC_A2 = '52:54:00:77:00:11';
const MAC_B = '52:54:00:77:00:02';
const MAC_STRANGER = '52:54:00:99:99:99';
// QEMU `-uuid 00112233-4455-6677-8899-aabbccddee01` arrives as the wire reading below (protocol-notes.md).
const GUID_BIG = '00112233-4455-6677-8899-aabbccddee01';
const GUID_WIRE = '33221100-5544-7766-8899-aabbccddee01';

function client(over: Partial<ClientInfo> = {}): ClientInfo {
  return {
    mac: MAC_STRANGER, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false,
    guid: null, guidSwapped: null, vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ip: null, door: 'dhcp',
    ...over,
  };
}

/** Option 97 of the QEMU client above, as classify() reports it. */
const withGuid = { guid: GUID_WIRE, guidSwapped: GUID_BIG };

const baseConfig = {
  policy: { unknown: { action: 'ignore', profile: 'winpe' } },
  profiles: {
    winpe: { bootFiles: { 'efi-x64': 'boot/x64/wdsmgfw.efi', bios: 'boot/x86/wdsnbp.com' }, httpBootFiles: { 'efi-x64': 'boot/x64/bootmgfw.efi' } },
    linux: { bootFiles: { 'efi-x64': 'linux/ipxe.efi' }, ipxeScript: 'kernel vmlinuz\nboot' },
    wipe: { kind: 'required', bootFiles: { 'efi-x64': 'wipe/wipe.efi', bios: 'wipe/undionly.kpxe' }, ipxeScript: 'chain wipe' },
  },
};

interface Setup {
  config?: Record<string, unknown>;
  computers?: InventoryEntry[];
  rejected?: string[];
  pending?: string[];
  pendingMax?: number;
  answering?: boolean;
}

function snapshot(s: Setup = {}): PolicySnapshot {
  const raw = structuredClone(baseConfig) as Record<string, unknown>;
  for (const [k, v] of Object.entries(s.config ?? {})) raw[k] = v;
  const snap = snapshotFromConfig(validateConfig(raw, 'test'));
  return {
    ...snap,
    answering: s.answering ?? true,
    inventory: buildInventoryIndex(s.computers ?? []),
    rejected: new Set(s.rejected ?? []),
    pending: new Set(s.pending ?? []),
    pendingMax: s.pendingMax ?? 100,
  };
}

function computer(over: Partial<InventoryEntry> & { name: string }): InventoryEntry {
  return { macs: [], guid: null, profile: 'winpe', kind: null, bootOnceConsumed: false, ...over };
}

const pc1 = computer({ name: 'PC-01', macs: [MAC_A, MAC_A2] });
const pcGuidBig = computer({ name: 'PC-GUID', guid: GUID_BIG, profile: 'linux' });
const pcGuidWire = computer({ name: 'PC-GUID-WIRE', guid: GUID_WIRE });
const wipeDone = computer({ name: 'PC-WIPED', macs: [MAC_A], profile: 'wipe', bootOnceConsumed: true });
const policy = (unknown: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ config: { policy: { unknown, ...extra } } });
const pendingPolicy = policy({ action: 'pending', profile: 'winpe' });

interface Row { name: string; setup?: Setup; client?: Partial<ClientInfo>; want: Decision }

const script = (mac: string) => ({ transport: 'http' as const, path: `ipxe/${mac.replace(/:/g, '-')}.ipxe` });

const rows: Row[] = [
  { name: 'answering switched off', setup: { answering: false, computers: [pc1] }, client: { mac: MAC_A }, want: { kind: 'ignore', reason: 'disabled' } },
  { name: 'DHCP from a non-PXE client', client: { vendorClass: 'MSFT 5.0' }, want: { kind: 'ignore', reason: 'not-pxe' } },
  { name: 'PXE door without option 60', client: { door: 'pxe', vendorClass: '' }, want: { kind: 'ignore', reason: 'not-pxe' } },
  {
    name: 'TFTP door does not look at option 60', setup: { computers: [pc1] }, client: { door: 'tftp', vendorClass: '', mac: MAC_A },
    want: { kind: 'boot', profile: 'winpe', computer: 'PC-01', reason: 'known', target: { transport: 'tftp', path: 'boot/x64/wdsmgfw.efi' } },
  },
  { name: 'deny list: exact MAC', setup: policy({ action: 'boot', profile: 'winpe' }, { deny: { macs: [MAC_STRANGER] } }), want: { kind: 'ignore', reason: 'denied-mac' } },
  { name: 'deny list: OUI prefix, dash form', setup: policy({ action: 'boot', profile: 'winpe' }, { deny: { macs: ['52-54-00'] } }), want: { kind: 'ignore', reason: 'denied-mac' } },
  { name: 'deny list: 4-octet prefix', setup: policy({ action: 'boot', profile: 'winpe' }, { deny: { macs: ['52:54:00:99'] } }), want: { kind: 'ignore', reason: 'denied-mac' } },
  { name: 'deny list: other prefix does not match', setup: policy({ action: 'boot', profile: 'winpe' }, { deny: { macs: ['52:54:01'] } }), want: { kind: 'boot', profile: 'winpe', computer: null, reason: 'unknown-boot', target: { transport: 'tftp', path: 'boot/x64/wdsmgfw.efi' } } },
  { name: 'deny list: GUID as written big-endian', setup: policy({ action: 'boot', profile: 'winpe' }, { deny: { guids: [GUID_BIG] } }), client: withGuid, want: { kind: 'ignore', reason: 'denied-guid' } },
  { name: 'deny list: GUID in wire order, no dashes, upper case', setup: policy({ action: 'boot', profile: 'winpe' }, { deny: { guids: [GUID_WIRE.replace(/-/g, '').toUpperCase()] } }), client: withGuid, want: { kind: 'ignore', reason: 'denied-guid' } },
  { name: 'deny wins over allow', setup: policy({ action: 'boot', profile: 'winpe' }, { allow: { macs: [MAC_STRANGER] }, deny: { macs: ['52:54:00'] } }), want: { kind: 'ignore', reason: 'denied-mac' } },
  { name: 'deny wins over the inventory', setup: { ...policy({ action: 'ignore', profile: 'winpe' }, { deny: { macs: [MAC_A] } }), computers: [pc1] }, client: { mac: MAC_A }, want: { kind: 'ignore', reason: 'denied-mac' } },
  { name: 'allow list set, client not on it', setup: policy({ action: 'boot', profile: 'winpe' }, { allow: { macs: ['00:15:5d'] } }), want: { kind: 'ignore', reason: 'not-allowed' } },
  { name: 'allow list also gates known computers', setup: { ...policy({ action: 'ignore', profile: 'winpe' }, { allow: { macs: ['00:15:5d'] } }), computers: [pc1] }, client: { mac: MAC_A }, want: { kind: 'ignore', reason: 'not-allowed' } },
  { name: 'allow list by OUI admits', setup: policy({ action: 'boot', profile: 'winpe' }, { allow: { macs: ['52:54:00'] } }), want: { kind: 'boot', profile: 'winpe', computer: null, reason: 'unknown-boot', target: { transport: 'tftp', path: 'boot/x64/wdsmgfw.efi' } } },
  { name: 'allow list by GUID admits', setup: policy({ action: 'ignore', profile: 'winpe' }, { allow: { guids: [GUID_BIG] } }), client: withGuid, want: { kind: 'ignore', reason: 'unknown-ignore' } },
  { name: 'known by first MAC', setup: { computers: [pc1] }, client: { mac: MAC_A }, want: { kind: 'boot', profile: 'winpe', computer: 'PC-01', reason: 'known', target: { transport: 'tftp', path: 'boot/x64/wdsmgfw.efi' } } },
  { name: 'known by second MAC, BIOS', setup: { computers: [pc1] }, client: { mac: MAC_A2, arch: 'bios', archCode: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' }, want: { kind: 'boot', profile: 'winpe', computer: 'PC-01', reason: 'known', target: { transport: 'tftp', path: 'boot/x86/wdsnbp.com' } } },
  { name: 'known by GUID imported big-endian, client sends SMBIOS order', setup: { computers: [pcGuidBig] }, client: withGuid, want: { kind: 'boot', profile: 'linux', computer: 'PC-GUID', reason: 'known', target: { transport: 'tftp', path: 'linux/ipxe.efi' } } },
  { name: 'known by GUID imported in wire order', setup: { computers: [pcGuidWire] }, client: withGuid, want: { kind: 'boot', profile: 'winpe', computer: 'PC-GUID-WIRE', reason: 'known', target: { transport: 'tftp', path: 'boot/x64/wdsmgfw.efi' } } },
  { name: 'MAC match wins over a GUID match', setup: { computers: [pcGuidBig, pc1] }, client: { mac: MAC_A, ...withGuid }, want: { kind: 'boot', profile: 'winpe', computer: 'PC-01', reason: 'known', target: { transport: 'tftp', path: 'boot/x64/wdsmgfw.efi' } } },
  { name: 'known UEFI HTTP boot client', setup: { computers: [pc1] }, client: { mac: MAC_A, httpBoot: true, archCode: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' }, want: { kind: 'boot', profile: 'winpe', computer: 'PC-01', reason: 'known', target: { transport: 'http', path: 'boot/x64/bootmgfw.efi' } } },
  { name: 'known iPXE client gets its script', setup: { computers: [pcGuidBig] }, client: { ipxe: true, ...withGuid }, want: { kind: 'boot', profile: 'linux', computer: 'PC-GUID', reason: 'known', target: script(MAC_STRANGER) } },
  { name: 'known, profile missing from config', setup: { computers: [computer({ name: 'PC-X', macs: [MAC_A], profile: 'gone' })] }, client: { mac: MAC_A }, want: { kind: 'ignore', reason: 'unknown-profile' } },
  { name: 'known, no boot file for the arch', setup: { computers: [computer({ name: 'PC-ARM', macs: [MAC_A] })] }, client: { mac: MAC_A, arch: 'efi-arm64', archCode: 11 }, want: { kind: 'ignore', reason: 'no-boot-file' } },
  { name: 'known, architecture unknown', setup: { computers: [pc1] }, client: { mac: MAC_A, arch: null, archCode: 99 }, want: { kind: 'ignore', reason: 'unknown-arch' } },
  { name: 'required (profile default) not yet consumed', setup: { computers: [computer({ name: 'PC-W', macs: [MAC_A], profile: 'wipe' })] }, client: { mac: MAC_A }, want: { kind: 'boot', profile: 'wipe', computer: 'PC-W', reason: 'known', target: { transport: 'tftp', path: 'wipe/wipe.efi' } } },
  { name: 'required consumed, native PXE: local disk', setup: { computers: [wipeDone] }, client: { mac: MAC_A }, want: { kind: 'local', computer: 'PC-WIPED', reason: 'boot-once-consumed' } },
  { name: 'required consumed, iPXE: local disk via exit script', setup: { computers: [wipeDone] }, client: { mac: MAC_A, ipxe: true }, want: { kind: 'local', computer: 'PC-WIPED', reason: 'boot-once-consumed', script: script(MAC_A) } },
  { name: 'required consumed, asked at the script door', setup: { computers: [wipeDone] }, client: { mac: MAC_A, door: 'ipxe-script', vendorClass: '' }, want: { kind: 'local', computer: 'PC-WIPED', reason: 'boot-once-consumed', script: script(MAC_A) } },
  { name: 'computer kind required over an available profile', setup: { computers: [computer({ name: 'PC-R', macs: [MAC_A], kind: 'required', bootOnceConsumed: true })] }, client: { mac: MAC_A }, want: { kind: 'local', computer: 'PC-R', reason: 'boot-once-consumed' } },
  { name: 'computer kind available over a required profile', setup: { computers: [computer({ name: 'PC-AV', macs: [MAC_A], profile: 'wipe', kind: 'available', bootOnceConsumed: true })] }, client: { mac: MAC_A }, want: { kind: 'boot', profile: 'wipe', computer: 'PC-AV', reason: 'known', target: { transport: 'tftp', path: 'wipe/wipe.efi' } } },
  { name: 'rejected device', setup: { ...pendingPolicy, rejected: [MAC_STRANGER] }, want: { kind: 'ignore', reason: 'rejected' } },
  { name: 'rejected MAC that is now a known computer boots', setup: { rejected: [MAC_A], computers: [pc1] }, client: { mac: MAC_A }, want: { kind: 'boot', profile: 'winpe', computer: 'PC-01', reason: 'known', target: { transport: 'tftp', path: 'boot/x64/wdsmgfw.efi' } } },
  { name: 'unknown: ignore', want: { kind: 'ignore', reason: 'unknown-ignore' } },
  { name: 'unknown: boot a profile', setup: policy({ action: 'boot', profile: 'winpe' }), want: { kind: 'boot', profile: 'winpe', computer: null, reason: 'unknown-boot', target: { transport: 'tftp', path: 'boot/x64/wdsmgfw.efi' } } },
  { name: 'unknown: boot a profile that does not exist', setup: policy({ action: 'boot', profile: 'nope' }), want: { kind: 'ignore', reason: 'unknown-profile' } },
  { name: 'unknown: pending, first sight, native PXE', setup: pendingPolicy, want: { kind: 'pending', reason: 'unknown-pending' } },
  { name: 'unknown: pending, first sight, iPXE gets the waiting script', setup: pendingPolicy, client: { ipxe: true }, want: { kind: 'pending', reason: 'unknown-pending', script: script(MAC_STRANGER) } },
  { name: 'unknown: pending, already recorded', setup: { ...pendingPolicy, pending: [MAC_STRANGER] }, want: { kind: 'pending', reason: 'pending' } },
  { name: 'unknown: pending queue full', setup: { ...pendingPolicy, pending: [MAC_A, MAC_B], pendingMax: 2 }, want: { kind: 'ignore', reason: 'pending-full' } },
  { name: 'unknown: pending queue full, device already in it', setup: { ...pendingPolicy, pending: [MAC_STRANGER, MAC_B], pendingMax: 2 }, want: { kind: 'pending', reason: 'pending' } },
  { name: 'script transport tftp is honoured', setup: { config: { ...pendingPolicy.config, ipxe: { scriptTransport: 'tftp' } } }, client: { ipxe: true }, want: { kind: 'pending', reason: 'unknown-pending', script: { transport: 'tftp', path: 'ipxe/52-54-00-99-99-99.ipxe' } } },
];

for (const row of rows) {
  test(`decide: ${row.name}`, () => {
    const snap = snapshot(row.setup);
    assert.deepEqual(decide(client(row.client), snap), row.want);
  });
}

test('decide: the table covers every reason decide() can give', () => {
  const produced = [
    'disabled', 'not-pxe', 'denied-mac', 'denied-guid', 'not-allowed', 'known', 'unknown-profile', 'no-boot-file', 'unknown-arch',
    'boot-once-consumed', 'rejected', 'unknown-ignore', 'unknown-boot', 'unknown-pending', 'pending', 'pending-full',
  ];
  assert.deepEqual([...new Set(rows.map((r) => r.want.reason))].sort(), produced.sort());
});

test('decide: never throws and never mutates the snapshot, for any client', () => {
  const snap = snapshot({ ...pendingPolicy, computers: [pc1, pcGuidBig, wipeDone], rejected: [MAC_B], pending: [MAC_A2], pendingMax: 3 });
  const before = JSON.stringify({ ...snap, inventory: [...snap.inventory.byMac.keys()], pending: [...snap.pending], rejected: [...snap.rejected] });
  const hex = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0'));
  const mac = fc.array(hex, { minLength: 6, maxLength: 6 }).map((a) => a.join(':'));
  const arb = fc.record({
    mac: fc.oneof(mac, fc.constantFrom(MAC_A, MAC_A2, MAC_B)),
    arch: fc.option(fc.constantFrom(...ARCH_KEYS), { nil: null }),
    ipxe: fc.boolean(),
    httpBoot: fc.boolean(),
    door: fc.constantFrom('dhcp', 'pxe', 'tftp', 'http', 'ipxe-script', 'api') as fc.Arbitrary<ClientInfo['door']>,
    vendorClass: fc.oneof(fc.string(), fc.constant('PXEClient:Arch:00000')),
    guid: fc.option(fc.constantFrom(GUID_BIG, GUID_WIRE), { nil: null }),
  });
  fc.assert(fc.property(arb, (c) => {
    const d = decide(client({ ...c, guidSwapped: c.guid }), snap);
    assert.ok(['ignore', 'boot', 'local', 'pending', 'password'].includes(d.kind));
  }), { numRuns: 500 });
  const after = JSON.stringify({ ...snap, inventory: [...snap.inventory.byMac.keys()], pending: [...snap.pending], rejected: [...snap.rejected] });
  assert.equal(after, before);
});
