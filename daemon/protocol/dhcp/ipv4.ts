/** Dotted-quad helpers shared by the DHCP codec and the pcap reader. Pure, no Buffer reads past `off + 3`. */

/** Formats the four bytes at `off` (the caller has checked `off + 4 <= buf.length`). */
export function formatIpv4(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** Parses a strict dotted quad (`10.0.0.1`; no leading zeros, no spaces) to an unsigned 32-bit number, or null. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    // Leading zeros are rejected because some parsers read them as octal: "010" is ambiguous.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

/** The four network-order bytes of a dotted quad, e.g. for option 54; throws RangeError on a malformed address. */
export function ipv4Bytes(text: string): Buffer {
  const value = parseIpv4(text);
  if (value === null) throw new RangeError(`"${text}" is not a dotted-quad IPv4 address`);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value, 0);
  return out;
}
