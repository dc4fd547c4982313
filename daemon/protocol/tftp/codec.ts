/**
 * TFTP packets (RFC 1350) with the option extension (RFC 2347: OACK and name/value pairs in RRQ/WRQ)
 * and Microsoft's variable-window ACK (one extra byte carrying the next window size).
 *
 * Pure: bytes in, values out. Every read is bounds-checked; the only thing `decodeTftp` throws is a
 * DecodeError with an ERR_TFTP_* code, so the socket edge can count and drop hostile packets.
 */
import { DecodeError } from '../errors.js';

/** The server's well-known port: a client's request goes to UDP 69 (RFC 1350 section 4). */
export const TFTP_PORT = 69;

/** RFC 1350 section 5 (opcodes 1-5) and RFC 2347 (6, option acknowledgement). */
export const TFTP_OPCODE = {
  RRQ: 1,
  WRQ: 2,
  DATA: 3,
  ACK: 4,
  ERROR: 5,
  OACK: 6,
} as const;

/** RFC 1350 appendix "Error Codes" (0-7) and RFC 2347 (8, option negotiation refused). */
export const TFTP_ERROR = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

/** Option names (lower case: RFC 2347 says names are case-insensitive). */
export const TFTP_OPTION = {
  /** RFC 2348: data block size, 8-65464 octets. */
  BLKSIZE: 'blksize',
  /** RFC 2349: transfer size; 0 in an RRQ asks the server for the file size. */
  TSIZE: 'tsize',
  /** RFC 2349: retransmission timeout in seconds, 1-255. */
  TIMEOUT: 'timeout',
  /** RFC 7440: blocks sent before an ACK is required, 1-65535. */
  WINDOWSIZE: 'windowsize',
  /** Microsoft Windows boot manager's variable window (WDS): see MSFT_WINDOW. */
  MSFTWINDOW: 'msftwindow',
} as const;

/** Numeric limits from the option RFCs. */
export const TFTP_LIMITS = {
  /** RFC 1350: the fixed block size when no blksize option is negotiated. */
  DEFAULT_BLKSIZE: 512,
  /** RFC 2348 section "Blocksize Option Specification". */
  BLKSIZE_MIN: 8,
  BLKSIZE_MAX: 65464,
  /** RFC 2349 section "Timeout Interval Option Specification". */
  TIMEOUT_MIN_S: 1,
  TIMEOUT_MAX_S: 255,
  /** RFC 7440 section 3. */
  WINDOWSIZE_MIN: 1,
  WINDOWSIZE_MAX: 65535,
  /** Block numbers are 16 bits (RFC 1350 section 5); past 65535 they wrap to 0. */
  BLOCK_MODULO: 65536,
  /** A DATA packet's header: opcode + block number. */
  DATA_HEADER: 4,
} as const;

/**
 * Windows boot manager asks `msftwindow=31416` and expects the server to answer `27182`; from then on
 * every ACK carries one extra byte with the window size the client wants next (WDS "variable window").
 */
export const MSFT_WINDOW = {
  CLIENT_MAGIC: '31416',
  SERVER_MAGIC: '27182',
} as const;

export type TftpMode = string;

export interface TftpRequest {
  op: 'rrq' | 'wrq';
  filename: string;
  /** Lower case as sent (`octet`, `netascii`, `mail`, or anything a client invents). */
  mode: TftpMode;
  /** Lower-case option name -> value; the first occurrence of a repeated name wins. */
  options: Record<string, string>;
}
export interface TftpData { op: 'data'; block: number; data: Buffer }
export interface TftpAck {
  op: 'ack';
  block: number;
  /** The variable-window byte of a Microsoft client's ACK, when present. */
  windowHint?: number;
}
export interface TftpErrorPacket { op: 'error'; code: number; message: string }
export interface TftpOack { op: 'oack'; options: Record<string, string> }

