/**
 * `image add`: a Windows PE source in, one complete image folder out, or a clear error and nothing
 * left behind. Everything is written under `images/.adding-<name>-<random>/` (the same filesystem as
 * the images, so the final rename is atomic) after a free-space check, and renamed at the end.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CONFIG_NAME_PATTERN } from '../../config/schema.js';
import { tuningFrom, writeNetworkBcd, type Firmware, type ImagePaths } from './network-bcd.js';
import {
  extractIso, findInsensitive, ImageSourceError, sourceKind, wimExtract, wimFiles, wimInfo, type ImageArch,
} from './source.js';
import { IMAGES_DIR, imageDir, imagesDir, MANIFEST, WORK_PREFIX, type ImageManifest, type ManifestFile } from './store.js';

export interface Progress {
  /** `done` of `total` bytes of `what` (copying or hashing). */
  update(what: string, done: number, total: number): void;
  end(): void;
}

export interface AddOptions {
  root: string;
  source: string;
  name: string;
  arch?: ImageArch | undefined;
  tftp: { blockSizeMax: number; windowSizeMax: number; inflightBytesMax: number; timeoutMs: number };
  progress?: Progress;
  /** Free bytes on the filesystem holding `dir` (injectable for tests). */
  freeBytes?: (dir: string) => Promise<number>;
  now?: () => Date;
}

const EFI_BOOT_FILE: Record<ImageArch, string> = { x64: 'bootx64.efi', x86: 'bootia32.efi', arm64: 'bootaa64.efi' };
const PXE_FILES = ['pxeboot.n12', 'pxeboot.com', 'wdsnbp.com', 'abortpxe.com', 'bootmgr.exe'];
/** What BIOS clients get, best first: pxeboot.n12 boots without asking for F12 (the policy already decided). */
const BIOS_PROGRAMS = ['pxeboot.n12', 'pxeboot.com', 'wdsnbp.com'];
const MiB = 1024 * 1024;

async function systemFree(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Copies a file, reporting progress; the copy's SHA-256 is computed later from what landed on disk. */
async function copyWithProgress(from: string, to: string, what: string, progress: Progress | undefined): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const total = (await stat(from)).size;
  if (!progress || total < 8 * MiB) {
    await copyFile(from, to);
    return;
  }
  let done = 0;
  const meter = new Transform({ transform(chunk: Buffer, _e, cb) { done += chunk.length; progress.update(what, done, total); cb(null, chunk); } });
  await pipeline(createReadStream(from), meter, createWriteStream(to));
}

async function sha256(file: string, rel: string, progress: Progress | undefined): Promise<string> {
  const h = createHash('sha256');
  const total = (await stat(file)).size;
  let done = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: MiB }) as AsyncIterable<Buffer>) {
    h.update(chunk);
    done += chunk.length;
    if (total >= 8 * MiB) progress?.update(`hash ${rel}`, done, total);
  }
  return h.digest('hex');
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else if (e.isFile()) out.push(relative(base, p).split(sep).join('/'));
  }
  return out.sort();
}

/** Paths in the WIM that network boot needs, found case-insensitively in wimdir's listing. */
function wimPicks(all: string[]) {
  const lower = new Map(all.map((p) => [p.toLowerCase(), p]));
  const one = (p: string) => lower.get(p) ?? null;
  const under = (prefix: string, test: (rest: string) => boolean) =>
    all.filter((p) => p.toLowerCase().startsWith(prefix) && test(p.slice(prefix.length).toLowerCase()));
  return {
    pxe: under('windows/boot/pxe/', (r) => PXE_FILES.includes(r) || /^[a-z]{2}-[a-z]{2}\/bootmgr\.exe\.mui$/.test(r)),
    efi: one('windows/boot/efi/bootmgfw.efi'),
    efiMui: under('windows/boot/efi/', (r) => /^[a-z]{2}-[a-z]{2}\/bootmgfw\.efi\.mui$/.test(r)),
    fonts: under('windows/boot/fonts/', (r) => !r.includes('/') && r !== ''),
    sdi: one('windows/boot/dvd/pcat/boot.sdi') ?? one('windows/boot/dvd/efi/boot.sdi'),
    bcdBios: one('windows/boot/dvd/pcat/bcd'),
    bcdUefi: one('windows/boot/dvd/efi/bcd'),
  };
}

