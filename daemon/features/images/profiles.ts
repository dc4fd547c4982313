/**
 * Profiles that name an image (`image: winpe-2025-x64`, or `image: {x64: ..., x86: ...}`) get their
 * boot programs and option 252 from it when a configuration is prepared (at start and on each reload):
 * switching a profile to another image is one configuration swap, and a transfer already running keeps
 * its open files of the old image, which is never changed in place.
 */
import type { BootgateConfig, ProfileConfig } from '../../config/schema.js';
import type { ArchKey } from '../../policy/types.js';
import type { ImageArch } from './source.js';
import { readManifest, type ImageManifest } from './store.js';

/** Which client architectures an image of each kind boots: UEFI of its own width, BIOS for 32/64-bit x86. */
const UEFI_KEY: Record<ImageArch, ArchKey> = { x64: 'efi-x64', x86: 'efi-ia32', arm64: 'efi-arm64' };

/** The image names a profile refers to, by architecture. */
export function profileImages(p: Pick<ProfileConfig, 'image'>): Partial<Record<ImageArch, string>> {
  if (!p.image) return {};
  return typeof p.image === 'string' ? { x64: p.image } : p.image;
}

/** Every image name any profile uses, with the profiles that use it. */
export function imageUsers(cfg: BootgateConfig): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const [profile, p] of Object.entries(cfg.profiles)) {
    for (const name of new Set(Object.values(profileImages(p)))) users.set(name, [...(users.get(name) ?? []), profile]);
  }
  return users;
}

const toTftpPath = (rel: string): string => `\\${rel.split('/').join('\\')}`;

function resolveProfile(name: string, p: ProfileConfig, read: (image: string) => ImageManifest, errors: string[]): ProfileConfig {
  const refs = profileImages(p);
  if (Object.keys(refs).length === 0) return p;
  const filled: Partial<Record<ArchKey, string>> = {};
  const bcdPaths: Partial<Record<ArchKey, string>> = {};
  // A single name means "whatever this image is"; a map says which architecture each one must be.
  const single = typeof p.image === 'string';
  for (const want of ['x64', 'x86', 'arm64'] as const) {
    const image = refs[want];
    if (!image) continue;
    let m: ImageManifest;
    try {
      m = read(image);
    } catch (err) {
      errors.push(`profiles.${name}.image: ${(err as Error).message} (bootgate image list shows the images)`);
      continue;
    }
    if (!single && m.arch !== want) errors.push(`profiles.${name}.image.${want}: image "${image}" is ${m.arch}, not ${want}`);
    const uefi = UEFI_KEY[m.arch];
    if (m.bootFiles.uefi) filled[uefi] = m.bootFiles.uefi;
    if (m.bcd.uefi) bcdPaths[uefi] = toTftpPath(m.bcd.uefi);
    // BIOS clients take the x64 image when there is one (x64 WinPE boots any 64-bit PC), else the x86 one.
    if (m.bootFiles.bios && m.bcd.bios && (m.arch === 'x64' || !filled.bios)) {
      filled.bios = m.bootFiles.bios;
      bcdPaths.bios = toTftpPath(m.bcd.bios);
    }
  }
  // What the profile names itself wins over what the image offers.
  return { ...p, bootFiles: { ...filled, ...p.bootFiles }, bcdPaths };
}

/** The configuration with every image reference resolved; problems name the profile and the image. */
export function resolveProfileImages(cfg: BootgateConfig, read: (image: string) => ImageManifest = (n) => readManifest(cfg.root, n)): { cfg: BootgateConfig; errors: string[] } {
  const errors: string[] = [];
  const profiles = Object.fromEntries(Object.entries(cfg.profiles).map(([n, p]) => [n, resolveProfile(n, p, read, errors)]));
  return { cfg: { ...cfg, profiles }, errors };
}
