/**
 * TFTP codec: golden bytes (including OVMF's requests from the firmware captures), round trips,
 * encodingLength, and a fuzz run over random and mutated packets: every input decodes or throws a
 * DecodeError, nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../../daemon/protocol/errors.js';
import { decodeTftp, encodeTftp, tftpEncodingLength, wireBlock, writeDataHeader, type TftpPacket } from '../../daemon/protocol/tftp/codec.js';
import { toNetascii } from '../../daemon/protocol/tftp/netascii.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const str = (s: string) => Buffer.from(s, 'latin1');

test('OVMF tsize probe RRQ (as in uefi-ovmf-pxe-windowsize.pcap) decodes with lower-case options', () => {
  const rrq = Buffer.concat([hex('0001'), str('ipxe.efi\0octet\0tsize\x000\0blksize\x001468\0windowsize\x004\0')]);
  assert.deepEqual(decodeTftp(rrq), {
    op: 'rrq',
    filename: 'ipxe.efi',
    mode: 'octet',
    options: { tsize: '0', blksize: '1468', windowsize: '4' },
  });
});

test('option names and mode are case-insensitive; the first of a repeated option wins', () => {
  const rrq = Buffer.concat([hex('0001'), str('\\Boot\\BCD\0OCTET\0BlkSize\x00512\0blksize\x001024\0')]);
  assert.deepEqual(decodeTftp(rrq), { op: 'rrq', filename: '\\Boot\\BCD', mode: 'octet', options: { blksize: '512' } });
});

test('trailing NUL padding and a dangling option name are tolerated; a missing mode is not', () => {
  const padded = Buffer.concat([hex('0001'), str('f\0octet\0blksize\x001432\0\0\0\0')]);
  assert.deepEqual(decodeTftp(padded), { op: 'rrq', filename: 'f', mode: 'octet', options: { blksize: '1432' } });
  const dangling = Buffer.concat([hex('0001'), str('f\0octet\0tsize\0')]);
  assert.deepEqual(decodeTftp(dangling), { op: 'rrq', filename: 'f', mode: 'octet', options: {} });
  const truncated = Buffer.concat([hex('0001'), str('f\0oct')]);
  assert.throws(() => decodeTftp(truncated), (e: unknown) => e instanceof DecodeError && e.code === 'ERR_TFTP_BAD_STRING');
});

test('UTF-8 filenames decode as UTF-8, other bytes as Latin-1', () => {
  const utf8 = Buffer.concat([hex('0001'), Buffer.from('bøot.efi\0octet\0', 'utf8')]);
  assert.equal((decodeTftp(utf8) as { filename: string }).filename, 'bøot.efi');
  const latin1 = Buffer.concat([hex('0001'), hex('62f8'), str('\0octet\0')]);
  assert.equal((decodeTftp(latin1) as { filename: string }).filename, 'bø');
});

test('Microsoft variable-window ACK: the fifth byte is the next window size', () => {
  assert.deepEqual(decodeTftp(hex('0004 0010')), { op: 'ack', block: 16 });
  assert.deepEqual(decodeTftp(hex('0004 0000 08')), { op: 'ack', block: 0, windowHint: 8 });
  assert.deepEqual(encodeTftp({ op: 'ack', block: 7, windowHint: 64 }), hex('0004 0007 40'));
});

test('golden encodings: DATA, ERROR, OACK', () => {
  assert.deepEqual(encodeTftp({ op: 'data', block: 65535, data: str('ab') }), hex('0003 ffff 6162'));
  assert.deepEqual(encodeTftp({ op: 'error', code: 8, message: 'no' }), hex('0005 0008 6e6f 00'));
  assert.deepEqual(encodeTftp({ op: 'oack', options: { blksize: '1468', msftwindow: '27182' } }), Buffer.concat([hex('0006'), str('blksize\x001468\0msftwindow\x0027182\0')]));
  const header = Buffer.alloc(4);
  writeDataHeader(header, wireBlock(65536 + 5));
  assert.deepEqual(header, hex('0003 0005'));
  assert.equal(wireBlock(65536), 0);
});

test('truncated and unknown packets throw coded DecodeErrors', () => {
  const cases: Array<[string, string]> = [
    ['', 'ERR_TFTP_TRUNCATED'],
    ['00', 'ERR_TFTP_TRUNCATED'],
    ['0003 00', 'ERR_TFTP_TRUNCATED'],
    ['0004 01', 'ERR_TFTP_TRUNCATED'],
    ['0005 00', 'ERR_TFTP_TRUNCATED'],
    ['0007 0000', 'ERR_TFTP_BAD_OPCODE'],
    ['0000', 'ERR_TFTP_BAD_OPCODE'],
    ['0001', 'ERR_TFTP_BAD_STRING'],
  ];
  for (const [h, code] of cases) {
    assert.throws(() => decodeTftp(hex(h)), (e: unknown) => e instanceof DecodeError && e.code === code, h);
  }
  // An ERROR without its terminating NUL keeps its message.
  assert.deepEqual(decodeTftp(Buffer.concat([hex('0005 0001'), str('gone')])), { op: 'error', code: 1, message: 'gone' });
});

const safeText = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0'));
const options = fc.dictionary(safeText.filter((s) => s.length > 0).map((s) => s.toLowerCase()), safeText, { maxKeys: 5 });
const packet: fc.Arbitrary<TftpPacket> = fc.oneof(
  fc.record({ op: fc.constantFrom('rrq' as const, 'wrq' as const), filename: safeText, mode: safeText.map((s) => s.toLowerCase()), options }),
  fc.record({ op: fc.constant('data' as const), block: fc.integer({ min: 0, max: 65535 }), data: fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)) }),
  fc.record({ op: fc.constant('ack' as const), block: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ op: fc.constant('ack' as const), block: fc.integer({ min: 0, max: 65535 }), windowHint: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('error' as const), code: fc.integer({ min: 0, max: 65535 }), message: safeText }),
  fc.record({ op: fc.constant('oack' as const), options }),
);

test('round trip: decode(encode(p)) equals p and encodingLength equals the bytes written', () => {
  fc.assert(
    fc.property(packet, (p) => {
      const bytes = encodeTftp(p);
      assert.equal(bytes.length, tftpEncodingLength(p));
      // fast-check builds null-prototype records; compare plain copies.
      const plain = (x: TftpPacket) => ({ ...x, ...('options' in x ? { options: { ...x.options } } : {}) });
      assert.deepEqual(plain(decodeTftp(bytes)), plain(p));
    }),
    { numRuns: 3000 },
  );
});

function decodesOrDecodeError(buf: Buffer): void {
  try {
    decodeTftp(buf);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
  }
}

test('fuzz: 100,000 random and 100,000 mutated packets decode or throw DecodeError, nothing else', () => {
  let seed = 0x2545f491;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  for (let i = 0; i < 100_000; i++) {
    const len = Math.floor(rnd() * 80);
    const buf = Buffer.alloc(len);
    for (let j = 0; j < len; j++) buf[j] = Math.floor(rnd() * 256);
    // Bias the opcode towards valid ones so the decoders' bodies are exercised, not only the switch.
    if (len >= 2 && rnd() < 0.8) buf.writeUInt16BE(1 + Math.floor(rnd() * 6), 0);
    decodesOrDecodeError(buf);
  }
  const seeds = [
    Buffer.concat([hex('0001'), str('ipxe.efi\0octet\0tsize\x000\0blksize\x001468\0windowsize\x004\0')]),
    Buffer.concat([hex('0001'), str('\\Boot\\BCD\0octet\0blksize\x001456\0windowsize\x0064\0msftwindow\x0031416\0')]),
    hex('0004 0010 08'),
    Buffer.concat([hex('0005 0008'), str('User aborted the transfer\0')]),
    Buffer.concat([hex('0006'), str('tsize\x00123\0')]),
    Buffer.concat([hex('0003 0001'), Buffer.alloc(64, 0x41)]),
  ];
  for (let i = 0; i < 100_000; i++) {
    const base = seeds[i % seeds.length] as Buffer;
    let buf = Buffer.from(base);
    const edits = 1 + Math.floor(rnd() * 4);
    for (let e = 0; e < edits; e++) {
      const kind = rnd();
      const at = Math.floor(rnd() * Math.max(1, buf.length));
      if (kind < 0.4 && buf.length > 0) buf[at] = Math.floor(rnd() * 256);
      else if (kind < 0.6 && buf.length > 0) buf[at] = 0;
      else if (kind < 0.8) buf = buf.subarray(0, at);
      else buf = Buffer.concat([buf.subarray(0, at), Buffer.from([Math.floor(rnd() * 256)]), buf.subarray(at)]);
    }
    decodesOrDecodeError(buf);
  }
});

test('netascii: LF becomes CR LF and a bare CR becomes CR NUL', () => {
  assert.deepEqual(toNetascii(str('a\nb\rc')), str('a\r\nb\r\0c'));
  assert.deepEqual(toNetascii(Buffer.alloc(0)), Buffer.alloc(0));
});