export type TftpPacket = TftpRequest | TftpData | TftpAck | TftpErrorPacket | TftpOack;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Filenames are "netascii" on paper; real clients send UTF-8 or Latin-1. Keep every byte either way. */
function text(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** Splits `buf[from..]` into NUL-terminated strings. A missing final NUL is reported, not thrown. */
function cStrings(buf: Buffer, from: number): { parts: Buffer[]; terminated: boolean } {
  const parts: Buffer[] = [];
  let start = from;
  while (start < buf.length) {
    const nul = buf.indexOf(0, start);
    if (nul < 0) {
      parts.push(buf.subarray(start));
      return { parts, terminated: false };
    }
    parts.push(buf.subarray(start, nul));
    start = nul + 1;
  }
  return { parts, terminated: true };
}

/**
 * Options as name/value pairs. Empty trailing strings are padding some PXE ROMs add; a dangling name
 * without a value is ignored (RFC 2347 lets the server ignore options it does not understand).
 */
function optionPairs(parts: Buffer[], code: 'ERR_TFTP_BAD_OPTION'): Record<string, string> {
  // A Map first: a hostile option named "__proto__" must become data, never a prototype.
  const options = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const name = text(parts[i] as Buffer).toLowerCase();
    const value = text(parts[i + 1] as Buffer);
    if (name.length === 0) {
      if (value.length === 0) continue;
      throw new DecodeError(code, `option value "${value.slice(0, 32)}" has no name`);
    }
    if (!options.has(name)) options.set(name, value);
  }
  return Object.fromEntries(options);
}

function decodeRequest(buf: Buffer, op: 'rrq' | 'wrq'): TftpRequest {
  const { parts, terminated } = cStrings(buf, 2);
  if (parts.length < 2 || (parts.length === 2 && !terminated)) {
    throw new DecodeError('ERR_TFTP_BAD_STRING', `${op.toUpperCase()} needs a NUL-terminated filename and mode, found ${parts.length} string(s)`);
  }
  const options = optionPairs(terminated ? parts.slice(2) : parts.slice(2, -1), 'ERR_TFTP_BAD_OPTION');
  return { op, filename: text(parts[0] as Buffer), mode: text(parts[1] as Buffer).toLowerCase(), options };
}

/** Decodes one TFTP packet. Throws only DecodeError (ERR_TFTP_*). */
export function decodeTftp(buf: Buffer): TftpPacket {
  if (buf.length < 2) throw new DecodeError('ERR_TFTP_TRUNCATED', `packet of ${buf.length} byte(s) has no opcode`);
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case TFTP_OPCODE.RRQ:
      return decodeRequest(buf, 'rrq');
    case TFTP_OPCODE.WRQ:
      return decodeRequest(buf, 'wrq');
    case TFTP_OPCODE.DATA:
      if (buf.length < 4) throw new DecodeError('ERR_TFTP_TRUNCATED', `DATA of ${buf.length} bytes has no block number`);
      return { op: 'data', block: buf.readUInt16BE(2), data: buf.subarray(4) };
    case TFTP_OPCODE.ACK: {
      if (buf.length < 4) throw new DecodeError('ERR_TFTP_TRUNCATED', `ACK of ${buf.length} bytes has no block number`);
      const ack: TftpAck = { op: 'ack', block: buf.readUInt16BE(2) };
      // Microsoft variable window: the fifth byte is the next window size. Extra bytes beyond it are ignored.
      if (buf.length >= 5) ack.windowHint = buf[4] as number;
      return ack;
    }
    case TFTP_OPCODE.ERROR: {
      if (buf.length < 4) throw new DecodeError('ERR_TFTP_TRUNCATED', `ERROR of ${buf.length} bytes has no error code`);
      const end = buf.indexOf(0, 4);
      // A missing terminator is tolerated: the message is diagnostic only.
      return { op: 'error', code: buf.readUInt16BE(2), message: text(buf.subarray(4, end < 0 ? buf.length : end)) };
    }
    case TFTP_OPCODE.OACK: {
      const { parts, terminated } = cStrings(buf, 2);
      return { op: 'oack', options: optionPairs(terminated ? parts : parts.slice(0, -1), 'ERR_TFTP_BAD_OPTION') };
    }
    default:
      throw new DecodeError('ERR_TFTP_BAD_OPCODE', `unknown opcode ${opcode}`);
  }
}

