/**
 * Windows PE inputs built at test time with the tools an admin has (Microsoft's files cannot be used):
 * a media folder shaped like `copype` output holding placeholder bytes, its boot.wim captured with
 * wimcapture from a `Windows\Boot` tree, an ISO of the folder made with xorriso, and a media BCD
 * (a new store pointing at `[boot]\sources\boot.wim`, as MakeWinPEMedia's is).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeNetworkBcd } from '../../../daemon/features/images/network-bcd.js';

export interface WinpeFixture {
  media: string;
  wim: string;
  iso: string;
  /** Placeholder bytes of each file inside the WIM, by its path there. */
  inWim: Record<string, Buffer>;
}

const put = (file: string, data: Buffer) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
};

/** The `Windows\Boot` tree a WinPE boot.wim holds (names as in the ADK; contents are random). */
export function winpeTree(dir: string, opts: { pxe?: boolean; efi?: boolean; extraBytes?: number } = {}): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const add = (rel: string, size: number) => { files[rel] = randomBytes(size); put(join(dir, rel), files[rel] as Buffer); };
  if (opts.pxe !== false) {
    for (const f of ['pxeboot.n12', 'pxeboot.com', 'wdsnbp.com', 'abortpxe.com']) add(`Windows/Boot/PXE/${f}`, 25_000);
    add('Windows/Boot/PXE/bootmgr.exe', 400_000);
    add('Windows/Boot/PXE/en-US/bootmgr.exe.mui', 8_000);
  }
  if (opts.efi !== false) {
    add('Windows/Boot/EFI/bootmgfw.efi', 1_500_000);
    add('Windows/Boot/EFI/en-US/bootmgfw.efi.mui', 9_000);
  }
  add('Windows/Boot/Fonts/wgl4_boot.ttf', 40_000);
  add('Windows/Boot/DVD/PCAT/boot.sdi', 3_170_304);
  add('Windows/System32/winload.exe', 1_000_000 + (opts.extraBytes ?? 0));
  return files;
}

export function captureWim(tree: string, wim: string): void {
  execFileSync('wimcapture', [tree, wim, 'WINPE', '--compress=none', '--boot'], { stdio: 'pipe' });
}

export async function buildWinpe(base: string, opts: { pxe?: boolean; efi?: boolean } = {}): Promise<WinpeFixture> {
  const inWim = winpeTree(join(base, 'tree'), opts);
  const media = join(base, 'media');
  const wim = join(media, 'sources', 'boot.wim');
  mkdirSync(dirname(wim), { recursive: true });
  captureWim(join(base, 'tree'), wim);
  put(join(media, 'Boot', 'boot.sdi'), inWim['Windows/Boot/DVD/PCAT/boot.sdi'] as Buffer);
  put(join(media, 'Boot', 'Fonts', 'wgl4_boot.ttf'), inWim['Windows/Boot/Fonts/wgl4_boot.ttf'] as Buffer);
  put(join(media, 'EFI', 'Boot', 'bootx64.efi'), inWim['Windows/Boot/EFI/bootmgfw.efi'] ?? randomBytes(1000));
  put(join(media, 'bootmgr'), randomBytes(400_000));
  const tuning = { blockSize: 4096, windowSize: 1, varWindow: false };
  const mediaPaths = { wim: '\\sources\\boot.wim', sdi: '\\boot\\boot.sdi' };
  mkdirSync(join(media, 'EFI', 'Microsoft', 'Boot'), { recursive: true });
  await writeNetworkBcd(join(media, 'Boot', 'BCD'), null, mediaPaths, tuning, 'bios', 'Windows PE media');
  await writeNetworkBcd(join(media, 'EFI', 'Microsoft', 'Boot', 'BCD'), null, mediaPaths, tuning, 'uefi', 'Windows PE media');
  const iso = join(base, 'winpe.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-J', '-R', '-V', 'WINPE', '-o', iso, media], { stdio: 'pipe' });
  return { media, wim, iso, inWim };
}
