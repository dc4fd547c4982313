/** Text for `bootgate image`: an image's manifest, what a BCD says, and a progress line on a terminal. */
import type { Progress } from './add.js';
import type { BcdSummary } from './network-bcd.js';
import type { ImageManifest } from './store.js';

export function imageText(m: ImageManifest, usedBy: string[]): string {
  return [
    `image ${m.name}: ${m.arch}${m.version ? `, Windows PE ${m.version}` : ''}, from ${m.source.kind} ${m.source.path}, added ${m.addedAt}`,
    `  BIOS: ${m.bootFiles.bios ?? 'none'}  BCD ${m.bcd.bios ?? 'none'}`,
    `  UEFI: ${m.bootFiles.uefi ?? 'none'}  BCD ${m.bcd.uefi ?? 'none'}`,
    `  TFTP: block ${m.tftp.blockSize}, window ${m.tftp.windowSize}${m.tftp.varWindow ? ', variable window' : ''}`,
    `  files: ${m.files.length}, ${(m.files.reduce((s, f) => s + f.size, 0) / 1048576).toFixed(1)} MiB; profiles: ${usedBy.join(', ') || 'none'}`,
  ].join('\n') + '\n';
}

export function bcdText(label: string, s: BcdSummary | null): string {
  if (!s) return '';
  const lines = [`${label} BCD:`];
  for (const e of s.entries.filter((x) => x.wim !== null)) lines.push(`  ${e.guid} ${e.description ?? ''}: ramdisk=[boot]${e.wim},${e.optionsGuid}`);
  for (const o of s.ramdiskOptions) {
    lines.push(`  ${o.guid} ramdisksdipath ${o.sdiPath ?? '-'}, ramdisktftpblocksize ${o.tftpBlockSize ?? '-'}, ramdisktftpwindowsize ${o.tftpWindowSize ?? '-'}, ramdisktftpvarwindow ${o.tftpVarWindow === null ? '-' : o.tftpVarWindow ? 'yes' : 'no'}`);
  }
  return lines.join('\n') + '\n';
}

/** A progress line on stderr, redrawn at most every 200 ms; undefined when stderr is not a terminal. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY) return undefined;
  let last = 0;
  let shown = false;
  return {
    update(what, done, total) {
      const now = Date.now();
      if (now - last < 200 && done < total) return;
      last = now;
      shown = true;
      stream.write(`\r\x1b[K${what} ${Math.floor((done * 100) / Math.max(total, 1))}% (${(done / 1048576).toFixed(0)}/${(total / 1048576).toFixed(0)} MiB)`);
    },
    end() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
