#!/usr/bin/env node
/**
 * Writes the small Linux's initramfs (gzipped newc cpio) from a static busybox: /init mounts the usual
 * file systems, says what it is on the console (and on the first serial port), and runs a shell.
 * Written here rather than with cpio(1) so /dev/console can be in it without root (the kernel opens
 * it for init before anything could mount devtmpfs), and its bytes are the same on every machine.
 *
 * Usage: node scripts/make-initramfs.mjs OUT BUSYBOX
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const [out, busybox] = process.argv.slice(2);
if (!out || !busybox) {
  process.stderr.write('usage: make-initramfs.mjs OUT BUSYBOX\n');
  process.exit(2);
}

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
banner="Bootgate small Linux: kernel $(uname -r), busybox $(busybox | head -n1 | cut -d' ' -f2). 'poweroff -f' powers off."
echo "$banner"
# The console may be a screen; say it on the first serial port too (a lab VM, a server's SOL).
[ -c /dev/ttyS0 ] && echo "$banner" > /dev/ttyS0 2>/dev/null
while true; do setsid cttyhack sh; done
`;

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;
const hex8 = (n) => n.toString(16).padStart(8, '0');
const pad4 = (len) => Buffer.alloc((4 - (len % 4)) % 4);

function cpio(entries) {
  const parts = [];
  let ino = 1;
  for (const e of [...entries, { path: 'TRAILER!!!', mode: 0 }]) {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.path}\0`);
    const fields = [ino++, e.mode, 0, 0, e.mode & S_IFDIR ? 2 : 1, 0, data.length, 0, 0, e.major ?? 0, e.minor ?? 0, name.length, 0];
    const header = Buffer.from(`070701${fields.map(hex8).join('')}`);
    parts.push(header, name, pad4(header.length + name.length), data, pad4(data.length));
  }
  return Buffer.concat(parts);
}

const dir = (path) => ({ path, mode: S_IFDIR | 0o755 });
const img = gzipSync(cpio([
  dir('bin'), dir('dev'), dir('proc'), dir('sys'), dir('tmp'), dir('root'),
  { path: 'dev/console', mode: S_IFCHR | 0o600, major: 5, minor: 1 },
  { path: 'bin/busybox', mode: S_IFREG | 0o755, data: readFileSync(busybox) },
  { path: 'bin/sh', mode: S_IFLNK | 0o777, data: Buffer.from('busybox') },
  { path: 'init', mode: S_IFREG | 0o755, data: Buffer.from(INIT) },
]), { level: 9 });
writeFileSync(`${out}.tmp`, img);
renameSync(`${out}.tmp`, out);
