/** Dotted-quad helpers shared by the DHCP codec and the pcap reader. Pure, no Buffer reads past `off + 3`. */

/** Formats the four bytes at `off` (the caller has checked `off + 4 <= buf.length`). */
export function formatIpv4(buf: Uint8Array, off: number): string {
  const a = buf[off]!, b = buf[off + 1]!, c = buf[off + 2]!, d = buf[off + 3]!;
  // Most BOOTP address fields of a request are empty: one shared string instead of a new one each time.
  if ((a | b | c | d) === 0) return ZERO_ADDRESS;
  return `${a}.${b}.${c}.${d}`;
}

const ZERO_ADDRESS = '0.0.0.0';

/**
 * Parses a strict dotted quad (`10.0.0.1`; no leading zeros, no spaces, no sign) to an unsigned 32-bit
 * number, or null. Character by character: it runs for every address of every reply encoded.
 */
export function parseIpv4(text: string): number | null {
  let value = 0;
  let octets = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = i;
    let octet = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i += 1;
    }
    const digits = i - start;
    // Leading zeros are rejected because some parsers read them as octal: "010" is ambiguous.
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && text.charCodeAt(start) === 48)) return null;
    value = value * 256 + octet;
    octets += 1;
    if (i === n) break;
    if (text.charCodeAt(i) !== 46 || octets === 4) return null;
    i += 1;
    if (i === n) return null;
  }
  return octets === 4 ? value : null;
}

/** The four network-order bytes of a dotted quad, e.g. for option 54; throws RangeError on a malformed address. */
export function ipv4Bytes(text: string): Buffer {
  const value = parseIpv4(text);
  if (value === null) throw new RangeError(`"${text}" is not a dotted-quad IPv4 address`);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value, 0);
  return out;
}
