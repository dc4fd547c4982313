/**
 * SMBIOS GUIDs arrive in option 97 as 16 bytes. SMBIOS >= 2.6 stores the first three fields
 * little-endian and firmware sends them as stored, so QEMU's `-uuid 00112233-4455-6677-...` arrives as
 * `33 22 11 00 55 44 77 66 ...`; Windows tools show one reading, iPXE's ${uuid} the other.
 * We keep both and match an imported GUID against either.
 */

const HEX_GUID = /^[0-9a-f]{32}$/;

function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Reverses the byte order of the first three fields (4, 2, 2 bytes) of a 32-hex-digit GUID. */
function swapHex(hex: string): string {
  const rev = (s: string) => (s.match(/../g) ?? []).reverse().join('');
  return rev(hex.slice(0, 8)) + rev(hex.slice(8, 12)) + rev(hex.slice(12, 16)) + hex.slice(16);
}

/** Canonical lower-case dashed form of a GUID written with or without dashes or braces; null if it is not one. */
export function normalizeGuid(text: string): string | null {
  const hex = text.trim().replace(/^\{|\}$/g, '').replace(/-/g, '').toLowerCase();
  return HEX_GUID.test(hex) ? dashed(hex) : null;
}

/** The same GUID read in the other byte order. */
export function swapGuid(guid: string): string {
  return dashed(swapHex(guid.replace(/-/g, '')));
}

/** ASCII code of each hex digit. */
const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');
/** Byte order of each reading (SMBIOS fields 1-3 swapped or not). */
const WIRE_ORDER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const SWAPPED_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
/** Where each byte's two digits go in the 36-character dashed form. */
const TEXT_POS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
/** The dashed form is written here and read out as one string (one allocation, no concatenation). */
const scratch = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

function readGuid(bytes: Uint8Array, order: number[]): string {
  for (let k = 0; k < 16; k++) {
    const b = bytes[order[k]!]!;
    const at = TEXT_POS[k]!;
    scratch[at] = HEX_CODES[b >> 4]!;
    scratch[at + 1] = HEX_CODES[b & 15]!;
  }
  return scratch.toString('latin1');
}

/**
 * Both readings of 16 option-97 bytes: `wire` prints the bytes in the order received. Byte by byte, no
 * intermediate strings: it runs for every PXE packet.
 */
export function guidReadings(bytes: Uint8Array): { wire: string; swapped: string } | null {
  if (bytes.length !== 16) return null;
  return { wire: readGuid(bytes, WIRE_ORDER), swapped: readGuid(bytes, SWAPPED_ORDER) };
}

/** All-zero or all-FF bytes: what firmware sends when it has no GUID. */
export function isPlaceholderGuidBytes(bytes: Uint8Array): boolean {
  const first = bytes[0];
  if (first !== 0 && first !== 0xff) return false;
  for (let i = 1; i < bytes.length; i++) if (bytes[i] !== first) return false;
  return true;
}

/** All-zero and all-FF GUIDs are what firmware sends when it has none; they identify nothing. */
export function isPlaceholderGuid(guid: string): boolean {
  const hex = guid.replace(/-/g, '');
  return /^0+$/.test(hex) || /^f+$/i.test(hex);
}
