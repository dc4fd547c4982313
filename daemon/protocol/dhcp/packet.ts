/**
 * DHCP/BOOTP message codec (RFC 951, RFC 2131, RFC 2132, RFC 3396).
 *
 * decodeDhcp() reads hostile bytes: every read is bounds-checked against the packet, every loop advances,
 * and the only thing it throws is a DecodeError with a code. Option values and `chaddr` are views into
 * the input (no copy); copy them with Buffer.from() before keeping one past the life of a reused buffer.
 */
import { DecodeError } from '../errors.js';
import {
  BootpLayout,
  BootpOp,
  DHCP_MAGIC_COOKIE,
  DhcpOption,
  DhcpOverload,
  MAX_OPTION_INSTANCE,
} from './constants.js';
import { formatIpv4, parseIpv4 } from './ipv4.js';
import type { DhcpPacket } from './message.js';

export type { DhcpPacket } from './message.js';

type OptionArea = 'options' | 'file' | 'sname';

/** Collects option instances; the multi-instance map is only allocated when a code repeats. */
class OptionCollector {
  readonly options = new Map<number, Buffer>();
  private repeated: Map<number, Buffer[]> | null = null;

  add(code: number, value: Buffer): void {
    const first = this.options.get(code);
    if (first === undefined) {
      this.options.set(code, value);
      return;
    }
    this.repeated ??= new Map();
    const parts = this.repeated.get(code);
    if (parts === undefined) this.repeated.set(code, [first, value]);
    else parts.push(value);
  }

  /** The current (concatenated) value of one code. */
  value(code: number): Buffer | undefined {
    const parts = this.repeated?.get(code);
    return parts === undefined ? this.options.get(code) : Buffer.concat(parts);
  }

  /** Replaces each repeated code's first instance with the concatenation; Map.set keeps the key's position. */
  finish(): Map<number, Buffer> {
    if (this.repeated !== null) {
      for (const [code, parts] of this.repeated) this.options.set(code, Buffer.concat(parts));
    }
    return this.options;
  }
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/**
 * Walks one option area [start, end). PAD is skipped, END stops the area, a missing END is fine when the
 * area ends (many ROMs omit it). Inside `file`/`sname`, option 52 is ignored: RFC 2131 section 4.1 says it
 * appears only in `options`, and honouring it there would let a packet overload itself in a loop.
 */
function readOptionArea(buf: Buffer, start: number, end: number, area: OptionArea, into: OptionCollector): void {
  const where = area === 'options' ? '' : ` in the ${area} field`;
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === DhcpOption.PAD) {
      i += 1;
      continue;
    }
    if (code === DhcpOption.END) return;
    if (i + 1 >= end) {
      throw new DecodeError('ERR_DHCP_TRUNCATED', `option ${code} has no length byte${where}`);
    }
    const length = buf[i + 1]!;
    const valueStart = i + 2;
    const remain = end - valueStart;
    if (length > remain) {
      throw new DecodeError('ERR_DHCP_TRUNCATED', `option ${code} claims ${length} bytes but only ${remain} remain${where}`);
    }
    if (area === 'options' || code !== DhcpOption.OVERLOAD) {
      into.add(code, buf.subarray(valueStart, valueStart + length));
    }
    i = valueStart + length;
  }
}

/** Option 52's value, or 0 when absent; RFC 2132 section 9.3 allows only 1, 2, 3 in one byte. */
function overloadOf(collector: OptionCollector): number {
  const value = collector.value(DhcpOption.OVERLOAD);
  if (value === undefined) return 0;
  if (value.length !== 1) {
    throw new DecodeError('ERR_DHCP_BAD_OVERLOAD', `option 52 is ${value.length} bytes; expected 1`);
  }
  const overload = value[0]!;
  if (overload < DhcpOverload.FILE || overload > DhcpOverload.BOTH) {
    throw new DecodeError('ERR_DHCP_BAD_OVERLOAD', `option 52 has value ${overload}; expected 1, 2 or 3`);
  }
  return overload;
}

/** latin1 text of a fixed field up to its first NUL: byte-for-byte, so encode(decode(x)) keeps the bytes. */
function fieldText(buf: Buffer, start: number, length: number): string {
  let end = start;
  const limit = start + length;
  while (end < limit && buf[end] !== 0) end += 1;
  return buf.toString('latin1', start, end);
}

