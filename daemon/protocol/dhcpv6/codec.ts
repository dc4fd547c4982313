/**
 * The parts of DHCPv6 (RFC 8415) Bootgate reads, never answers: a client's message header, its client
 * identifier (DUID, RFC 8415 section 11, DUID-UUID RFC 6355) and its PXE options (client architecture,
 * RFC 5970). Firmware that refused an unsigned boot program tries PXE over IPv6 next, so a Solicit
 * from a machine is the earliest sign that it fell through. Pure and bounded: every failure is a
 * DecodeError, never an out-of-bounds read; hostile packets cost one pass over at most MAX_OPTIONS options.
 */
import { DecodeError } from '../errors.js';

/** Message types a client sends (RFC 8415 section 7.3); the others are dropped. */
export const Dhcpv6Type = {
  SOLICIT: 1,
  REQUEST: 3,
  CONFIRM: 4,
  RENEW: 5,
  REBIND: 6,
  RELEASE: 8,
  DECLINE: 9,
  INFORMATION_REQUEST: 11,
} as const;

const CLIENT_TYPES: ReadonlySet<number> = new Set(Object.values(Dhcpv6Type));

export const Dhcpv6Option = {
  CLIENTID: 1,
  USER_CLASS: 15,
  VENDOR_CLASS: 16,
  CLIENT_ARCH_TYPE: 61,
} as const;

/** More options than any client sends: a packet claiming more is not read further. */
export const MAX_OPTIONS = 64;
/** DUIDs are at most 128 bytes after their 2-byte type (RFC 8415 section 11.1). */
const DUID_MAX = 130;

export interface Dhcpv6Message {
  type: number;
  /** The 24-bit transaction id. */
  xid: number;
  /** The client identifier option's DUID (copied), or null when absent. */
  duid: Uint8Array | null;
  /** RFC 5970 client architecture types (7 = EFI x64 PXE, 16 = EFI x64 HTTP). */
  archTypes: number[];
  /** The user class option's entries as latin1 text (iPXE sends "iPXE"). */
  userClasses: string[];
}

/** Decodes a client's message; throws DecodeError for anything else. */
export function decodeDhcpv6(buf: Uint8Array): Dhcpv6Message {
  if (buf.length < 4) throw new DecodeError('ERR_DHCPV6_TRUNCATED', `${buf.length} bytes: shorter than a DHCPv6 header`);
  const type = buf[0]!;
  if (!CLIENT_TYPES.has(type)) throw new DecodeError('ERR_DHCPV6_NOT_CLIENT', `message type ${type} is not one a client sends`);
  const xid = (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!;
  let duid: Uint8Array | null = null;
  let archTypes: number[] = [];
  let userClasses: string[] = [];
  let at = 4;
  let count = 0;
  while (at < buf.length) {
    if (++count > MAX_OPTIONS) throw new DecodeError('ERR_DHCPV6_BAD_OPTION', `more than ${MAX_OPTIONS} options`);
    if (buf.length - at < 4) throw new DecodeError('ERR_DHCPV6_TRUNCATED', `option header at ${at} cut short`);
    const code = (buf[at]! << 8) | buf[at + 1]!;
    const len = (buf[at + 2]! << 8) | buf[at + 3]!;
    const start = at + 4;
    if (len > buf.length - start) throw new DecodeError('ERR_DHCPV6_TRUNCATED', `option ${code} claims ${len} bytes but only ${buf.length - start} remain`);
    const data = buf.subarray(start, start + len);
    if (code === Dhcpv6Option.CLIENTID) {
      if (duid !== null) throw new DecodeError('ERR_DHCPV6_BAD_OPTION', 'two client identifiers');
      if (len < 2 || len > DUID_MAX) throw new DecodeError('ERR_DHCPV6_BAD_OPTION', `client identifier of ${len} bytes`);
      duid = Uint8Array.from(data);
    } else if (code === Dhcpv6Option.CLIENT_ARCH_TYPE) {
      if (len === 0 || len % 2 !== 0) throw new DecodeError('ERR_DHCPV6_BAD_OPTION', `client architecture of ${len} bytes`);
      archTypes = [];
      for (let k = 0; k < len; k += 2) archTypes.push((data[k]! << 8) | data[k + 1]!);
    } else if (code === Dhcpv6Option.USER_CLASS) {
      userClasses = userClassEntries(data);
    }
    at = start + len;
  }
  return { type, xid, duid, archTypes, userClasses };
}

/** RFC 8415 section 21.15: entries of a 2-byte length and that many bytes. */
function userClassEntries(data: Uint8Array): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < 2) throw new DecodeError('ERR_DHCPV6_BAD_OPTION', 'user class entry length cut short');
    const n = (data[at]! << 8) | data[at + 1]!;
    if (n > data.length - at - 2) throw new DecodeError('ERR_DHCPV6_BAD_OPTION', `user class entry claims ${n} bytes`);
    out.push(Buffer.from(data.subarray(at + 2, at + 2 + n)).toString('latin1'));
    at += 2 + n;
  }
  return out;
}

/** What a DUID says about the machine: its SMBIOS UUID bytes (DUID-UUID) or its MAC (DUID-LL/LLT on Ethernet). */
export type DuidIdentity =
  | { kind: 'uuid'; bytes: Uint8Array }
  | { kind: 'mac'; mac: string }
  | { kind: 'other' };

const DUID_LLT = 1;
const DUID_LL = 3;
const DUID_UUID = 4;
const HW_ETHERNET = 1;

function macText(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function duidIdentity(duid: Uint8Array): DuidIdentity {
  if (duid.length < 2) return { kind: 'other' };
  const type = (duid[0]! << 8) | duid[1]!;
  if (type === DUID_UUID && duid.length === 18) return { kind: 'uuid', bytes: duid.subarray(2) };
  if (type === DUID_LL && duid.length === 10 && ((duid[2]! << 8) | duid[3]!) === HW_ETHERNET) return { kind: 'mac', mac: macText(duid.subarray(4)) };
  if (type === DUID_LLT && duid.length === 14 && ((duid[2]! << 8) | duid[3]!) === HW_ETHERNET) return { kind: 'mac', mac: macText(duid.subarray(8)) };
  return { kind: 'other' };
}

/**
 * The MAC inside a modified EUI-64 link-local address (fe80::XXYY:ZZff:feUU:VVWW, RFC 4291 appendix A),
 * or null for any other address (privacy or stable-opaque addresses carry no MAC).
 */
export function macOfLinkLocal(address: string): string | null {
  const ip = address.split('%')[0]!.toLowerCase();
  if (!/^fe80:/.test(ip) || ip.includes('.')) return null;
  const halves = ip.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const w = groups.slice(4).map((g) => parseInt(g, 16));
  if (((w[1]! & 0xff) !== 0xff) || ((w[2]! >> 8) !== 0xfe)) return null;
  const bytes = [(w[0]! >> 8) ^ 0x02, w[0]! & 0xff, w[1]! >> 8, w[2]! & 0xff, w[3]! >> 8, w[3]! & 0xff];
  return macText(Uint8Array.from(bytes));
}
