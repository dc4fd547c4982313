/**
 * A tiny initramfs for the lab's Linux kernel: busybox-static, the virtio-net driver with the modules
 * it depends on, and an /init that prints one marker line to the serial console and powers off.
 *
 * The cpio archive is written here (newc format, the one the kernel unpacks: Documentation/
 * driver-api/early-userspace/buffer-format.rst) rather than with cpio(1), so it can hold a
 * /dev/console device node without mknod privileges and its bytes are the same on every machine.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, basename } from 'node:path';
import { gzipSync } from 'node:zlib';

export const MARKER = 'BOOTGATE-MARKER';
/** `BOOTGATE-MARKER mac=52:54:00:.. uuid=....` as printed by /init. */
export const MARKER_RE = /^BOOTGATE-MARKER mac=([0-9a-f:]{17}) uuid=([0-9a-f-]{36})\r?$/m;

/** The modules that make /sys/class/net/eth0 exist on QEMU's virtio-net-pci. */
export const ROOT_MODULES = ['virtio_pci', 'virtio_net'] as const;

export interface CpioEntry {
  path: string; // without leading slash
  mode: number; // including the file type bits
  data?: Buffer;
  rdevMajor?: number;
  rdevMinor?: number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

/** Encodes entries as a newc ("070701") archive ending with the TRAILER!!! record. */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of [...entries, { path: 'TRAILER!!!', mode: 0 }]) {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.path}\0`);
    const fields = [
      ino++, e.mode, 0, 0, (e.mode & S_IFDIR) !== 0 ? 2 : 1, 0, data.length,
      0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, name.length, 0,
    ];
    const header = Buffer.from(`070701${fields.map(hex8).join('')}`);
    parts.push(header, name, pad4(header.length + name.length), data, pad4(data.length));
  }
  return Buffer.concat(parts);
}

/** Module name as the kernel knows it: file name without .ko, dashes as underscores. */
export function moduleName(file: string): string {
  return basename(file).replace(/\.ko$/, '').replace(/-/g, '_');
}

/** The `depends=` list from a module's .modinfo section (the strings are NUL-separated key=value). */
export function moduleDepends(ko: Buffer): string[] {
  const key = Buffer.from('\0depends=');
  const at = ko.indexOf(key);
  if (at < 0) return [];
  const start = at + key.length;
  const end = ko.indexOf(0, start);
  const text = ko.subarray(start, end < 0 ? ko.length : end).toString('latin1');
  return text.split(',').filter((s) => s.length > 0).map((s) => s.replace(/-/g, '_'));
}

/** Every .ko under dir (recursively), by module name. */
export function indexModules(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string): void => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.name.endsWith('.ko')) found.set(moduleName(ent.name), p);
    }
  };
  walk(dir);
  return found;
}

/**
 * The roots plus everything they depend on, dependencies first (the order insmod needs).
 * Throws with the missing module's name when the kernel package does not have it: a kernel with
 * virtio built in would need no modules, but then the roots would not be listed as modules either.
 */
export function moduleClosure(roots: readonly string[], readModule: (name: string) => Buffer | undefined): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, from: string): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`module dependency cycle at ${name}`);
    const ko = readModule(name);
    if (!ko) throw new Error(`kernel module ${name} (needed by ${from}) is not in the kernel package`);
    state.set(name, 'visiting');
    for (const dep of moduleDepends(ko)) visit(dep, name);
    state.set(name, 'done');
    order.push(name);
  };
  for (const r of roots) visit(r, 'the lab initramfs');
  return order;
}

/** The /init script. Progress lines make a failed boot readable in the serial log. */
export function initScript(modules: readonly string[]): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "bootgate-initramfs: loading ${modules.join(' ')}"
for m in ${modules.join(' ')}; do
  insmod /lib/modules/$m.ko || echo "bootgate-initramfs: insmod $m failed"
done
i=0
while [ ! -e /sys/class/net/eth0/address ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
# Silence kernel console messages so they cannot split the marker line.
echo 1 > /proc/sys/kernel/printk
if [ -e /sys/class/net/eth0/address ]; then
  echo "${MARKER} mac=$(cat /sys/class/net/eth0/address) uuid=$(cat /sys/class/dmi/id/product_uuid)"
else
  echo "BOOTGATE-FAILED no eth0: $(ls /sys/class/net)"
fi
# Let the UART drain before the machine disappears.
sleep 1
poweroff -f
`;
}

/** Builds the gzipped initramfs from a static busybox binary and the module files (name -> path). */
export function buildInitramfs(busyboxPath: string, modules: ReadonlyArray<{ name: string; path: string }>): Buffer {
  const dir = (path: string): CpioEntry => ({ path, mode: S_IFDIR | 0o755 });
  const entries: CpioEntry[] = [
    dir('bin'), dir('dev'), dir('proc'), dir('sys'), dir('lib'), dir('lib/modules'),
    // The kernel opens /dev/console for init's stdio before /init could mount devtmpfs.
    { path: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { path: 'bin/busybox', mode: S_IFREG | 0o755, data: readFileSync(busyboxPath) },
    { path: 'bin/sh', mode: S_IFLNK | 0o777, data: Buffer.from('busybox') },
    { path: 'init', mode: S_IFREG | 0o755, data: Buffer.from(initScript(modules.map((m) => m.name))) },
    ...modules.map((m) => ({ path: `lib/modules/${m.name}.ko`, mode: S_IFREG | 0o644, data: readFileSync(m.path) })),
  ];
  return gzipSync(cpioNewc(entries), { level: 9 });
}

/** True when the ELF file has no PT_INTERP program header, i.e. it needs no dynamic loader. */
export function isStaticElf(bin: Buffer): boolean {
  if (bin.length < 64 || bin.readUInt32BE(0) !== 0x7f454c46 || bin[4] !== 2) return false; // ELF64 only
  const phoff = Number(bin.readBigUInt64LE(0x20));
  const phentsize = bin.readUInt16LE(0x36);
  const phnum = bin.readUInt16LE(0x38);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > bin.length) return false;
    if (bin.readUInt32LE(off) === PT_INTERP) return false;
  }
  return true;
}
