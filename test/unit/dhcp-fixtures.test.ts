/**
 * Real firmware captures (test/fixtures/firmware, see its README): every DHCP packet decodes, matches its
 * golden decode field by field, and shows the facts the PXE responder is built on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { BROADCAST_FLAG, DhcpMessageType, DhcpOption, DhcpPort } from '../../daemon/protocol/dhcp/constants.js';
import {
  decodeDhcp,
  macOf,
  messageType,
  optionIpv4,
  optionString,
  optionUint16List,
  type DhcpPacket,
} from '../../daemon/protocol/dhcp/packet.js';
import { decodePxeOptions } from '../../daemon/protocol/dhcp/vendor-options.js';
import {
  captureNames,
  dhcpPacketsOf,
  dhcpToJson,
  goldenPath,
  pxeToJson,
  type FixturePacket,
  type GoldenFile,
} from '../fuzz/dhcp-corpus.js';

const BIOS = 'bios-seabios-ipxe-rom-chain-undionly.pcap';
const OVMF_CAPTURES = ['uefi-ovmf-pxe-windowsize.pcap', 'uefi-ovmf-pxe-dnsmasq.pcap'];
const HTTP = 'uefi-ovmf-httpboot-dhcp.pcap';
const PROXY = '10.77.0.2';

interface Decoded extends FixturePacket {
  p: DhcpPacket;
}

function decoded(capture: string): Decoded[] {
  return dhcpPacketsOf(capture).map((pkt) => ({ ...pkt, p: decodeDhcp(pkt.payload) }));
}

function frame(packets: Decoded[], n: number): Decoded {
  const found = packets.find((x) => x.frame === n);
  assert.ok(found, `frame ${n} missing`);
  return found;
}

const hexOf = (p: DhcpPacket, code: number): string | undefined => p.options.get(code)?.toString('hex');
const OPTION_97_BIOS = '00' + '33221100' + '5544' + '7766' + '8899aabbccddee01';

test('the fixture set is the one the README describes, and every DHCP packet in it decodes', () => {
  assert.deepEqual(captureNames(), [BIOS, HTTP, ...OVMF_CAPTURES].sort());
  const counts = captureNames().map((c) => decoded(c).length);
  assert.deepEqual(counts, [10, 18, 12, 12]);
});

test('golden decodes match field by field', () => {
  for (const capture of captureNames()) {
    assert.ok(existsSync(goldenPath(capture)), `${goldenPath(capture)} missing: run node dist/test/fuzz/make-golden.js`);
    const golden = JSON.parse(readFileSync(goldenPath(capture), 'utf8')) as GoldenFile;
    const packets = decoded(capture);
    assert.deepEqual(packets.map((x) => x.frame), golden.packets.map((g) => g.frame), `${capture}: frames`);
    packets.forEach((x, i) => {
      const g = golden.packets[i]!;
      const where = `${capture} frame ${x.frame}`;
      assert.equal(`${x.src} ${x.dst} ${x.payload.length}`, `${g.src} ${g.dst} ${g.length}`, where);
      const json = dhcpToJson(x.p);
      for (const key of Object.keys(g.decoded) as (keyof typeof json)[]) {
        assert.deepEqual(json[key], g.decoded[key], `${where}: ${key}`);
      }
      assert.deepEqual(pxeToJson(x.p), g.pxe, `${where}: option 43`);
    });
  }
});

test('iPXE NIC ROM (BIOS): raw "iPXE" user class, option 175, SMBIOS-order option 97, arch 0', () => {
  const discover = frame(decoded(BIOS), 1);
  assert.equal(discover.dst, `255.255.255.255:${DhcpPort.SERVER}`);
  assert.equal(messageType(discover.p), DhcpMessageType.DISCOVER);
  assert.equal(macOf(discover.p), '52:54:00:77:00:01');
  assert.deepEqual(optionUint16List(discover.p, DhcpOption.CLIENT_SYSTEM_ARCH), [0]);
  assert.equal(optionString(discover.p, DhcpOption.VENDOR_CLASS_ID), 'PXEClient:Arch:00000:UNDI:002001');
  assert.equal(hexOf(discover.p, DhcpOption.USER_CLASS), Buffer.from('iPXE').toString('hex'));
  assert.ok(discover.p.options.has(DhcpOption.IPXE_ENCAP));
  assert.equal(hexOf(discover.p, DhcpOption.CLIENT_MACHINE_ID), OPTION_97_BIOS);
  assert.equal(hexOf(discover.p, DhcpOption.CLIENT_ID), '01525400770001');
});

test('chainloaded undionly.kpxe: same options as the ROM except option 60 is bare "PXEClient"; broadcast flag set', () => {
  // The fixture README says "identical options (only the broadcast flag differs)"; the capture shows option 60
  // shrinks to "PXEClient" too, so the architecture must come from option 93, not from option 60.
  const packets = decoded(BIOS);
  const rom = frame(packets, 1).p;
  const chained = frame(packets, 15).p;
  assert.equal(messageType(chained), DhcpMessageType.DISCOVER);
  assert.equal(rom.flags & BROADCAST_FLAG, 0);
  assert.equal(chained.flags & BROADCAST_FLAG, BROADCAST_FLAG);
  assert.equal(optionString(chained, DhcpOption.VENDOR_CLASS_ID), 'PXEClient');
  assert.deepEqual([...chained.options.keys()], [...rom.options.keys()]);
  for (const [code, value] of rom.options) {
    if (code !== DhcpOption.VENDOR_CLASS_ID) assert.ok(chained.options.get(code)?.equals(value), `option ${code}`);
  }
});

test('dnsmasq proxy offers to BIOS iPXE: siaddr + file + option 43 (discovery control 8, prompt), and no 4011 follow-up', () => {
  const packets = decoded(BIOS);
  const offers = packets.filter((x) => x.src === `${PROXY}:${DhcpPort.SERVER}`);
  assert.equal(offers.length, 2);
  for (const { p } of offers) {
    assert.equal(messageType(p), DhcpMessageType.OFFER);
    assert.equal(p.yiaddr, '0.0.0.0');
    assert.equal(p.siaddr, PROXY);
    assert.equal(p.file, 'boot.ipxe');
    assert.equal(optionIpv4(p, DhcpOption.SERVER_ID), PROXY);
    assert.equal(optionString(p, DhcpOption.VENDOR_CLASS_ID), 'PXEClient');
    assert.equal(hexOf(p, DhcpOption.CLIENT_MACHINE_ID), OPTION_97_BIOS);
    const pxe = decodePxeOptions(p.options.get(DhcpOption.VENDOR_SPECIFIC)!);
    assert.equal(pxe.discoveryControl, 8);
    assert.deepEqual(pxe.menuPrompt, { timeout: 0, prompt: 'PXE' });
    assert.equal(pxe.bootMenu, null);
  }
  // iPXE takes a proxy offer with next-server and a file name as final: no ProxyDHCP REQUEST to 4011.
  assert.equal(packets.filter((x) => x.src.endsWith(`:${DhcpPort.PXE}`) || x.dst.endsWith(`:${DhcpPort.PXE}`)).length, 0);
});

test('OVMF PXE: DISCOVER with broadcast flag, arch 7, no 61/77/175; offer without 43; REQUEST from 4011 to 4011', () => {
  for (const capture of OVMF_CAPTURES) {
    const packets = decoded(capture);
    const discover = frame(packets, 1).p;
    assert.equal(discover.flags & BROADCAST_FLAG, BROADCAST_FLAG, capture);
    assert.deepEqual(optionUint16List(discover, DhcpOption.CLIENT_SYSTEM_ARCH), [7]);
    assert.equal(optionString(discover, DhcpOption.VENDOR_CLASS_ID), 'PXEClient:Arch:00007:UNDI:003000');
    for (const absent of [DhcpOption.CLIENT_ID, DhcpOption.USER_CLASS, DhcpOption.IPXE_ENCAP]) {
      assert.equal(discover.options.has(absent), false, `${capture}: option ${absent}`);
    }
    const offer = packets.find((x) => x.src === `${PROXY}:${DhcpPort.SERVER}` && x.p.xid === discover.xid);
    assert.ok(offer, capture);
    assert.equal(offer.p.options.has(DhcpOption.VENDOR_SPECIFIC), false);
    assert.equal(offer.p.file, '');
    assert.equal(offer.p.siaddr, PROXY);
    assert.equal(optionString(offer.p, DhcpOption.VENDOR_CLASS_ID), 'PXEClient');

    const request = packets.find((x) => x.dst === `${PROXY}:${DhcpPort.PXE}`);
    assert.ok(request, capture);
    assert.ok(request.src.endsWith(`:${DhcpPort.PXE}`), `${capture}: sent from ${request.src}`);
    assert.equal(messageType(request.p), DhcpMessageType.REQUEST);
    assert.equal(request.p.ciaddr, request.src.split(':')[0]);
    assert.equal(hexOf(request.p, DhcpOption.CLIENT_MACHINE_ID), OPTION_97_BIOS.replace(/01$/, '02'));

    const ack = packets.find((x) => x.src === `${PROXY}:${DhcpPort.PXE}`);
    assert.ok(ack, capture);
    assert.equal(ack.dst, request.src);
    assert.equal(messageType(ack.p), DhcpMessageType.ACK);
    assert.equal(ack.p.file, 'ipxe.efi');
    assert.equal(ack.p.sname, PROXY);
    assert.equal(ack.p.options.has(DhcpOption.VENDOR_SPECIFIC), false);
  }
});

test('ipxe.efi after OVMF: iPXE options, proxy offer with siaddr + boot.ipxe, no 4011 request', () => {
  for (const capture of OVMF_CAPTURES) {
    const packets = decoded(capture);
    const ipxe = packets.find((x) => x.p.options.has(DhcpOption.USER_CLASS));
    assert.ok(ipxe, capture);
    assert.equal(optionString(ipxe.p, DhcpOption.VENDOR_CLASS_ID), 'PXEClient:Arch:00007:UNDI:003010');
    const offer = packets.find((x) => x.src === `${PROXY}:${DhcpPort.SERVER}` && x.p.xid === ipxe.p.xid);
    assert.ok(offer, capture);
    assert.equal(offer.p.file, 'boot.ipxe');
    assert.equal(offer.p.siaddr, PROXY);
    const later = packets.filter((x) => x.frame > ipxe.frame && x.dst.endsWith(`:${DhcpPort.PXE}`));
    assert.equal(later.length, 0, capture);
  }
});

test('UEFI HTTP boot: HTTPClient arch 16, answered with option 60 HTTPClient and a URL in option 67', () => {
  const packets = decoded(HTTP);
  const discover = packets.find((x) => optionString(x.p, DhcpOption.VENDOR_CLASS_ID)?.startsWith('HTTPClient'));
  assert.ok(discover);
  assert.equal(optionString(discover.p, DhcpOption.VENDOR_CLASS_ID), 'HTTPClient:Arch:00016:UNDI:003000');
  assert.deepEqual(optionUint16List(discover.p, DhcpOption.CLIENT_SYSTEM_ARCH), [16]);
  const offer = packets.find((x) => x.p.op === 2 && x.p.xid === discover.p.xid);
  assert.ok(offer);
  assert.equal(optionString(offer.p, DhcpOption.VENDOR_CLASS_ID), 'HTTPClient');
  // dnsmasq NUL-terminates option 67; optionString stops at the NUL.
  assert.equal(hexOf(offer.p, DhcpOption.BOOTFILE_NAME)?.endsWith('00'), true);
  assert.equal(optionString(offer.p, DhcpOption.BOOTFILE_NAME), 'http://10.77.0.2/ipxe.efi');
});
