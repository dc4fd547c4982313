/**
 * Boot once: a required deployment is consumed when the profile's completion marker has been
 * served in full (e.g. the last byte of `sources/boot.wim`) or the deployment reports done through the
 * API. Pure: which file counts, and whether a computer's deployment is required.
 */
import type { DeploymentKind, ProfileConfig } from '../config/schema.js';

/**
 * The form two boot paths are compared in: forward slashes, no leading slash, lower case. Windows boot
 * manager asks `\Boot\x64\BOOT.WIM`-style names and the TFTP door treats names case-insensitively, so the
 * marker must match however the client spelt it.
 */
export function comparablePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\/+/, '').replace(/\/{2,}/g, '/').toLowerCase();
}

export function isRequired(computerKind: DeploymentKind | null, profile: ProfileConfig): boolean {
  return (computerKind ?? profile.kind) === 'required';
}

/** True when `path`, just served in full, is the profile's completion marker. */
export function isCompletionMarker(profile: ProfileConfig, path: string): boolean {
  return profile.bootOnceMarker !== null && comparablePath(profile.bootOnceMarker) === comparablePath(path);
}
