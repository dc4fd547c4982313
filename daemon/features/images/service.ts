/**
 * What `bootgate image` does, on the boot root's `images/` folder: add, list, show (what each BCD
 * says), verify (every file against its manifest hash) and remove (refused while a profile uses the
 * image). Removing renames the folder aside first, so the image vanishes at once and whole; a transfer
 * that still has one of its files open keeps reading it until it ends.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BootgateConfig } from '../../config/schema.js';
import { addImage, type AddOptions, type Progress } from './add.js';
import { summarizeBcd, type BcdSummary } from './network-bcd.js';
import { imageUsers } from './profiles.js';
import { ImageSourceError, type ImageArch } from './source.js';
import { imageDir, imageNames, imagesDir, readManifest, WORK_PREFIX, type ImageManifest } from './store.js';

export class ImageRefused extends Error {
  constructor(message: string, readonly problems: string[] = []) {
    super(message);
    this.name = 'ImageRefused';
  }
}

export interface ImageSummary {
  name: string;
  arch: ImageArch;
  version: string | null;
  addedAt: string;
  sourceKind: string;
  bytes: number;
  usedBy: string[];
}

export interface VerifyResult {
  name: string;
  ok: boolean;
  checked: number;
  problems: string[];
}

export class ImageService {
  constructor(private readonly cfg: () => BootgateConfig, private readonly opts: { progress?: Progress; freeBytes?: AddOptions['freeBytes'] } = {}) {}

  private get root(): string {
    return this.cfg().root;
  }

  private manifest(name: string): ImageManifest {
    try {
      return readManifest(this.root, name);
    } catch (err) {
      throw new ImageRefused((err as Error).message);
    }
  }

  async add(source: string, name: string, arch?: ImageArch): Promise<ImageManifest> {
    try {
      return await addImage({ root: this.root, source, name, arch, tftp: this.cfg().tftp, ...this.opts });
    } catch (err) {
      if (err instanceof ImageSourceError || (err as Error).name === 'BcdError' || (err as Error).name === 'HiveToolError') {
        throw new ImageRefused(`cannot add image "${name}" from ${source}: ${(err as Error).message}`);
      }
      throw err;
    }
  }

  list(): ImageSummary[] {
    const users = imageUsers(this.cfg());
    return imageNames(this.root).flatMap((name) => {
      let m: ImageManifest;
      try {
        m = readManifest(this.root, name);
      } catch {
        return [];
      }
      return [{
        name, arch: m.arch, version: m.version, addedAt: m.addedAt, sourceKind: m.source.kind,
        bytes: m.files.reduce((s, f) => s + f.size, 0), usedBy: users.get(name) ?? [],
      }];
    });
  }

  async show(name: string): Promise<{ manifest: ImageManifest; bcd: { bios: BcdSummary | null; uefi: BcdSummary | null }; usedBy: string[] }> {
    const m = this.manifest(name);
    const read = async (rel: string | null) => (rel ? summarizeBcd(join(this.root, rel)) : null);
    return { manifest: m, bcd: { bios: await read(m.bcd.bios), uefi: await read(m.bcd.uefi) }, usedBy: imageUsers(this.cfg()).get(name) ?? [] };
  }

  async verify(name: string): Promise<VerifyResult> {
    const m = this.manifest(name);
    const problems: string[] = [];
    for (const f of m.files) {
      const abs = join(imageDir(this.root, name), f.path);
      try {
        const size = (await stat(abs)).size;
        if (size !== f.size) { problems.push(`${f.path}: ${size} bytes, the manifest says ${f.size}`); continue; }
        const h = createHash('sha256');
        for await (const chunk of createReadStream(abs) as AsyncIterable<Buffer>) h.update(chunk);
        if (h.digest('hex') !== f.sha256) problems.push(`${f.path}: SHA-256 differs from the manifest`);
      } catch (err) {
        problems.push(`${f.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    return { name, ok: problems.length === 0, checked: m.files.length, problems };
  }

  async remove(name: string): Promise<void> {
    this.manifest(name);
    const users = imageUsers(this.cfg()).get(name) ?? [];
    if (users.length > 0) throw new ImageRefused(`image "${name}" is used by profile ${users.join(', ')}: point ${users.length > 1 ? 'them' : 'it'} at another image first`);
    const aside = join(imagesDir(this.root), `${WORK_PREFIX}removing-${name}-${randomBytes(4).toString('hex')}`);
    await rename(imageDir(this.root, name), aside);
    await rm(aside, { recursive: true, force: true });
  }
}