export function validateImageName(name: string): void {
  if (!new RegExp(CONFIG_NAME_PATTERN).test(name)) {
    throw new ImageSourceError(`image name "${name}": expected letters, digits, ".", "_" or "-" (at most 64, starting with a letter or digit)`);
  }
}

interface Layout {
  media: string | null;
  wim: string;
  /** Scratch space inside the work folder. */
  scratch: string;
}

async function needBytes(kind: string, source: string, media: string | null): Promise<number> {
  const wim = kind === 'wim' ? source : media ? await findInsensitive(media, 'sources/boot.wim') : null;
  const wimSize = wim ? (await stat(wim)).size : 0;
  const isoSize = kind === 'iso' ? (await stat(source)).size : 0;
  // The copy of boot.wim, the ISO's extracted tree, and room for the small files and BCDs.
  return wimSize + isoSize + 16 * MiB;
}

/** Adds an image; returns its manifest. On any error the root is left as it was. */
export async function addImage(o: AddOptions): Promise<ImageManifest> {
  validateImageName(o.name);
  const source = resolve(o.source);
  const final = imageDir(o.root, o.name);
  if (await stat(final).then(() => true, () => false)) {
    throw new ImageSourceError(`an image named "${o.name}" already exists (images are never changed in place: add the new one under a new name)`);
  }
  const kind = await sourceKind(source);
  await mkdir(imagesDir(o.root), { recursive: true });
  const need = await needBytes(kind, source, kind === 'folder' ? source : null);
  const free = await (o.freeBytes ?? systemFree)(imagesDir(o.root));
  if (free < need) {
    throw new ImageSourceError(`not enough free space in ${imagesDir(o.root)}: ${Math.ceil(need / MiB)} MiB needed, ${Math.floor(free / MiB)} MiB free`);
  }
  const work = join(imagesDir(o.root), `${WORK_PREFIX}${o.name}-${randomBytes(4).toString('hex')}`);
  await mkdir(work);
  try {
    const scratch = join(work, '.scratch');
    await mkdir(scratch);
    let media: string | null = kind === 'folder' ? source : null;
    if (kind === 'iso') {
      media = join(scratch, 'iso');
      await extractIso(source, media);
    }
    const wim = kind === 'wim' ? source : media ? await findInsensitive(media, 'sources/boot.wim') : null;
    if (!wim) throw new ImageSourceError(`${source} has no sources/boot.wim: not Windows PE media`);
    const manifest = await assemble(o, work, { media, wim, scratch }, kind);
    await rm(scratch, { recursive: true, force: true });
    manifest.files = await hashAll(work, o.progress);
    await writeFile(join(work, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    await rename(work, final);
    return manifest;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  } finally {
    o.progress?.end();
  }
}

async function hashAll(work: string, progress: Progress | undefined): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  for (const rel of await listFiles(work)) {
    const abs = join(work, rel);
    files.push({ path: rel, size: (await stat(abs)).size, sha256: await sha256(abs, rel, progress) });
  }
  return files;
}

function archOf(o: AddOptions, fromWim: ImageArch | null, efiName: string | null): ImageArch {
  const fromEfi = (Object.entries(EFI_BOOT_FILE).find(([, f]) => f === efiName?.toLowerCase())?.[0] ?? null) as ImageArch | null;
  const found = fromWim ?? fromEfi;
  if (o.arch && found && o.arch !== found) throw new ImageSourceError(`the image is ${found} but --arch ${o.arch} was given`);
  const arch = o.arch ?? found;
  if (!arch) throw new ImageSourceError('cannot tell the image\'s architecture (the WIM names none): give --arch x64, x86 or arm64');
  return arch;
}

/** Copies what network boot needs into `work` and writes the BCDs; returns the manifest without its file list. */
async function assemble(o: AddOptions, work: string, l: Layout, kind: ImageManifest['source']['kind']): Promise<ImageManifest> {
  const info = await wimInfo(l.wim);
  const picks = wimPicks(await wimFiles(l.wim, info.index));
  const fromWim = join(l.scratch, 'wim');
  const wanted = [...picks.pxe, ...(picks.efi ? [picks.efi] : []), ...picks.efiMui, ...picks.fonts,
    ...[picks.sdi, picks.bcdBios, picks.bcdUefi].filter((p): p is string => p !== null)];
  const hasPxe = picks.pxe.some((p) => BIOS_PROGRAMS.includes(basename(p).toLowerCase()));
  const mediaEfi = l.media ? await findFirst(l.media, Object.values(EFI_BOOT_FILE).map((f) => `EFI/Boot/${f}`)) : null;
  if (!hasPxe && !picks.efi && !mediaEfi) {
    throw new ImageSourceError(`${l.wim} holds no network boot programs (Windows/Boot/PXE/pxeboot.n12, Windows/Boot/EFI/bootmgfw.efi): not a Windows PE image`);
  }
  await mkdir(fromWim);
  await wimExtract(l.wim, info.index, wanted, fromWim);
  const arch = archOf(o, info.arch, mediaEfi ? basename(mediaEfi) : null);
  const put = (from: string, rel: string, what = rel) => copyWithProgress(from, join(work, rel), `copy ${what}`, o.progress);

  await put(l.wim, 'sources/boot.wim');
  const sdi = (l.media && await findInsensitive(l.media, 'Boot/boot.sdi')) ?? (picks.sdi && join(fromWim, picks.sdi));
  if (!sdi) throw new ImageSourceError(`${o.source} has no boot.sdi (Boot/boot.sdi on the media, Windows/Boot/DVD/*/boot.sdi in the WIM)`);
  await put(sdi, 'Boot/boot.sdi');
  for (const p of picks.pxe) await put(join(fromWim, p), p.split('/').slice(3).join('/'));
  const efiProgram = picks.efi ? join(fromWim, picks.efi) : mediaEfi;
  if (efiProgram) await put(efiProgram, 'bootmgfw.efi');
  for (const p of picks.efiMui) await put(join(fromWim, p), p.split('/').slice(3).join('/'));
  const mediaFonts = l.media ? await findInsensitive(l.media, 'Boot/Fonts') : null;
  const fonts = mediaFonts ? (await readdir(mediaFonts)).map((f) => join(mediaFonts, f)) : picks.fonts.map((p) => join(fromWim, p));
  for (const f of fonts) await put(f, `Boot/Fonts/${basename(f)}`);

  const base = `${IMAGES_DIR}/${o.name}`;
  const win = (rel: string) => `\\${`${base}/${rel}`.split('/').join('\\')}`;
  const paths: ImagePaths = { wim: win('sources/boot.wim'), sdi: win('Boot/boot.sdi') };
  const tuning = tuningFrom(o.tftp);
  const biosProgram = BIOS_PROGRAMS.find((p) => picks.pxe.some((x) => basename(x).toLowerCase() === p)) ?? null;
  const bcdFor = async (fw: Firmware, rel: string, mediaRel: string, wimRel: string | null): Promise<string> => {
    const from = (l.media && await findInsensitive(l.media, mediaRel)) ?? (wimRel && join(fromWim, wimRel));
    await mkdir(dirname(join(work, rel)), { recursive: true });
    await writeNetworkBcd(join(work, rel), from ? await readFile(from) : null, paths, tuning, fw, `Windows PE ${o.name} (Bootgate)`);
    return `${base}/${rel}`;
  };
  const bios = biosProgram && arch !== 'arm64' ? await bcdFor('bios', 'Boot/BCD', 'Boot/BCD', picks.bcdBios) : null;
  const uefi = efiProgram ? await bcdFor('uefi', 'EFI/Microsoft/Boot/BCD', 'EFI/Microsoft/Boot/BCD', picks.bcdUefi) : null;
  return {
    format: 1, name: o.name, arch, source: { kind, path: resolve(o.source) }, version: info.version,
    addedAt: (o.now?.() ?? new Date()).toISOString(),
    bootFiles: { bios: bios && biosProgram ? `${base}/${biosProgram}` : null, uefi: efiProgram ? `${base}/bootmgfw.efi` : null },
    bcd: { bios, uefi }, tftp: tuning, files: [],
  };
}

async function findFirst(dir: string, rels: string[]): Promise<string | null> {
  for (const r of rels) {
    const hit = await findInsensitive(dir, r);
    if (hit) return hit;
  }
  return null;
}