export function decodeDhcp(input: Uint8Array): DhcpPacket {
  const buf = asBuffer(input);
  if (buf.length < BootpLayout.OPTIONS) {
    throw new DecodeError(
      'ERR_DHCP_TRUNCATED',
      `packet is ${buf.length} bytes; the BOOTP header and magic cookie need ${BootpLayout.OPTIONS}`,
    );
  }
  const op = buf[BootpLayout.OP]!;
  if (op !== BootpOp.REQUEST && op !== BootpOp.REPLY) {
    throw new DecodeError('ERR_DHCP_NOT_BOOTP', `op is ${op}; expected 1 (BOOTREQUEST) or 2 (BOOTREPLY)`);
  }
  const cookie = buf.readUInt32BE(BootpLayout.COOKIE);
  if (cookie !== DHCP_MAGIC_COOKIE) {
    throw new DecodeError('ERR_DHCP_BAD_MAGIC', `magic cookie is 0x${cookie.toString(16).padStart(8, '0')}; expected 0x63825363`);
  }

  const collector = new OptionCollector();
  readOptionArea(buf, BootpLayout.OPTIONS, buf.length, 'options', collector);
  const overload = overloadOf(collector);
  // RFC 2131 section 4.1: after `options`, read `file` and then `sname` when option 52 says so.
  const fileIsOptions = (overload & DhcpOverload.FILE) !== 0;
  const snameIsOptions = (overload & DhcpOverload.SNAME) !== 0;
  if (fileIsOptions) {
    readOptionArea(buf, BootpLayout.FILE, BootpLayout.FILE + BootpLayout.FILE_LENGTH, 'file', collector);
  }
  if (snameIsOptions) {
    readOptionArea(buf, BootpLayout.SNAME, BootpLayout.SNAME + BootpLayout.SNAME_LENGTH, 'sname', collector);
  }

  return {
    op,
    htype: buf[BootpLayout.HTYPE]!,
    hlen: buf[BootpLayout.HLEN]!,
    hops: buf[BootpLayout.HOPS]!,
    xid: buf.readUInt32BE(BootpLayout.XID),
    secs: buf.readUInt16BE(BootpLayout.SECS),
    flags: buf.readUInt16BE(BootpLayout.FLAGS),
    ciaddr: formatIpv4(buf, BootpLayout.CIADDR),
    yiaddr: formatIpv4(buf, BootpLayout.YIADDR),
    siaddr: formatIpv4(buf, BootpLayout.SIADDR),
    giaddr: formatIpv4(buf, BootpLayout.GIADDR),
    chaddr: buf.subarray(BootpLayout.CHADDR, BootpLayout.CHADDR + BootpLayout.CHADDR_LENGTH),
    sname: snameIsOptions ? '' : fieldText(buf, BootpLayout.SNAME, BootpLayout.SNAME_LENGTH),
    file: fileIsOptions ? '' : fieldText(buf, BootpLayout.FILE, BootpLayout.FILE_LENGTH),
    options: collector.finish(),
  };
}

/* ---------------------------------------------------------------- encoding */

/** Bytes one option takes on the wire: RFC 3396 section 6 splits values over 255 bytes into instances. */
function optionWireLength(value: Uint8Array): number {
  const instances = Math.max(1, Math.ceil(value.length / MAX_OPTION_INSTANCE));
  return instances * 2 + value.length;
}

/**
 * Option 52 is never written: encodeDhcp writes `sname` and `file` as plain fields and every option in
 * the options area, so a copied 52 would make the client parse a file name as options.
 */
function isWritten(code: number): boolean {
  if (!Number.isInteger(code) || code <= DhcpOption.PAD || code >= DhcpOption.END) {
    throw new RangeError(`encodeDhcp: option code ${code} is not 1..254 (0 is PAD, 255 is END)`);
  }
  return code !== DhcpOption.OVERLOAD;
}

export function encodingLength(p: DhcpPacket): number {
  let length = BootpLayout.OPTIONS + 1; // header, cookie, END
  for (const [code, value] of p.options) {
    if (isWritten(code)) length += optionWireLength(value);
  }
  return Math.max(length, BootpLayout.MIN_PACKET);
}

