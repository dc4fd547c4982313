/**
 * Reading a Windows PE source: a media folder (ADK `copype`), an ISO, or a bare boot.wim. ISOs are
 * read with `xorriso -osirrox` and WIMs with wimtools (`wiminfo`, `wimdir`, `wimextract`, which check
 * every stream's SHA-1 as they read it), the tools an admin has on Debian.
 */
import { execFile } from 'node:child_process';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class ImageSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageSourceError';
  }
}

export type SourceKind = 'folder' | 'iso' | 'wim';
export type ImageArch = 'x64' | 'x86' | 'arm64';

/** What a tool said when it failed, in one line, or how to get the tool. */
function toolFailure(tool: string, pkg: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { stderr?: string };
  if (e.code === 'ENOENT') return `${tool} not found: install Debian package ${pkg}`;
  const lines = (e.stderr ?? e.message).trim().split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-2).join(' ').trim() || e.message;
}

export async function tool(cmd: string, pkg: string, args: string[], what: string): Promise<string> {
  try {
    // wimlib matches paths case-sensitively on Linux unless told otherwise; Windows trees vary in case.
    const { stdout } = await run(cmd, args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, WIMLIB_IMAGEX_IGNORE_CASE: '1' } });
    return stdout;
  } catch (err) {
    throw new ImageSourceError(`${what}: ${toolFailure(cmd, pkg, err)}`);
  }
}

/** ISO 9660 puts `CD001` at byte 1 of sector 16; a WIM starts with `MSWIM\0\0\0`. */
export async function sourceKind(path: string): Promise<SourceKind> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new ImageSourceError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (st.isDirectory()) return 'folder';
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    await fh.read(head, 0, 8, 0);
    if (head.toString('latin1') === 'MSWIM\0\0\0') return 'wim';
    const iso = Buffer.alloc(5);
    await fh.read(iso, 0, 5, 16 * 2048 + 1);
    if (iso.toString('latin1') === 'CD001') return 'iso';
  } finally {
    await fh.close();
  }
  throw new ImageSourceError(`${path} is neither a folder, an ISO image nor a WIM file: not a Windows PE source`);
}

/** Extracts a whole ISO into `dest` (xorriso -osirrox). */
export async function extractIso(iso: string, dest: string): Promise<void> {
  await tool('xorriso', 'xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', dest], `cannot read the ISO ${iso}`);
}

/** Finds `rel` (slash-separated) under `dir`, each component case-insensitively; null if absent. */
export async function findInsensitive(dir: string, rel: string): Promise<string | null> {
  let cur = dir;
  for (const part of rel.split('/')) {
    let names: string[];
    try {
      names = await readdir(cur);
    } catch {
      return null;
    }
    const hit = names.find((n) => n === part) ?? names.find((n) => n.toLowerCase() === part.toLowerCase());
    if (!hit) return null;
    cur = join(cur, hit);
  }
  return cur;
}

export interface WimInfo {
  /** The image to read: the WIM's boot index, else 1. */
  index: number;
  arch: ImageArch | null;
  version: string | null;
}

const ARCH_BY_WIM: Record<string, ImageArch> = { x86_64: 'x64', x86: 'x86', arm64: 'arm64', aarch64: 'arm64' };

/** wiminfo's header and first-image fields; a file wimlib cannot open is refused here. */
export async function wimInfo(wim: string): Promise<WimInfo> {
  const out = await tool('wiminfo', 'wimtools', [wim], `${wim} is not a readable WIM`);
  const field = (name: string): string | null => {
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(out);
    return m?.[1]?.trim() || null;
  };
  const boot = Number(field('Boot Index') ?? '0');
  const count = Number(field('Image Count') ?? '0');
  if (count < 1) throw new ImageSourceError(`${wim} holds no image`);
  const arch = ARCH_BY_WIM[(field('Architecture') ?? '').toLowerCase()] ?? null;
  const parts = [field('Major Version'), field('Minor Version'), field('Build'), field('Service Pack Build')];
  const version = parts.every((p) => p !== null) ? parts.join('.') : null;
  return { index: boot >= 1 && boot <= count ? boot : 1, arch, version };
}

/** Every file path in one image of a WIM (wimdir), slash-separated, without the leading slash. */
export async function wimFiles(wim: string, index: number): Promise<string[]> {
  const out = await tool('wimdir', 'wimtools', [wim, String(index)], `cannot list ${wim}`);
  return out.split('\n').map((l) => l.trim().replace(/^\/+/, '')).filter((l) => l !== '');
}

/** Extracts the given paths of one image into `dest`, keeping their folders (SHA-1 checked by wimlib). */
export async function wimExtract(wim: string, index: number, paths: string[], dest: string): Promise<void> {
  if (paths.length === 0) return;
  await tool('wimextract', 'wimtools', [wim, String(index), ...paths.map((p) => `/${p}`), `--dest-dir=${dest}`, '--preserve-dir-structure', '--no-acls', '--no-attributes', '--no-globs'],
    `cannot extract the boot files from ${wim} (damaged WIM?)`);
}
