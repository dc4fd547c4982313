import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, type DecodeErrorCode } from '../../daemon/protocol/errors.js';
import { BROADCAST_FLAG, DHCP_MAGIC_COOKIE, DhcpMessageType, DhcpOption } from '../../daemon/protocol/dhcp/constants.js';
import {
  chaddrFromMac,
  decodeDhcp,
  encodeDhcp,
  encodingLength,
  macOf,
  messageType,
  optionIpv4,
  optionString,
  optionUint16,
  optionUint16List,
  optionUint32,
  optionUint8,
  type DhcpPacket,
} from '../../daemon/protocol/dhcp/packet.js';
import { allFixturePackets, samePacket } from '../fuzz/dhcp-corpus.js';

/** A packet assembled byte by byte (not with encodeDhcp), so decode is tested against the RFC layout. */
function raw(o: { op?: number; options?: number[]; file?: number[] | string; sname?: number[] | string; cookie?: number } = {}): Buffer {
  const header = Buffer.alloc(240);
  header[0] = o.op ?? 1;
  header[1] = 1;
  header[2] = 6;
  header.writeUInt32BE(0xdeadbeef, 4);
  header.writeUInt16BE(4, 8);
  header.writeUInt16BE(BROADCAST_FLAG, 10);
  Buffer.from([10, 0, 0, 9]).copy(header, 12);
  Buffer.from([0x52, 0x54, 0x00, 0x77, 0x00, 0x01]).copy(header, 28);
  if (o.sname !== undefined) Buffer.from(o.sname as never, 'latin1').copy(header, 44);
  if (o.file !== undefined) Buffer.from(o.file as never, 'latin1').copy(header, 108);
  header.writeUInt32BE(o.cookie ?? DHCP_MAGIC_COOKIE, 236);
  return Buffer.concat([header, Buffer.from(o.options ?? [53, 1, 1, 255])]);
}