function checkUint(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`encodeDhcp: ${name} is ${value}; expected an integer 0..${max}`);
  }
  return value;
}

function writeIpv4(out: Buffer, off: number, name: string, text: string): void {
  if (text === '0.0.0.0') return; // the field is zero already
  const value = parseIpv4(text);
  if (value === null) throw new RangeError(`encodeDhcp: ${name} "${text}" is not a dotted-quad IPv4 address`);
  out.writeUInt32BE(value, off);
}

/** Writes latin1 text into a zero-filled fixed field; a full field without NUL is what decode accepts too. */
function writeField(out: Buffer, off: number, size: number, name: string, text: string): void {
  if (text.length > size) throw new RangeError(`encodeDhcp: ${name} is ${text.length} bytes; the field holds ${size}`);
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0 || c > 0xff) {
      throw new RangeError(`encodeDhcp: ${name} has character code ${c} at ${i}; only latin1 without NUL fits`);
    }
  }
  out.write(text, off, 'latin1');
}

function writeOption(out: Buffer, off: number, code: number, value: Uint8Array): number {
  if (value.length <= MAX_OPTION_INSTANCE) {
    // The usual case, without a subarray (a view object) per option.
    out[off] = code;
    out[off + 1] = value.length;
    out.set(value, off + 2);
    return off + 2 + value.length;
  }
  let o = off;
  let from = 0;
  do {
    const chunk = Math.min(MAX_OPTION_INSTANCE, value.length - from);
    out[o] = code;
    out[o + 1] = chunk;
    out.set(value.subarray(from, from + chunk), o + 2);
    o += 2 + chunk;
    from += chunk;
  } while (from < value.length);
  return o;
}

/**
 * Encodes a message: options in map order (long values split per RFC 3396), END, zero padding up to
 * 300 bytes. Throws RangeError for a packet that cannot be represented (programming error, not input).
 */
export function encodeDhcp(p: DhcpPacket): Buffer {
  // From Node's shared pool (one allocation per 8 KiB of replies, not one per reply), zeroed here.
  const out = Buffer.allocUnsafe(encodingLength(p)).fill(0);
  out[BootpLayout.OP] = checkUint('op', p.op, 0xff);
  out[BootpLayout.HTYPE] = checkUint('htype', p.htype, 0xff);
  out[BootpLayout.HLEN] = checkUint('hlen', p.hlen, 0xff);
  out[BootpLayout.HOPS] = checkUint('hops', p.hops, 0xff);
  out.writeUInt32BE(checkUint('xid', p.xid, 0xffffffff), BootpLayout.XID);
  out.writeUInt16BE(checkUint('secs', p.secs, 0xffff), BootpLayout.SECS);
  out.writeUInt16BE(checkUint('flags', p.flags, 0xffff), BootpLayout.FLAGS);
  writeIpv4(out, BootpLayout.CIADDR, 'ciaddr', p.ciaddr);
  writeIpv4(out, BootpLayout.YIADDR, 'yiaddr', p.yiaddr);
  writeIpv4(out, BootpLayout.SIADDR, 'siaddr', p.siaddr);
  writeIpv4(out, BootpLayout.GIADDR, 'giaddr', p.giaddr);
  if (p.chaddr.length !== BootpLayout.CHADDR_LENGTH) {
    throw new RangeError(`encodeDhcp: chaddr is ${p.chaddr.length} bytes; expected 16 (see chaddrFromMac)`);
  }
  out.set(p.chaddr, BootpLayout.CHADDR);
  writeField(out, BootpLayout.SNAME, BootpLayout.SNAME_LENGTH, 'sname', p.sname);
  writeField(out, BootpLayout.FILE, BootpLayout.FILE_LENGTH, 'file', p.file);
  out.writeUInt32BE(DHCP_MAGIC_COOKIE, BootpLayout.COOKIE);
  let o: number = BootpLayout.OPTIONS;
  for (const [code, value] of p.options) {
    if (isWritten(code)) o = writeOption(out, o, code, value);
  }
  out[o] = DhcpOption.END;
  return out;
}

export {
  chaddrFromMac,
  macOf,
  messageType,
  optionIpv4,
  optionString,
  optionUint16,
  optionUint16List,
  optionUint32,
  optionUint8,
} from './accessors.js';
