/**
 * What the firmware lab needs from the machine, as one list of human-readable problems, so an e2e
 * test fails with "install X" instead of an obscure spawn error (nothing is skipped).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { OVMF_CODE, OVMF_VARS } from './qemu.js';
import { IPXE_DIR, IPXE_FILES, bootgateCli } from './appliance.js';
import { findStaticBusybox } from './assets.js';

/** Program -> Debian package that provides it. */
const PROGRAMS: Record<string, string> = {
  ip: 'iproute2',
  ss: 'iproute2',
  'qemu-system-x86_64': 'qemu-system-x86',
  dnsmasq: 'dnsmasq-base',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
  sh: 'dash',
};

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => {
    try {
      accessSync(join(d, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** What local-disk.ts uefiLocalDisk builds the UEFI local disk with. */
const UEFI_DISK_PROGRAMS: Record<string, string> = { as: 'binutils', ld: 'binutils', mformat: 'mtools', mmd: 'mtools', mcopy: 'mtools' };

export function missingPrerequisites(opts: { bootgate?: boolean; capture?: boolean; uefiDisk?: boolean } = {}): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root privileges (network namespaces, tap devices)');
  if (process.platform !== 'linux') missing.push('Linux');
  for (const [program, pkg] of Object.entries(PROGRAMS)) {
    if (!onPath(program)) missing.push(`${program} (Debian package ${pkg})`);
  }
  if (opts.uefiDisk) {
    for (const [program, pkg] of Object.entries(UEFI_DISK_PROGRAMS)) if (!onPath(program)) missing.push(`${program} (Debian package ${pkg})`);
  }
  if (opts.capture && !onPath('tshark')) missing.push('tshark (Debian package tshark)');
  if (!existsSync('/dev/net/tun')) missing.push('/dev/net/tun (tap devices for QEMU)');
  for (const f of [OVMF_CODE, OVMF_VARS]) if (!existsSync(f)) missing.push(`${f} (Debian package ovmf)`);
  for (const f of IPXE_FILES) if (!existsSync(join(IPXE_DIR, f))) missing.push(`${join(IPXE_DIR, f)} (Debian package ipxe)`);
  // SeaBIOS loads the NIC's iPXE option ROM from here (QEMU's firmware path).
  if (!existsSync('/usr/lib/ipxe/qemu/efi-virtio.rom')) missing.push('/usr/lib/ipxe/qemu/efi-virtio.rom (Debian package ipxe-qemu)');
  if (!existsSync('/usr/share/seabios/bios-256k.bin')) missing.push('/usr/share/seabios/bios-256k.bin (Debian package seabios)');
  try {
    findStaticBusybox();
  } catch (err) {
    missing.push((err as Error).message);
  }
  if (opts.bootgate && !existsSync(bootgateCli())) missing.push(`${bootgateCli()} (build: npx tsc -p tsconfig.json)`);
  return missing;
}
