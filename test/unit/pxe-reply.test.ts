/**
 * Classification and replies for the packets real firmware sent (test/fixtures/firmware), and the
 * reply rules as a table: what each client kind gets and where the answer goes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DhcpMessageType, DhcpOption, PxeVendorOption } from '../../daemon/protocol/dhcp/constants.js';
import { decodeDhcp, type DhcpPacket } from '../../daemon/protocol/dhcp/packet.js';
import { messageType } from '../../daemon/protocol/dhcp/accessors.js';
import { decodeVendorOptions } from '../../daemon/protocol/dhcp/vendor-options.js';
import { readUdpDatagrams } from '../../daemon/protocol/pcap.js';
import { classify } from '../../daemon/policy/classify.js';
import { buildReply, type ReplyContext } from '../../daemon/pxe/proxy.js';
import type { Decision } from '../../daemon/policy/types.js';
import { pxeRequest } from './helpers/dhcp-client.js';

function firstFrom(fixture: string, pred: (p: DhcpPacket, port: number) => boolean): DhcpPacket {
  const bytes = readFileSync(new URL(`../../../test/fixtures/firmware/${fixture}`, import.meta.url));
  for (const d of readUdpDatagrams(bytes)) {
    if (d.dstPort !== 67 && d.dstPort !== 4011) continue;
    const p = decodeDhcp(d.payload);
    if (pred(p, d.dstPort)) return p;
  }
  throw new Error(`no matching packet in ${fixture}`);
}

const isDiscover = (p: DhcpPacket) => messageType(p) === DhcpMessageType.DISCOVER;
const isHttpDiscover = (p: DhcpPacket) => isDiscover(p) && (p.options.get(DhcpOption.VENDOR_CLASS_ID)?.toString() ?? '').startsWith('HTTPClient');

const ctx: ReplyContext = {
  serverIp: '10.77.0.2',
  httpBase: 'http://10.77.0.2:8080',
  door: 'dhcp',
  source: { address: '0.0.0.0', port: 68 },
  clientPort: 68,
  relayPort: 67,
  broadcastAddress: '255.255.255.255',
  bcdPath: null,
  targets: {
    localTarget: () => ({ transport: 'tftp', path: 'undionly.kpxe' }),
    scriptTarget: () => ({ transport: 'http', path: 'ipxe/52-54-00-77-00-01.ipxe' }),
  },
};

const boot = (path: string, transport: 'tftp' | 'http' = 'tftp'): Decision => ({ kind: 'boot', profile: 'default', target: { transport, path }, computer: null, reason: 'unknown-boot' });

test('OVMF DISCOVER: x64 UEFI, not iPXE, both GUID readings', () => {
  const c = classify(firstFrom('uefi-ovmf-pxe-windowsize.pcap', isDiscover), 'dhcp');
  assert.equal(c.mac, '52:54:00:77:00:02');
  assert.equal(c.archCode, 7);
  assert.equal(c.arch, 'efi-x64');
  assert.equal(c.ipxe, false);
  assert.equal(c.httpBoot, false);
  assert.equal(c.guidSwapped, '00112233-4455-6677-8899-aabbccddee02');
  assert.equal(c.guid, '33221100-5544-7766-8899-aabbccddee02');
  assert.equal(c.vendorClass, 'PXEClient:Arch:00007:UNDI:003000');
});

test('iPXE ROM DISCOVER: BIOS, iPXE by its raw option 77', () => {
  const c = classify(firstFrom('bios-seabios-ipxe-rom-chain-undionly.pcap', isDiscover), 'dhcp');
  assert.equal(c.mac, '52:54:00:77:00:01');
  assert.equal(c.arch, 'bios');
  assert.equal(c.ipxe, true);
  assert.equal(c.guidSwapped, '00112233-4455-6677-8899-aabbccddee01');
});

test('UEFI HTTP boot DISCOVER: x64, HTTP', () => {
  const c = classify(firstFrom('uefi-ovmf-httpboot-dhcp.pcap', isHttpDiscover), 'dhcp');
  assert.equal(c.archCode, 16);
  assert.equal(c.arch, 'efi-x64');
  assert.equal(c.httpBoot, true);
});

test('OVMF gets an offer without option 43 (so it asks 4011), broadcast to port 68', () => {
  const req = firstFrom('uefi-ovmf-pxe-windowsize.pcap', isDiscover);
  const r = buildReply(req, classify(req, 'dhcp'), boot('ipxe.efi'), ctx);
  assert.ok(r);
  assert.equal(r.address, '255.255.255.255');
  assert.equal(r.port, 68);
  assert.equal(r.packet.options.has(DhcpOption.VENDOR_SPECIFIC), false);
  assert.equal(r.packet.file, 'ipxe.efi');
  assert.equal(r.packet.xid, req.xid);
  assert.equal(r.packet.flags & 0x8000, req.flags & 0x8000);
});

test("OVMF's 4011 REQUEST (sent from 4011) is answered at its source address and port", () => {
  const req = firstFrom('uefi-ovmf-pxe-windowsize.pcap', (p, port) => port === 4011);
  const c = classify(req, 'pxe', '10.77.0.50');
  const r = buildReply(req, c, boot('ipxe.efi'), { ...ctx, door: 'pxe', source: { address: '10.77.0.50', port: 4011 } });
  assert.ok(r);
  assert.equal(r.port, 4011);
  assert.equal(r.address, req.ciaddr !== '0.0.0.0' ? req.ciaddr : '10.77.0.50');
  assert.equal(r.packet.options.get(DhcpOption.MESSAGE_TYPE)?.[0], DhcpMessageType.ACK);
  assert.equal(r.packet.file, 'ipxe.efi');
  const item = req.options.get(DhcpOption.VENDOR_SPECIFIC);
  if (item) {
    const sent = decodeVendorOptions(item).get(PxeVendorOption.BOOT_ITEM);
    const echoed = decodeVendorOptions(r.packet.options.get(DhcpOption.VENDOR_SPECIFIC) ?? Buffer.alloc(0)).get(PxeVendorOption.BOOT_ITEM);
    assert.deepEqual(echoed, sent);
  }
});

test('an HTTP boot client gets HTTPClient and a URL; a relay gets a unicast; a client with ciaddr a unicast', () => {
  const http = firstFrom('uefi-ovmf-httpboot-dhcp.pcap', isHttpDiscover);
  const r = buildReply(http, classify(http, 'dhcp'), boot('ipxe.efi', 'http'), ctx);
  assert.equal(r?.packet.options.get(DhcpOption.VENDOR_CLASS_ID)?.toString(), 'HTTPClient');
  assert.equal(r?.packet.file, 'http://10.77.0.2:8080/ipxe.efi');

  const relayed = { ...firstFrom('uefi-ovmf-pxe-windowsize.pcap', isDiscover), giaddr: '10.1.2.1' };
  const rr = buildReply(relayed, classify(relayed, 'dhcp'), boot('ipxe.efi'), ctx);
  assert.deepEqual([rr?.address, rr?.port, rr?.packet.giaddr], ['10.1.2.1', 67, '10.1.2.1']);

  const renew = { ...firstFrom('uefi-ovmf-pxe-windowsize.pcap', isDiscover), ciaddr: '10.77.0.60' };
  const ru = buildReply(renew, classify(renew, 'dhcp'), boot('ipxe.efi'), ctx);
  assert.deepEqual([ru?.address, ru?.port], ['10.77.0.60', 68]);
});

test('silence: ignore, a native pending client, a local decision without a local boot program, a URL too long for the file field', () => {
  const req = firstFrom('uefi-ovmf-pxe-windowsize.pcap', isDiscover);
  const c = classify(req, 'dhcp');
  assert.equal(buildReply(req, c, { kind: 'ignore', reason: 'denied-mac' }, ctx), null);
  assert.equal(buildReply(req, c, { kind: 'pending', reason: 'unknown-pending' }, ctx), null);
  assert.equal(buildReply(req, c, { kind: 'local', computer: null, reason: 'boot-once-consumed' }, { ...ctx, targets: { ...ctx.targets, localTarget: () => null } }), null);
  assert.equal(buildReply(req, c, boot('x'.repeat(200)), ctx), null);
  const native = buildReply(req, c, { kind: 'local', computer: null, reason: 'boot-once-consumed' }, ctx);
  assert.equal(native?.packet.file, 'undionly.kpxe', 'a native client boots iPXE, whose script exits to the disk');
});

test('an iPXE client that is pending or local is pointed at its script', () => {
  const req = firstFrom('bios-seabios-ipxe-rom-chain-undionly.pcap', isDiscover);
  const c = classify(req, 'dhcp');
  const pending = buildReply(req, c, { kind: 'pending', reason: 'unknown-pending' }, ctx);
  assert.equal(pending?.packet.file, 'http://10.77.0.2:8080/ipxe/52-54-00-77-00-01.ipxe');
  const local = buildReply(req, c, { kind: 'local', computer: 'pc1', reason: 'boot-once-consumed' }, ctx);
  assert.equal(local?.packet.file, 'http://10.77.0.2:8080/ipxe/52-54-00-77-00-01.ipxe');
});

test('classify: an all-zero or all-FF option 97 is no GUID; one differing byte is a GUID in both readings', () => {
  for (const fill of [0x00, 0xff]) {
    const c = classify(pxeRequest({ guid: Buffer.alloc(16, fill) }), 'dhcp');
    assert.equal(c.guid, null);
    assert.equal(c.guidSwapped, null);
  }
  const almost = Buffer.alloc(16, 0xff);
  almost[15] = 0xfe;
  const c = classify(pxeRequest({ guid: almost }), 'dhcp');
  assert.equal(c.guid, 'ffffffff-ffff-ffff-ffff-fffffffffffe');
  assert.equal(c.guidSwapped, 'ffffffff-ffff-ffff-ffff-fffffffffffe');
  const mixed = classify(pxeRequest({ guid: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex') }), 'dhcp');
  assert.equal(mixed.guid, '00010203-0405-0607-0809-0a0b0c0d0e0f');
  assert.equal(mixed.guidSwapped, '03020100-0504-0706-0809-0a0b0c0d0e0f');
});
