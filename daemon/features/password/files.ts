/**
 * Which files a password protects, and the signed form of their URLs. Pure.
 *
 * A gated profile lists path prefixes (`password.files`); a file is gated when its path, as the TFTP and
 * HTTP doors resolve it (backslashes are separators, names match case-insensitively: files/root.ts), starts
 * with one of them. The caller also checks the path a symlink resolves to, so an alias cannot bypass it.
 *
 * Signed URLs put the token in the path, `_signed/<token>/<path>`: TFTP has no query string, and iPXE
 * passes a `kernel`/`initrd` URL on unchanged, so a path form works for both doors.
 */
import type { BootgateConfig } from '../../config/schema.js';
import { requestComponents } from '../../files/root.js';
import { isGated, profilePassword } from '../../policy/password.js';

export const SIGNED_DIR = '_signed';
const SIGNED = /^_signed\/([A-Za-z0-9_.-]{8,1200})\/(.+)$/;

/** `<base>/_signed/<token>`: what `{{http}}` / `{{tftp}}` become in an unlocked client's script. */
export function signedBase(base: string, token: string): string {
  return `${base.replace(/\/+$/, '')}/${SIGNED_DIR}/${token}`;
}

/** Splits `_signed/<token>/<rest>` (leading separators allowed); null when the path is not signed. */
export function splitSignedPath(path: string): { token: string; rest: string } | null {
  const m = SIGNED.exec(path.replace(/\\/g, '/').replace(/^\/+/, ''));
  return m?.[1] && m[2] ? { token: m[1], rest: m[2] } : null;
}

/**
 * The request as the file doors will resolve it: root-relative, `/`-joined, lower-case. null when the
 * doors refuse it anyway (traversal, a drive letter, a NUL).
 */
export function comparablePath(root: string, requested: string): string | null {
  const parts = requestComponents(root, requested);
  return Array.isArray(parts) ? parts.join('/').toLowerCase() : null;
}

/** The profile's prefixes, lower-case with `./` and duplicate slashes removed. */
export function prefixesOf(files: readonly string[]): string[] {
  return files.map((f) => f.replace(/\/{2,}/g, '/').replace(/^(\.\/)+/, '').toLowerCase()).filter((f) => f.length > 0);
}

export interface GatedFiles {
  /** Gated profiles with their prefixes. */
  readonly profiles: ReadonlyMap<string, readonly string[]>;
}

/** The gated profiles of a config and the prefixes each protects. */
export function gatedFiles(cfg: Pick<BootgateConfig, 'profiles' | 'password'>): GatedFiles {
  const profiles = new Map<string, string[]>();
  for (const [name, profile] of Object.entries(cfg.profiles)) {
    if (isGated(profile, cfg.password.required)) profiles.set(name, prefixesOf(profilePassword(profile).files));
  }
  return { profiles };
}

/** The gated profiles whose prefixes cover `path` (a comparablePath). */
export function profilesGating(gated: GatedFiles, path: string): string[] {
  const out: string[] = [];
  for (const [name, prefixes] of gated.profiles) {
    if (prefixes.some((p) => path.startsWith(p))) out.push(name);
  }
  return out;
}

/** True when `path` is under one of `prefixes` (both lower-case, comparable). */
export function underPrefixes(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => path.startsWith(p));
}
