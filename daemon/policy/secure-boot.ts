/**
 * UEFI Secure Boot: which machines get a profile's signed chain (`secureBootFiles`), and the rule that
 * notices a firmware refusing an unsigned boot program. Pure: functions of data and an injected time.
 *
 * What firmware does when Secure Boot refuses a program it fetched (measured with OVMF): it prints
 * "Access Denied" a few seconds after the transfer, tries PXE over IPv6, then UEFI HTTP boot over IPv4
 * (a DISCOVER with `HTTPClient:Arch:00016`), then gives up; it never sends another PXEClient DISCOVER in
 * the same power cycle, and after a reset the PXE DISCOVER comes back. A program that did run asks for
 * what it fetches next (iPXE: a DHCP request with user class iPXE, then its script; Windows boot
 * manager: its BCD). So: a machine that fetched an unsigned program in full and then falls through (a
 * DHCPv6 Solicit, an HTTP boot request, or a new native PXE DISCOVER) without any follow-up request was
 * most likely refused.
 */
import type { ArchKey, ClientInfo, Door } from './types.js';

/** Whether a MAC is known (admin) or believed (a noticed refusal) to run Secure Boot. */
export interface SecureBootFacts {
  has(mac: string): boolean;
}

/** The profile's Secure Boot program for this architecture, when the client runs Secure Boot. */
export function secureBootFile(files: Partial<Record<ArchKey, string>>, client: ClientInfo, facts: SecureBootFacts | undefined): string | undefined {
  if (client.arch === null || !client.arch.startsWith('efi-') || client.ipxe) return undefined;
  const file = files[client.arch];
  return file && facts?.has(client.mac) ? file : undefined;
}

/** A shim build (shimx64.efi, shimaa64.efi, ...). */
export function isShim(path: string): boolean {
  return /(^|[/\\])shim[a-z0-9]*\.efi$/i.test(path);
}

/** Why a refusal is believed (bounded: a metric label). */
export type RefusalReason = 'http-boot-fallback' | 'pxe-restart' | 'ipv6-pxe-fallback';

/** What the rule remembers about one machine between requests. */
export type WatchState =
  /** Offered a program that is not the Secure Boot chain; not fetched in full yet. */
  | { phase: 'offered'; file: string; at: number }
  /** Fetched it in full; waiting for what that program asks for next. */
  | { phase: 'fetched'; file: string; at: number };

export type WatchEvent =
  /**
   * A native UEFI client was told to fetch `file`; `signed` when it is the profile's Secure Boot program
   * (such an offer is not watched).
   */
  | { kind: 'offer'; file: string; signed: boolean }
  /** A file was delivered in full to the machine. */
  | { kind: 'served'; file: string }
  /** A request from the machine: a DHCP door's, or a file or script asked for. */
  | { kind: 'request'; door: Door; ipxe: boolean; httpBoot: boolean; file: string | null }
  /**
   * A DHCPv6 message from the machine (PXE over IPv6, the firmware's next boot option after a refusal);
   * `ipxe` when iPXE sent it (its user class), which shows the program ran.
   */
  | { kind: 'dhcpv6'; ipxe: boolean };

export interface WatchStep {
  state: WatchState | null;
  refusal: RefusalReason | null;
}

/**
 * How long after the transfer a fall-through still counts: OVMF reaches HTTP boot about 70 s after the
 * refusal; a real server's reset may take minutes. A machine seen again after this is just booting again.
 */
export const REFUSAL_WINDOW_MS = 30 * 60_000;

const NONE: WatchStep = { state: null, refusal: null };

export function watchStep(state: WatchState | null, ev: WatchEvent, now: number): WatchStep {
  if (state !== null && now - state.at > REFUSAL_WINDOW_MS) state = null;
  switch (ev.kind) {
    case 'offer':
      if (ev.signed) return NONE;
      // The 4011 ACK repeats the port 67 offer: keep a transfer already seen.
      if (state !== null && sameBootPath(state.file, ev.file)) return { state, refusal: null };
      return { state: { phase: 'offered', file: ev.file, at: now }, refusal: null };
    case 'served':
      if (state === null || !sameBootPath(state.file, ev.file)) return { state, refusal: null };
      return { state: { phase: 'fetched', file: ev.file, at: now }, refusal: null };
    case 'request':
      return onRequest(state, ev);
    case 'dhcpv6':
      if (state === null) return NONE;
      if (ev.ipxe) return NONE;
      return state.phase === 'fetched' ? { state: null, refusal: 'ipv6-pxe-fallback' } : { state, refusal: null };
  }
}

function onRequest(state: WatchState | null, ev: Extract<WatchEvent, { kind: 'request' }>): WatchStep {
  if (state === null) return NONE;
  // The program ran: it asked as iPXE, or fetched something other than itself.
  if (ev.ipxe || ev.door === 'ipxe-script') return NONE;
  if ((ev.door === 'tftp' || ev.door === 'http') && ev.file !== null) {
    return sameBootPath(ev.file, state.file) ? { state, refusal: null } : NONE;
  }
  if (state.phase !== 'fetched' || (ev.door !== 'dhcp' && ev.door !== 'pxe')) return { state, refusal: null };
  if (ev.httpBoot) return { state: null, refusal: 'http-boot-fallback' };
  // A 4011 request belongs to the same exchange as the port 67 DISCOVER; only a new DISCOVER starts over.
  if (ev.door === 'dhcp') return { state: null, refusal: 'pxe-restart' };
  return { state, refusal: null };
}

/** Whether two paths under the boot root name the same file: leading slashes aside, case-blind. */
export function sameBootPath(a: string, b: string): boolean {
  // Compared in place (no strings made): this runs for every request of a watched machine, and a storm
  // is mostly those. Anything but an ASCII case difference is left to toLowerCase() on the whole.
  const i0 = pathStart(a);
  const j0 = pathStart(b);
  if (a.length - i0 !== b.length - j0) return slowSame(a, i0, b, j0);
  for (let i = i0, j = j0; i < a.length; i += 1, j += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(j);
    if (x !== y && (x > 0x7f || y > 0x7f || asciiLower(x) !== asciiLower(y))) return slowSame(a, i0, b, j0);
  }
  return true;
}

function pathStart(p: string): number {
  let i = 0;
  while (i < p.length && (p.charCodeAt(i) === SLASH || p.charCodeAt(i) === BACKSLASH)) i += 1;
  return i;
}

function slowSame(a: string, i0: number, b: string, j0: number): boolean {
  return a.slice(i0).toLowerCase() === b.slice(j0).toLowerCase();
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;

function asciiLower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}
