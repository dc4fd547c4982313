/**
 * Encapsulated option blocks: option 43 for PXE clients (PXE 2.1 specification, "PXE Vendor Options")
 * and other TLV blocks with the same shape, such as iPXE's option 175. Sub-options are code(1) length(1)
 * value, PAD (0) is skipped, END (255) ends the block; a repeated code is concatenated as RFC 3396 does
 * for top-level options. Decoders throw only DecodeError('ERR_DHCP_BAD_OPTION').
 */
import { DecodeError } from '../errors.js';
import { DhcpOption, MAX_OPTION_INSTANCE, PxeVendorOption } from './constants.js';
import { formatIpv4, ipv4Bytes } from './ipv4.js';

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/**
 * Decodes a TLV block. `parent` is the enclosing option code, used in error messages only.
 * Values are views into `block`.
 */
export function decodeTlv(block: Uint8Array, parent: number): Map<number, Buffer> {
  const buf = asBuffer(block);
  const options = new Map<number, Buffer>();
  let i = 0;
  while (i < buf.length) {
    const code = buf[i]!;
    if (code === DhcpOption.PAD) {
      i += 1;
      continue;
    }
    if (code === DhcpOption.END) break;
    if (i + 1 >= buf.length) {
      throw new DecodeError('ERR_DHCP_BAD_OPTION', `option ${parent} sub-option ${code} has no length byte`);
    }
    const length = buf[i + 1]!;
    const remain = buf.length - i - 2;
    if (length > remain) {
      throw new DecodeError(
        'ERR_DHCP_BAD_OPTION',
        `option ${parent} sub-option ${code} claims ${length} bytes but only ${remain} remain`,
      );
    }
    const value = buf.subarray(i + 2, i + 2 + length);
    const before = options.get(code);
    options.set(code, before === undefined ? value : Buffer.concat([before, value]));
    i += 2 + length;
  }
  return options;
}

function checkCode(code: number): void {
  if (!Number.isInteger(code) || code <= DhcpOption.PAD || code >= DhcpOption.END) {
    throw new RangeError(`encodeTlv: sub-option code ${code} is not 1..254`);
  }
}

/** Bytes encodeTlv writes for `options` (instances of at most 255 bytes, END when asked). */
export function tlvEncodingLength(options: ReadonlyMap<number, Uint8Array>, end = true): number {
  let length = end ? 1 : 0;
  for (const [code, value] of options) {
    checkCode(code);
    length += Math.max(1, Math.ceil(value.length / MAX_OPTION_INSTANCE)) * 2 + value.length;
  }
  return length;
}

/** Encodes sub-options in map order; END is written unless `end` is false (the PXE spec ends option 43 with it). */
export function encodeTlv(options: ReadonlyMap<number, Uint8Array>, end = true): Buffer {
  const out = Buffer.alloc(tlvEncodingLength(options, end));
  let o = 0;
  for (const [code, value] of options) {
    let from = 0;
    do {
      const chunk = Math.min(MAX_OPTION_INSTANCE, value.length - from);
      out[o] = code;
      out[o + 1] = chunk;
      out.set(value.subarray(from, from + chunk), o + 2);
      o += 2 + chunk;
      from += chunk;
    } while (from < value.length);
  }
  if (end) out[o] = DhcpOption.END;
  return out;
}

/** Option 43 as raw sub-options (code -> bytes). */
export function decodeVendorOptions(block: Uint8Array): Map<number, Buffer> {
  return decodeTlv(block, DhcpOption.VENDOR_SPECIFIC);
}

/** Option 43 from raw sub-options, END-terminated. */
export function encodeVendorOptions(options: ReadonlyMap<number, Uint8Array>): Buffer {
  return encodeTlv(options, true);
}

/* ------------------------------------------------------- typed PXE sub-options */

export interface PxeBootServer {
  /** Boot server type (0 = PXE bootstrap server, 1-32767 vendor types). */
  type: number;
  addresses: string[];
}

export interface PxeMenuItem {
  /** Boot server type the item selects; 0 = boot from the local disk. */
  type: number;
  description: string;
}

export interface PxeOptions {
  discoveryControl: number | null;
  bootServers: PxeBootServer[] | null;
  bootMenu: PxeMenuItem[] | null;
  menuPrompt: { timeout: number; prompt: string } | null;
  bootItem: { type: number; layer: number } | null;
  /** Sub-options without a typed field above (MTFTP 1-5, vendor ones), raw. */
  other: Map<number, Buffer>;
}

function badLength(sub: number, length: number, expected: string): DecodeError {
  return new DecodeError('ERR_DHCP_BAD_OPTION', `option 43 sub-option ${sub} is ${length} bytes; expected ${expected}`);
}

/** Sub-option 8: repeated { type(2), count(1), count x IPv4 }. */
function parseBootServers(v: Buffer): PxeBootServer[] {
  const servers: PxeBootServer[] = [];
  let i = 0;
  while (i < v.length) {
    if (i + 3 > v.length) throw badLength(PxeVendorOption.BOOT_SERVERS, v.length, 'type(2) count(1) entries');
    const type = v.readUInt16BE(i);
    const count = v[i + 2]!;
    i += 3;
    if (i + count * 4 > v.length) {
      throw new DecodeError(
        'ERR_DHCP_BAD_OPTION',
        `option 43 sub-option 8 server type ${type} claims ${count} addresses but only ${v.length - i} bytes remain`,
      );
    }
    const addresses: string[] = [];
    for (let k = 0; k < count; k += 1, i += 4) addresses.push(formatIpv4(v, i));
    servers.push({ type, addresses });
  }
  return servers;
}

