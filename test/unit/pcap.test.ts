import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DecodeError } from '../../daemon/protocol/errors.js';
import { LinkType, readCaptureFrames, readUdpDatagrams } from '../../daemon/protocol/pcap.js';
import { FIRMWARE_DIR, captureNames } from '../fuzz/dhcp-corpus.js';

/* Synthetic captures, assembled by hand from the pcap(5) and pcapng layouts. */

function ipv4Udp(o: { src?: number[]; dst?: number[]; sport: number; dport: number; payload: Buffer; proto?: number; frag?: number }): Buffer {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(o.sport, 0);
  udp.writeUInt16BE(o.dport, 2);
  udp.writeUInt16BE(8 + o.payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + o.payload.length, 2);
  ip.writeUInt16BE(o.frag ?? 0x4000, 6); // don't-fragment by default
  ip[8] = 64;
  ip[9] = o.proto ?? 17;
  Buffer.from(o.src ?? [10, 77, 0, 131]).copy(ip, 12);
  Buffer.from(o.dst ?? [10, 77, 0, 2]).copy(ip, 16);
  return Buffer.concat([ip, udp, o.payload]);
}

function ether(payload: Buffer, etherType = 0x0800, vlan = false): Buffer {
  const head = Buffer.alloc(vlan ? 18 : 14, 0xaa);
  if (vlan) {
    head.writeUInt16BE(0x8100, 12);
    head.writeUInt16BE(77, 14);
    head.writeUInt16BE(etherType, 16);
  } else {
    head.writeUInt16BE(etherType, 12);
  }
  const frame = Buffer.concat([head, payload]);
  // Ethernet pads to 60 bytes; the reader must use the IP length, not the frame length.
  return frame.length < 60 ? Buffer.concat([frame, Buffer.alloc(60 - frame.length)]) : frame;
}

