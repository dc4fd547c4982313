/**
 * What kind of client sent a DHCP packet: MAC, architecture, SMBIOS GUID, iPXE or UEFI HTTP boot.
 * Pure: a function of the decoded packet.
 */
import { DhcpOption } from '../protocol/dhcp/constants.js';
import { macOf, type DhcpPacket } from '../protocol/dhcp/packet.js';
import { ARCH_TABLE, archFromVendorClass } from './arch.js';
import { guidReadings, isPlaceholderGuidBytes } from './guid.js';
import type { ClientInfo, Door } from './types.js';

const IPXE = Buffer.from('iPXE');

/**
 * iPXE sends option 77 as the raw bytes "iPXE" (not RFC 3004's length-prefixed list, though we accept
 * that too) and option 175 with its feature flags.
 */
function isIpxe(p: DhcpPacket): boolean {
  if (p.options.has(DhcpOption.IPXE_ENCAP)) return true;
  const uc = p.options.get(DhcpOption.USER_CLASS);
  if (!uc) return false;
  if (uc.equals(IPXE)) return true;
  // RFC 3004: a list of (length, bytes) instances.
  for (let i = 0; i < uc.length; ) {
    const len = uc[i] ?? 0;
    if (len === IPXE.length && uc.subarray(i + 1, i + 1 + len).equals(IPXE)) return true;
    i += 1 + len;
  }
  return false;
}

function archCode(p: DhcpPacket, vendorClass: string): number | null {
  const o93 = p.options.get(DhcpOption.CLIENT_SYSTEM_ARCH);
  if (o93 && o93.length >= 2) return o93.readUInt16BE(0);
  return archFromVendorClass(vendorClass);
}

/** Option 97: type 0 followed by 16 GUID bytes (PXE 2.1; RFC 4578 section 2.5). */
function guids(p: DhcpPacket): { guid: string | null; guidSwapped: string | null } {
  const o97 = p.options.get(DhcpOption.CLIENT_MACHINE_ID);
  if (!o97 || o97.length !== 17 || o97[0] !== 0) return { guid: null, guidSwapped: null };
  const bytes = o97.subarray(1);
  const r = isPlaceholderGuidBytes(bytes) ? null : guidReadings(bytes);
  if (!r) return { guid: null, guidSwapped: null };
  return { guid: r.wire, guidSwapped: r.swapped };
}

export function classify(p: DhcpPacket, door: Door, sourceIp: string | null = null): ClientInfo {
  const vendorClass = p.options.get(DhcpOption.VENDOR_CLASS_ID)?.toString('latin1') ?? '';
  const code = archCode(p, vendorClass);
  const entry = code === null ? undefined : ARCH_TABLE.get(code);
  const ip = p.ciaddr !== '0.0.0.0' ? p.ciaddr : sourceIp && sourceIp !== '0.0.0.0' ? sourceIp : null;
  const g = guids(p);
  return {
    mac: macOf(p),
    archCode: code,
    arch: entry?.arch ?? null,
    httpBoot: vendorClass.startsWith('HTTPClient') || (entry?.http ?? false),
    ipxe: isIpxe(p),
    guid: g.guid,
    guidSwapped: g.guidSwapped,
    vendorClass,
    ip,
    door,
  };
}
