/**
 * How the policy recognises a machine: MAC addresses (exact, or an OUI/vendor prefix in allow and deny
 * lists) and SMBIOS GUIDs (both byte orders, see guid.ts). Pure: text in, canonical text out.
 */
import { normalizeGuid, swapGuid } from './guid.js';
import type { ListConfig } from '../config/schema.js';

const HEX = /^[0-9a-f]+$/;

/**
 * Splits a written MAC or MAC prefix into lower-case octets. Accepts the forms admins paste:
 * `52:54:00:AB:CD:EF`, `52-54-00-ab-cd-ef` (Windows), `5254.00ab.cdef` (Cisco), `525400abcdef`.
 */
function octets(text: string): string[] | null {
  const t = text.trim().toLowerCase();
  let hex: string;
  if (/^[0-9a-f]{2}([:-][0-9a-f]{2})*$/.test(t)) hex = t.replace(/[:-]/g, '');
  else if (/^[0-9a-f]{4}(\.[0-9a-f]{4})+$/.test(t)) hex = t.replace(/\./g, '');
  else if (HEX.test(t) && t.length % 2 === 0) hex = t;
  else return null;
  return hex.match(/../g) ?? null;
}

/** Canonical `52:54:00:ab:cd:ef` form of a MAC address, or null when the text is not one. */
export function normalizeMac(text: string): string | null {
  const o = octets(text);
  return o && o.length === 6 ? o.join(':') : null;
}

/** Canonical form of a MAC or a 3 to 5 octet prefix (an OUI is 3), or null. */
export function normalizeMacPattern(text: string): string | null {
  const o = octets(text);
  return o && o.length >= 3 && o.length <= 6 ? o.join(':') : null;
}

/** The all-zero and broadcast MACs identify no machine; never import or record them. */
export function isPlaceholderMac(mac: string): boolean {
  return mac === '00:00:00:00:00:00' || mac === 'ff:ff:ff:ff:ff:ff';
}

export { normalizeGuid, swapGuid };

/** An allow or deny list compiled for constant-time lookups on the DHCP path. */
export interface CompiledList {
  /** True when the list has no entry at all (an empty allow list admits everyone). */
  empty: boolean;
  macs: ReadonlySet<string>;
  /** Prefixes by octet count (3, 4, 5): a MAC matches when its first n octets are in the set. */
  prefixes: ReadonlyMap<number, ReadonlySet<string>>;
  /** GUIDs in both byte orders, so one set lookup per client reading suffices. */
  guids: ReadonlySet<string>;
}

/**
 * Compiles a config list. Entries were validated by the config schema's pattern already; an entry that
 * still does not parse (e.g. 2 octets) is skipped rather than matching everything.
 */
export function compileList(list: ListConfig): CompiledList {
  const macs = new Set<string>();
  const prefixes = new Map<number, Set<string>>();
  for (const entry of list.macs) {
    const p = normalizeMacPattern(entry);
    if (p === null) continue;
    const n = p.split(':').length;
    if (n === 6) { macs.add(p); continue; }
    let set = prefixes.get(n);
    if (!set) prefixes.set(n, (set = new Set()));
    set.add(p);
  }
  const guids = new Set<string>();
  for (const entry of list.guids) {
    const g = normalizeGuid(entry);
    if (g === null) continue;
    guids.add(g);
    guids.add(swapGuid(g));
  }
  return { empty: macs.size === 0 && prefixes.size === 0 && guids.size === 0, macs, prefixes, guids };
}

export function listHasMac(list: CompiledList, mac: string): boolean {
  if (list.macs.has(mac)) return true;
  for (const [n, set] of list.prefixes) {
    // "aa:bb:cc" is 3 * 3 - 1 characters of the canonical form.
    if (set.has(mac.slice(0, n * 3 - 1))) return true;
  }
  return false;
}

export function listHasGuid(list: CompiledList, guid: string | null): boolean {
  return guid !== null && list.guids.has(guid);
}