function throwsDecode(fn: () => unknown, code: DecodeErrorCode, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DecodeError, `expected DecodeError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  });
}

const hex = (b: Buffer | undefined): string | undefined => b?.toString('hex');

test('decodes the fixed BOOTP fields', () => {
  const p = decodeDhcp(raw({ file: 'boot.ipxe', sname: 'srv' }));
  assert.equal(p.op, 1);
  assert.equal(p.htype, 1);
  assert.equal(p.hlen, 6);
  assert.equal(p.hops, 0);
  assert.equal(p.xid, 0xdeadbeef);
  assert.equal(p.secs, 4);
  assert.equal(p.flags, BROADCAST_FLAG);
  assert.equal(p.ciaddr, '10.0.0.9');
  assert.equal(p.yiaddr, '0.0.0.0');
  assert.equal(p.chaddr.length, 16);
  assert.equal(macOf(p), '52:54:00:77:00:01');
  assert.equal(p.file, 'boot.ipxe');
  assert.equal(p.sname, 'srv');
  assert.equal(messageType(p), DhcpMessageType.DISCOVER);
});

test('PAD is skipped, END stops, bytes after END are ignored, a missing END is tolerated', () => {
  const withPads = decodeDhcp(raw({ options: [0, 0, 53, 1, 3, 0, 60, 2, 0x41, 0x42, 255, 99, 99, 99] }));
  assert.deepEqual([...withPads.options.keys()], [53, 60]);
  assert.equal(optionString(withPads, 60), 'AB');
  const noEnd = decodeDhcp(raw({ options: [53, 1, 3, 61, 2, 1, 2] }));
  assert.deepEqual([...noEnd.options.keys()], [53, 61]);
  assert.equal(hex(noEnd.options.get(61)), '0102');
  const onlyCookie = decodeDhcp(raw({ options: [] }));
  assert.equal(onlyCookie.options.size, 0);
  assert.equal(messageType(onlyCookie), null);
});

test('unknown options are kept as raw bytes, in order, including empty ones', () => {
  const p = decodeDhcp(raw({ options: [200, 3, 1, 2, 3, 53, 1, 1, 254, 0, 255] }));
  assert.deepEqual([...p.options.keys()], [200, 53, 254]);
  assert.equal(hex(p.options.get(200)), '010203');
  assert.equal(p.options.get(254)?.length, 0);
});

test('RFC 3396: repeated instances are concatenated at the first instance position', () => {
  const p = decodeDhcp(raw({ options: [77, 2, 0x69, 0x50, 53, 1, 1, 77, 2, 0x58, 0x45, 255] }));
  assert.deepEqual([...p.options.keys()], [77, 53]);
  assert.equal(optionString(p, 77), 'iPXE');
  const long = Buffer.alloc(600, 0x61);
  const encoded = encodeDhcp({ ...decodeDhcp(raw()), options: new Map([[DhcpOption.USER_CLASS, long]]) });
  assert.equal(encoded[240], 77);
  assert.equal(encoded[241], 255);
  assert.equal(encoded[240 + 257], 77);
  assert.equal(encoded[240 + 2 * 257 + 1], 90);
  assert.equal(decodeDhcp(encoded).options.get(77)?.equals(long), true);
});

test('option overload 1: options continue in file; file is empty, sname stays text', () => {
  const p = decodeDhcp(raw({ options: [53, 1, 2, 52, 1, 1, 255], file: [67, 3, 0x61, 0x62, 0x63, 255], sname: 'next' }));
  assert.equal(p.file, '');
  assert.equal(p.sname, 'next');
  assert.equal(optionString(p, 67), 'abc');
  assert.deepEqual([...p.options.keys()], [53, 52, 67]);
});

test('option overload 2: options continue in sname; file stays text', () => {
  const p = decodeDhcp(raw({ options: [52, 1, 2, 255], sname: [66, 2, 0x68, 0x69], file: 'pxelinux.0' }));
  assert.equal(p.sname, '');
  assert.equal(p.file, 'pxelinux.0');
  assert.equal(optionString(p, 66), 'hi');
});

test('option overload 3: options, then file, then sname (RFC 2131 section 4.1), concatenated in that order', () => {
  const p = decodeDhcp(
    raw({ options: [60, 1, 0x31, 52, 1, 3, 255], file: [60, 1, 0x32, 255], sname: [60, 1, 0x33, 255] }),
  );
  assert.equal(optionString(p, 60), '123');
  assert.equal(p.file, '');
  assert.equal(p.sname, '');
});

test('option 52 inside an overloaded field is ignored: no recursion into sname', () => {
  const p = decodeDhcp(raw({ options: [52, 1, 1, 255], file: [52, 1, 3, 53, 1, 5, 255], sname: 'text' }));
  assert.equal(hex(p.options.get(52)), '01');
  assert.equal(messageType(p), DhcpMessageType.ACK);
  assert.equal(p.sname, 'text');
});

test('a bad option 52 is a coded error', () => {
  for (const [value, message] of [
    [[0], 'option 52 has value 0; expected 1, 2 or 3'],
    [[4], 'option 52 has value 4; expected 1, 2 or 3'],
    [[1, 1], 'option 52 is 2 bytes; expected 1'],
    [[], 'option 52 is 0 bytes; expected 1'],
  ] as const) {
    throwsDecode(() => decodeDhcp(raw({ options: [52, value.length, ...value, 255] })), 'ERR_DHCP_BAD_OVERLOAD', message);
  }
  // Two instances of 52 concatenate (RFC 3396) into two bytes: rejected the same way.
  throwsDecode(() => decodeDhcp(raw({ options: [52, 1, 1, 52, 1, 1] })), 'ERR_DHCP_BAD_OVERLOAD', 'option 52 is 2 bytes; expected 1');
});

test('truncations and corrupt headers give the expected codes and messages', () => {
  const cases: [string, Buffer, DecodeErrorCode, string][] = [
    ['empty', Buffer.alloc(0), 'ERR_DHCP_TRUNCATED', 'packet is 0 bytes; the BOOTP header and magic cookie need 240'],
    ['header only', raw().subarray(0, 236), 'ERR_DHCP_TRUNCATED', 'packet is 236 bytes; the BOOTP header and magic cookie need 240'],
    ['half a cookie', raw().subarray(0, 238), 'ERR_DHCP_TRUNCATED', 'packet is 238 bytes; the BOOTP header and magic cookie need 240'],
    ['op 0', raw({ op: 0 }), 'ERR_DHCP_NOT_BOOTP', 'op is 0; expected 1 (BOOTREQUEST) or 2 (BOOTREPLY)'],
    ['op 3', raw({ op: 3 }), 'ERR_DHCP_NOT_BOOTP', 'op is 3; expected 1 (BOOTREQUEST) or 2 (BOOTREPLY)'],
    ['plain BOOTP vendor area', raw({ cookie: 0 }), 'ERR_DHCP_BAD_MAGIC', 'magic cookie is 0x00000000; expected 0x63825363'],
    ['option 97 cut short', raw({ options: [53, 1, 1, 97, 17, 0, 0x33, 0x22] }), 'ERR_DHCP_TRUNCATED', 'option 97 claims 17 bytes but only 3 remain'],
    ['one byte short', raw({ options: [53, 1, 1, 60, 3, 0x41, 0x42] }), 'ERR_DHCP_TRUNCATED', 'option 60 claims 3 bytes but only 2 remain'],
    ['length byte missing', raw({ options: [53, 1, 1, 93] }), 'ERR_DHCP_TRUNCATED', 'option 93 has no length byte'],
    ['claims past the end', raw({ options: [60, 255, 0x50] }), 'ERR_DHCP_TRUNCATED', 'option 60 claims 255 bytes but only 1 remain'],
    [
      'overrun inside file',
      raw({ options: [52, 1, 1], file: [...Array<number>(120).fill(0), 67, 20, 0x61] }),
      'ERR_DHCP_TRUNCATED',
      'option 67 claims 20 bytes but only 6 remain in the file field',
    ],
    ['no length byte at the end of sname', raw({ options: [52, 1, 2], sname: [...Array<number>(63).fill(0), 12] }), 'ERR_DHCP_TRUNCATED', 'option 12 has no length byte in the sname field'],
  ];
  for (const [name, buf, code, message] of cases) {
    assert.doesNotThrow(() => throwsDecode(() => decodeDhcp(buf), code, message), name);
  }
});

test('accepts a Uint8Array view into a larger buffer, reading only inside it', () => {
  const packet = raw({ options: [53, 1, 1, 255] });
  const backing = new Uint8Array(packet.length + 20).fill(0x42);
  backing.set(packet, 10);
  const p = decodeDhcp(backing.subarray(10, 10 + packet.length));
  assert.equal(p.xid, 0xdeadbeef);
  assert.deepEqual([...p.options.keys()], [53]);
  // Cut the view just before END: still fine (missing END tolerated), the 0x42 bytes are never read.
  const cut = decodeDhcp(backing.subarray(10, 10 + packet.length - 1));
  assert.deepEqual([...cut.options.keys()], [53]);
});

function sample(): DhcpPacket {
  return {
    op: 2,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0x31fb5a9a,
    secs: 0,
    flags: 0,
    ciaddr: '10.77.0.131',
    yiaddr: '0.0.0.0',
    siaddr: '10.77.0.2',
    giaddr: '0.0.0.0',
    chaddr: chaddrFromMac('52:54:00:77:00:02'),
    sname: '10.77.0.2',
    file: 'ipxe.efi',
    options: new Map([
      [DhcpOption.MESSAGE_TYPE, Buffer.from([DhcpMessageType.ACK])],
      [DhcpOption.SERVER_ID, Buffer.from([10, 77, 0, 2])],
      [DhcpOption.VENDOR_CLASS_ID, Buffer.from('PXEClient')],
    ]),
  };
}

test('encode: fields, options in map order, END, zero padding to 300 bytes; encodingLength matches', () => {
  const p = sample();
  const out = encodeDhcp(p);
  assert.equal(out.length, 300);
  assert.equal(encodingLength(p), out.length);
  assert.equal(out.readUInt32BE(236), DHCP_MAGIC_COOKIE);
  assert.deepEqual([...out.subarray(240, 240 + 3)], [53, 1, 5]);
  const end = 240 + 3 + 6 + 11;
  assert.equal(out[end], 255);
  assert.ok(out.subarray(end + 1).every((b) => b === 0));
  assert.ok(samePacket(decodeDhcp(out), p));
});

test('encode: long and empty options, option 52 dropped, length above 300', () => {
  const p = sample();
  p.options.set(DhcpOption.OVERLOAD, Buffer.from([3]));
  p.options.set(DhcpOption.MS_BCD_PATH, Buffer.alloc(700, 0x5c));
  p.options.set(DhcpOption.USER_CLASS, Buffer.alloc(0));
  const out = encodeDhcp(p);
  // header+cookie 240, 53/54/60 = 20, 252 = 3 instances (6) + 700, 77 = 2, END 1
  assert.equal(out.length, 240 + 20 + 706 + 2 + 1);
  assert.equal(encodingLength(p), out.length);
  const back = decodeDhcp(out);
  assert.equal(back.options.has(DhcpOption.OVERLOAD), false);
  assert.equal(back.file, 'ipxe.efi');
  assert.equal(back.options.get(DhcpOption.MS_BCD_PATH)?.length, 700);
  assert.equal(back.options.get(DhcpOption.USER_CLASS)?.length, 0);
});

test('encode rejects packets it cannot represent with a RangeError naming the field', () => {
  const cases: [string, (p: DhcpPacket) => void, RegExp][] = [
    ['option 0', (p) => p.options.set(0, Buffer.alloc(1)), /option code 0/],
    ['option 255', (p) => p.options.set(255, Buffer.alloc(1)), /option code 255/],
    ['short chaddr', (p) => (p.chaddr = Buffer.alloc(6)), /chaddr is 6 bytes/],
    ['long sname', (p) => (p.sname = 'x'.repeat(65)), /sname is 65 bytes/],
    ['non-latin1 file', (p) => (p.file = 'bööt\u20ac'), /file has character code 8364/],
    ['NUL in file', (p) => (p.file = 'a\0b'), /file has character code 0/],
    ['bad ciaddr', (p) => (p.ciaddr = '10.0.0'), /ciaddr "10.0.0"/],
    ['xid too big', (p) => (p.xid = 2 ** 32), /xid is 4294967296/],
  ];
  for (const [name, mutate, pattern] of cases) {
    const p = sample();
    mutate(p);
    assert.throws(() => encodeDhcp(p), (e: unknown) => e instanceof RangeError && pattern.test(e.message), name);
  }
});

test('a full 128-byte file field without NUL round-trips', () => {
  const p = sample();
  p.file = 'f'.repeat(128);
  p.sname = 's'.repeat(64);
  const back = decodeDhcp(encodeDhcp(p));
  assert.equal(back.file, p.file);
  assert.equal(back.sname, p.sname);
});

test('every fixture packet round-trips: decode -> encode -> decode, and encode reproduces the bytes up to END', () => {
  const packets = allFixturePackets();
  assert.ok(packets.length >= 50, `only ${packets.length} fixture packets`);
  for (const pkt of packets) {
    const p = decodeDhcp(pkt.payload);
    const out = encodeDhcp(p);
    const where = `${pkt.capture} frame ${pkt.frame}`;
    assert.equal(encodingLength(p), out.length, where);
    assert.ok(samePacket(decodeDhcp(out), p), where);
    // The firmware and dnsmasq write options the way encodeDhcp does, so the bytes match up to and including
    // END; whatever follows in the original is zero padding.
    const endOfOptions = out.lastIndexOf(DhcpOption.END) + 1;
    assert.ok(out.subarray(0, endOfOptions).equals(pkt.payload.subarray(0, endOfOptions)), `${where}: bytes differ`);
    assert.ok(pkt.payload.subarray(endOfOptions).every((b) => b === 0), `${where}: non-zero tail`);
  }
});

test('typed accessors return null rather than misreading', () => {
  const p = decodeDhcp(
    raw({
      options: [53, 2, 1, 1, 93, 4, 0, 7, 0, 9, 57, 2, 5, 0xc0, 51, 4, 0, 0, 0x0e, 0x10, 54, 4, 10, 77, 0, 2, 67, 5, 0x61, 0x2e, 0x65, 0, 0, 12, 1, 7, 255],
    }),
  );
  assert.equal(messageType(p), null);
  assert.deepEqual(optionUint16List(p, 93), [7, 9]);
  assert.equal(optionUint16(p, 93), null);
  assert.equal(optionUint16(p, 57), 1472);
  assert.equal(optionUint32(p, 51), 3600);
  assert.equal(optionIpv4(p, 54), '10.77.0.2');
  assert.equal(optionIpv4(p, 57), null);
  assert.equal(optionString(p, 67), 'a.e');
  assert.equal(optionUint8(p, 12), 7);
  assert.equal(optionUint8(p, 93), null);
  assert.equal(optionString(p, 60), null);
  assert.equal(optionUint16List(p, 60), null);
});

test('macOf clamps hlen to the 16-byte field; chaddrFromMac validates', () => {
  const p = sample();
  assert.equal(macOf(p), '52:54:00:77:00:02');
  assert.equal(macOf({ ...p, hlen: 0 }), '');
  assert.equal(macOf({ ...p, hlen: 200 }).split(':').length, 16);
  assert.equal(chaddrFromMac('AA-bb-cc-dd-ee-ff').toString('hex'), 'aabbccddeeff' + '00'.repeat(10));
  assert.throws(() => chaddrFromMac('52:54:00:77:0'), RangeError);
  assert.throws(() => chaddrFromMac('zz:00:00:00:00:00'), RangeError);
});

test('macOf prints every hardware address length as lower-case hex pairs joined by colons', () => {
  const p = sample();
  for (let hlen = 0; hlen <= 16; hlen += 1) {
    const chaddr = Buffer.from(Array.from({ length: 16 }, (_, i) => (i * 37 + hlen * 11) & 0xff));
    const expected = [...chaddr.subarray(0, hlen)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    assert.equal(macOf({ ...p, hlen, chaddr }), expected, `hlen ${hlen}`);
  }
  const all = Buffer.alloc(16);
  for (let b = 0; b < 256; b += 1) {
    all.fill(b, 0, 6);
    assert.equal(macOf({ ...p, hlen: 6, chaddr: all }), Array(6).fill(b.toString(16).padStart(2, '0')).join(':'));
  }
});