/** Sub-option 9: repeated { type(2), length(1), description }. */
function parseBootMenu(v: Buffer): PxeMenuItem[] {
  const items: PxeMenuItem[] = [];
  let i = 0;
  while (i < v.length) {
    if (i + 3 > v.length) throw badLength(PxeVendorOption.BOOT_MENU, v.length, 'type(2) length(1) entries');
    const type = v.readUInt16BE(i);
    const length = v[i + 2]!;
    i += 3;
    if (i + length > v.length) {
      throw new DecodeError(
        'ERR_DHCP_BAD_OPTION',
        `option 43 sub-option 9 item type ${type} claims ${length} bytes but only ${v.length - i} remain`,
      );
    }
    items.push({ type, description: v.toString('latin1', i, i + length) });
    i += length;
  }
  return items;
}

/** Option 43 of a PXE client or server, with the PXE 2.1 sub-options typed. */
export function decodePxeOptions(block: Uint8Array): PxeOptions {
  const raw = decodeVendorOptions(block);
  const result: PxeOptions = {
    discoveryControl: null,
    bootServers: null,
    bootMenu: null,
    menuPrompt: null,
    bootItem: null,
    other: new Map(),
  };
  for (const [code, v] of raw) {
    switch (code) {
      case PxeVendorOption.DISCOVERY_CONTROL:
        if (v.length !== 1) throw badLength(code, v.length, '1');
        result.discoveryControl = v[0]!;
        break;
      case PxeVendorOption.BOOT_SERVERS:
        result.bootServers = parseBootServers(v);
        break;
      case PxeVendorOption.BOOT_MENU:
        result.bootMenu = parseBootMenu(v);
        break;
      case PxeVendorOption.MENU_PROMPT:
        if (v.length < 1) throw badLength(code, v.length, 'at least 1');
        result.menuPrompt = { timeout: v[0]!, prompt: v.toString('latin1', 1) };
        break;
      case PxeVendorOption.BOOT_ITEM:
        if (v.length !== 4) throw badLength(code, v.length, '4');
        result.bootItem = { type: v.readUInt16BE(0), layer: v.readUInt16BE(2) };
        break;
      default:
        result.other.set(code, v);
    }
  }
  return result;
}

function latin1Bytes(text: string, what: string, max: number): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length > max || bytes.toString('latin1') !== text) {
    throw new RangeError(`encodePxeOptions: ${what} must be latin1 text of at most ${max} bytes`);
  }
  return bytes;
}

function uint16(value: number, what: string): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`encodePxeOptions: ${what} is ${value}; expected 0..65535`);
  }
  const out = Buffer.allocUnsafe(2);
  out.writeUInt16BE(value, 0);
  return out;
}

/** The typed sub-options as raw values, in PXE spec order (6, 8, 9, 10, 71), then `other`. */
function pxeSubOptions(o: PxeOptions): Map<number, Buffer> {
  const raw = new Map<number, Buffer>();
  if (o.discoveryControl !== null) {
    if (!Number.isInteger(o.discoveryControl) || o.discoveryControl < 0 || o.discoveryControl > 0xff) {
      throw new RangeError(`encodePxeOptions: discoveryControl is ${o.discoveryControl}; expected 0..255`);
    }
    raw.set(PxeVendorOption.DISCOVERY_CONTROL, Buffer.from([o.discoveryControl]));
  }
  if (o.bootServers !== null) {
    const parts = o.bootServers.flatMap((s) => {
      if (s.addresses.length > 255) throw new RangeError('encodePxeOptions: a boot server type has over 255 addresses');
      return [uint16(s.type, 'boot server type'), Buffer.from([s.addresses.length]), ...s.addresses.map(ipv4Bytes)];
    });
    raw.set(PxeVendorOption.BOOT_SERVERS, Buffer.concat(parts));
  }
  if (o.bootMenu !== null) {
    const parts = o.bootMenu.flatMap((item) => {
      const text = latin1Bytes(item.description, 'a menu description', 255);
      return [uint16(item.type, 'menu item type'), Buffer.from([text.length]), text];
    });
    raw.set(PxeVendorOption.BOOT_MENU, Buffer.concat(parts));
  }
  if (o.menuPrompt !== null) {
    const { timeout, prompt } = o.menuPrompt;
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 0xff) {
      throw new RangeError(`encodePxeOptions: menu prompt timeout is ${timeout}; expected 0..255`);
    }
    raw.set(PxeVendorOption.MENU_PROMPT, Buffer.concat([Buffer.from([timeout]), latin1Bytes(prompt, 'the prompt', 254)]));
  }
  if (o.bootItem !== null) {
    raw.set(PxeVendorOption.BOOT_ITEM, Buffer.concat([uint16(o.bootItem.type, 'boot item type'), uint16(o.bootItem.layer, 'boot item layer')]));
  }
  for (const [code, value] of o.other) {
    if (!raw.has(code)) raw.set(code, value);
  }
  return raw;
}

/** Option 43 from typed PXE sub-options, END-terminated. Throws RangeError for values that do not fit. */
export function encodePxeOptions(o: PxeOptions): Buffer {
  return encodeVendorOptions(pxeSubOptions(o));
}
