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

/** Both readings of 16 option-97 bytes: `wire` prints the bytes in the order received. */
export function guidReadings(bytes: Uint8Array): { wire: string; swapped: string } | null {
  if (bytes.length !== 16) return null;
  const hex = Buffer.from(bytes).toString('hex');
  return { wire: dashed(hex), swapped: dashed(swapHex(hex)) };
}

/** All-zero and all-FF GUIDs are what firmware sends when it has none; they identify nothing. */
export function isPlaceholderGuid(guid: string): boolean {
  const hex = guid.replace(/-/g, '');
  return /^0+$/.test(hex) || /^f+$/i.test(hex);
}
