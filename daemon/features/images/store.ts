/**
 * Images on disk: `<root>/images/<name>/` holds one image's files and its `manifest.json`. A directory
 * is written whole under a temporary name in the same folder and renamed into place, and never changed
 * afterwards: a new version of an image is a new name.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageArch, SourceKind } from './source.js';

export const IMAGES_DIR = 'images';
export const MANIFEST = 'manifest.json';
/** Work folders of an `image add` under way (or interrupted): never an image. */
export const WORK_PREFIX = '.adding-';

export interface ManifestFile {
  /** Relative to the image's folder, slash-separated. */
  path: string;
  size: number;
  sha256: string;
}

export interface ImageManifest {
  format: 1;
  name: string;
  arch: ImageArch;
  source: { kind: SourceKind; path: string };
  /** The Windows PE version the WIM says (major.minor.build.spbuild), when it says one. */
  version: string | null;
  addedAt: string;
  /** Boot programs relative to the boot root, by firmware. */
  bootFiles: { bios: string | null; uefi: string | null };
  /** BCD stores relative to the boot root, by firmware. */
  bcd: { bios: string | null; uefi: string | null };
  /** What the BCDs tell the boot manager to ask of the TFTP server. */
  tftp: { blockSize: number; windowSize: number; varWindow: boolean };
  files: ManifestFile[];
}

export const imagesDir = (root: string): string => join(root, IMAGES_DIR);
export const imageDir = (root: string, name: string): string => join(root, IMAGES_DIR, name);

export class ImageNotFoundError extends Error {
  constructor(name: string, root: string) {
    super(`no image named "${name}" in ${imagesDir(root)}`);
    this.name = 'ImageNotFoundError';
  }
}

/** One image's manifest (synchronous: profiles are resolved while a configuration is prepared). */
export function readManifest(root: string, name: string): ImageManifest {
  let text: string;
  try {
    text = readFileSync(join(imageDir(root, name), MANIFEST), 'utf8');
  } catch {
    throw new ImageNotFoundError(name, root);
  }
  const m = JSON.parse(text) as ImageManifest;
  if (m.format !== 1 || m.name !== name) throw new Error(`${join(imageDir(root, name), MANIFEST)}: not an image manifest of this version`);
  return m;
}

/** Names of the images under the root, in name order (work folders left out). */
export function imageNames(root: string): string[] {
  let entries;
  try {
    entries = readdirSync(imagesDir(root), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}