function checkString(s: string, what: string): void {
  if (s.includes('\0')) throw new RangeError(`${what} must not contain NUL`);
}

/** Option names and values in wire order (name, value, name, value ...), each checked for NUL. */
function optionStrings(options: Record<string, string>): string[] {
  const strings: string[] = [];
  for (const [k, v] of Object.entries(options)) {
    checkString(k, 'option name');
    checkString(v, 'option value');
    strings.push(k, v);
  }
  return strings;
}

function optionsLength(options: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(options)) n += Buffer.byteLength(k) + 1 + Buffer.byteLength(v) + 1;
  return n;
}

/** Bytes `encodeTftp(p)` will produce. */
export function tftpEncodingLength(p: TftpPacket): number {
  switch (p.op) {
    case 'rrq':
    case 'wrq':
      return 2 + Buffer.byteLength(p.filename) + 1 + Buffer.byteLength(p.mode) + 1 + optionsLength(p.options);
    case 'data':
      return 4 + p.data.length;
    case 'ack':
      return p.windowHint === undefined ? 4 : 5;
    case 'error':
      return 4 + Buffer.byteLength(p.message) + 1;
    case 'oack':
      return 2 + optionsLength(p.options);
  }
}

function writeStrings(buf: Buffer, at: number, strings: string[]): number {
  let o = at;
  for (const s of strings) {
    o += buf.write(s, o);
    buf[o++] = 0;
  }
  return o;
}

function block16(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`block number ${n} is not 0-65535`);
  return n;
}

/** Encodes one packet. Throws RangeError for values the wire cannot carry (our bug, never the peer's). */
export function encodeTftp(p: TftpPacket): Buffer {
  const buf = Buffer.alloc(tftpEncodingLength(p));
  switch (p.op) {
    case 'rrq':
    case 'wrq': {
      checkString(p.filename, 'filename');
      checkString(p.mode, 'mode');
      buf.writeUInt16BE(p.op === 'rrq' ? TFTP_OPCODE.RRQ : TFTP_OPCODE.WRQ, 0);
      writeStrings(buf, 2, [p.filename, p.mode, ...optionStrings(p.options)]);
      return buf;
    }
    case 'data':
      buf.writeUInt16BE(TFTP_OPCODE.DATA, 0);
      buf.writeUInt16BE(block16(p.block), 2);
      p.data.copy(buf, 4);
      return buf;
    case 'ack':
      buf.writeUInt16BE(TFTP_OPCODE.ACK, 0);
      buf.writeUInt16BE(block16(p.block), 2);
      if (p.windowHint !== undefined) buf.writeUInt8(p.windowHint, 4);
      return buf;
    case 'error':
      checkString(p.message, 'error message');
      buf.writeUInt16BE(TFTP_OPCODE.ERROR, 0);
      buf.writeUInt16BE(block16(p.code), 2);
      writeStrings(buf, 4, [p.message]);
      return buf;
    case 'oack': {
      buf.writeUInt16BE(TFTP_OPCODE.OACK, 0);
      writeStrings(buf, 2, optionStrings(p.options));
      return buf;
    }
  }
}

/** Writes a DATA header (opcode + wire block number) into `buf` at `offset`: the hot path builds no objects. */
export function writeDataHeader(buf: Buffer, wireBlock: number, offset = 0): void {
  buf.writeUInt32BE(((TFTP_OPCODE.DATA << 16) | (wireBlock & 0xffff)) >>> 0, offset);
}

/** The 16-bit number a 1-based absolute block carries on the wire (wraps to 0 after 65535). */
export function wireBlock(absolute: number): number {
  return absolute % TFTP_LIMITS.BLOCK_MODULO;
}