function classicPcap(frames: Buffer[], little: boolean, nano = false, linkType: number = LinkType.ETHERNET): Buffer {
  const w32 = (b: Buffer, v: number, off: number): number => (little ? b.writeUInt32LE(v, off) : b.writeUInt32BE(v, off));
  const header = Buffer.alloc(24);
  w32(header, nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w32(header, 65535, 16);
  w32(header, linkType, 20);
  const records = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    w32(r, 1700000000 + i, 0);
    w32(r, nano ? 500_000_000 : 500_000, 4);
    w32(r, f.length, 8);
    w32(r, f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([header, ...records]);
}

function pcapngBlock(type: number, body: Buffer, little: boolean): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const block = Buffer.alloc(12 + padded.length);
  const w32 = (v: number, off: number): number => (little ? block.writeUInt32LE(v, off) : block.writeUInt32BE(v, off));
  w32(type, 0);
  w32(block.length, 4);
  padded.copy(block, 8);
  w32(block.length, block.length - 4);
  return block;
}

function pcapng(frames: Buffer[], little: boolean, tsresol?: number): Buffer {
  const w = (size: number, values: number[]): Buffer => {
    const b = Buffer.alloc(size * values.length);
    values.forEach((v, i) => (size === 2 ? (little ? b.writeUInt16LE(v, i * 2) : b.writeUInt16BE(v, i * 2)) : little ? b.writeUInt32LE(v, i * 4) : b.writeUInt32BE(v, i * 4)));
    return b;
  };
  const shb = pcapngBlock(0x0a0d0d0a, Buffer.concat([w(4, [0x1a2b3c4d]), w(2, [1, 0]), Buffer.alloc(8, 0xff)]), little);
  const idbOptions = tsresol === undefined ? Buffer.alloc(0) : Buffer.concat([w(2, [9, 1]), Buffer.from([tsresol, 0, 0, 0]), w(2, [0, 0])]);
  const idb = pcapngBlock(1, Buffer.concat([w(2, [LinkType.ETHERNET, 0]), w(4, [65535]), idbOptions]), little);
  const epbs = frames.map((f) => pcapngBlock(6, Buffer.concat([w(4, [0, 0, 3_000_000, f.length, f.length]), f]), little));
  const spb = pcapngBlock(3, Buffer.concat([w(4, [frames[0]!.length]), frames[0]!]), little);
  return Buffer.concat([shb, idb, ...epbs, spb]);
}

const dhcpLike = Buffer.from('not really dhcp');
const mixed = (): Buffer[] => [
  ether(ipv4Udp({ sport: 4011, dport: 4011, payload: dhcpLike })),
  ether(ipv4Udp({ sport: 68, dport: 67, payload: Buffer.from('tagged') }), 0x0800, true),
  ether(ipv4Udp({ sport: 1, dport: 2, payload: Buffer.from('fragment'), frag: 0x2000 })),
  ether(ipv4Udp({ sport: 1, dport: 2, payload: Buffer.from('tcp'), proto: 6 })),
  ether(Buffer.alloc(40), 0x86dd),
  ether(ipv4Udp({ sport: 1, dport: 2, payload: Buffer.alloc(100) })).subarray(0, 60), // cut by snaplen
];

function check(file: Buffer, label: string): void {
  const frames = [...readCaptureFrames(file)];
  assert.equal(frames.length, 6, label);
  const udp = [...readUdpDatagrams(file)];
  assert.deepEqual(
    udp.map((u) => [u.index, `${u.srcIp}:${u.srcPort}`, `${u.dstIp}:${u.dstPort}`, u.payload.toString()]),
    [
      [1, '10.77.0.131:4011', '10.77.0.2:4011', 'not really dhcp'],
      [2, '10.77.0.131:68', '10.77.0.2:67', 'tagged'],
    ],
    label,
  );
}

test('classic pcap in both byte orders, micro and nano seconds: UDP datagrams, the rest skipped', () => {
  check(classicPcap(mixed(), true), 'little-endian');
  check(classicPcap(mixed(), false), 'big-endian');
  check(classicPcap(mixed(), true, true), 'nanoseconds');
  const [first] = readCaptureFrames(classicPcap(mixed(), false, true));
  assert.equal(first?.timestamp, 1700000000.5);
});

test('raw IPv4 link type needs no Ethernet header', () => {
  const file = classicPcap([ipv4Udp({ sport: 67, dport: 68, payload: dhcpLike })], true, false, LinkType.RAW);
  assert.equal([...readUdpDatagrams(file)][0]?.payload.toString(), 'not really dhcp');
});

test('pcapng in both byte orders, EPB and SPB, with if_tsresol', () => {
  for (const little of [true, false]) {
    const file = pcapng(mixed(), little, 3);
    const frames = [...readCaptureFrames(file)];
    assert.equal(frames.length, 7);
    assert.equal(frames[0]?.timestamp, 3000); // 3,000,000 units of 10^-3 s
    assert.equal([...readUdpDatagrams(file)].length, 3); // the SPB repeats frame 1
  }
  assert.equal([...readCaptureFrames(pcapng(mixed(), true))][0]?.timestamp, 3); // default microseconds
});

test('corrupt files give ERR_PCAP_BAD, never a RangeError', () => {
  const good = classicPcap(mixed(), true);
  const ng = pcapng(mixed(), true);
  const badBlockLength = Buffer.from(ng);
  badBlockLength.writeUInt32LE(30, ng.readUInt32LE(4) + 4); // the IDB claims 30 bytes: not a multiple of 4
  const shbLength = ng.readUInt32LE(4);
  const withoutIdb = Buffer.concat([ng.subarray(0, shbLength), ng.subarray(shbLength + ng.readUInt32LE(shbLength + 4))]);
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /too short/],
    ['unknown magic', Buffer.from('GIF89a......'), /unknown capture magic/],
    ['cut record', good.subarray(0, good.length - 5), /pcap record 6/],
    ['cut header', good.subarray(0, 20), /pcap header/],
    ['cut pcapng', ng.subarray(0, ng.length - 8), /pcapng block/],
    ['bad block length', badBlockLength, /has length 30/],
    ['packet before any interface block', withoutIdb, /refers to interface 0 of 0/],
  ];
  for (const [label, file, pattern] of cases) {
    assert.throws(
      () => [...readCaptureFrames(file)],
      (e: unknown) => e instanceof DecodeError && e.code === 'ERR_PCAP_BAD' && pattern.test(e.message),
      label,
    );
  }
});

test('the firmware captures read completely, frame numbers as Wireshark shows them', () => {
  // Frame and UDP counts as tshark reports them for these files.
  const expected: Record<string, number> = {
    'bios-seabios-ipxe-rom-chain-undionly.pcap': 33,
    'uefi-ovmf-httpboot-dhcp.pcap': 18,
    'uefi-ovmf-pxe-dnsmasq.pcap': 34,
    'uefi-ovmf-pxe-windowsize.pcap': 32,
  };
  for (const name of captureNames()) {
    const file = readFileSync(`${FIRMWARE_DIR}${name}`);
    const frames = [...readCaptureFrames(file)];
    assert.equal(frames.length, expected[name], name);
    assert.deepEqual(frames.map((f) => f.index), frames.map((_, i) => i + 1));
    assert.equal([...readUdpDatagrams(file)].length, expected[name], `${name}: all frames are UDP`);
  }
});
