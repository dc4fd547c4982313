/**
 * What a client fetches next, once the policy has chosen its profile. Pure: a function of the client
 * and the profile. The one rule that matters most: an iPXE client gets its script, never an iPXE
 * binary again, or it chainloads itself forever.
 */
import type { ProfileConfig } from '../config/schema.js';
import { secureBootFile, type SecureBootFacts } from './secure-boot.js';
import type { BootTarget, ClientInfo } from './types.js';

/** iPXE binaries as the ipxe package names them; handing one to iPXE makes it loop. */
const IPXE_BINARY = /(^|\/)(undionly\.k?kpxe|undionly\.kpxe|ipxe\.(efi|pxe|lkrn)|snponly\.efi|snp\.efi|ipxe-[\w-]+\.efi)$/i;

export function isIpxeBinary(path: string): boolean {
  return IPXE_BINARY.test(path);
}

export function hasIpxeScript(profile: ProfileConfig): boolean {
  return profile.menu === true || profile.ipxeScript !== null || profile.ipxeScriptFile !== null;
}

/** The profiles the built-in menu offers: those with an iPXE script of their own (a menu offers no menu). */
export function menuProfileNames(profiles: Record<string, ProfileConfig>): string[] {
  return Object.entries(profiles)
    .filter(([, p]) => p.menu !== true && (p.ipxeScript !== null || p.ipxeScriptFile !== null))
    .map(([name]) => name)
    .sort();
}

/** The per-client script path both TFTP and HTTP serve: `ipxe/52-54-00-77-00-01.ipxe`. */
export function ipxeScriptPath(mac: string): string {
  return `ipxe/${mac.replace(/:/g, '-')}.ipxe`;
}

const SCRIPT_PATH = /^ipxe\/([0-9a-f]{2}(?:-[0-9a-f]{2}){5})\.ipxe$/;

/** The script of one menu entry: `ipxe/52-54-00-77-00-01/winpe.ipxe` (the script door decides again). */
export function ipxeChoicePath(mac: string, profile: string): string {
  return `ipxe/${mac.replace(/:/g, '-')}/${profile}.ipxe`;
}

const CHOICE_PATH = /^ipxe\/([0-9a-f]{2}(?:-[0-9a-f]{2}){5})\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\.ipxe$/i;

/** The MAC and profile a menu entry's script path names, or null. */
export function choiceFromScriptPath(path: string): { mac: string; profile: string } | null {
  const m = CHOICE_PATH.exec(path.replace(/^\/+/, ''));
  return m?.[1] && m[2] ? { mac: m[1].toLowerCase().replace(/-/g, ':'), profile: m[2] } : null;
}

/** The MAC a script path names, or null when the path is not a per-client script. */
export function macFromScriptPath(path: string): string | null {
  const m = SCRIPT_PATH.exec(path.replace(/^\/+/, '').toLowerCase());
  return m?.[1] ? m[1].replace(/-/g, ':') : null;
}

/**
 * The next thing to fetch, or null when the profile has nothing for this client
 * (the caller turns that into an `ignore` with reason `no-boot-file`).
 */
export function chooseTarget(client: ClientInfo, profile: ProfileConfig, scriptTransport: 'http' | 'tftp', secureBoot?: SecureBootFacts): BootTarget | null {
  if (client.ipxe && hasIpxeScript(profile)) {
    return { transport: scriptTransport, path: ipxeScriptPath(client.mac) };
  }
  if (client.arch === null) return null;
  // Secure Boot firmware refuses an unsigned program: such a machine gets the profile's signed chain.
  const signed = secureBootFile(profile.secureBootFiles ?? {}, client, secureBoot);
  if (signed) return { transport: client.httpBoot ? 'http' : 'tftp', path: signed };
  if (client.httpBoot) {
    const file = profile.httpBootFiles[client.arch] ?? profile.bootFiles[client.arch];
    return file ? { transport: 'http', path: file } : null;
  }
  const file = profile.bootFiles[client.arch];
  if (!file) return null;
  if (client.ipxe && isIpxeBinary(file)) return null;
  return { transport: 'tftp', path: file };
}
