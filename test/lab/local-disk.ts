/**
 * A local disk for lab VMs and one power-on of a lab VM, for the tests where a machine either boots from
 * the network (the initramfs marker) or falls through to its disk (the boot sector's marker).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MARKER_RE } from './initramfs.js';
import type { Lab } from './netns.js';
import { startClient, type ClientOptions } from './qemu.js';
import { HANG_MS } from './procs.js';

/** What the local disk's boot sector prints. */
export const LOCAL_RE = /BOOTGATE-LOCAL-DISK/;
/**
 * The safety net for one power-on reaching either marker under TCG: a hang bound, not an expected
 * duration (an idle machine needs ~7 s for BIOS, ~20 s for UEFI; a busy one several times that).
 */
export const VM_TIMEOUT_MS = HANG_MS;

/**
 * Boot sector: write "\r\nBOOTGATE-LOCAL-DISK\r\n" to COM1 (0x3f8, polling LSR bit 5), then power off
 * through the PIIX4 ACPI PM control port SeaBIOS sets up at 0x604 on QEMU's `pc` machine (SLP_EN),
 * then hlt forever. Bytes 510-511 are the 0x55 0xaa signature. Built with
 * `as --32 mbr.S && ld -m elf_i386 -Ttext 0x7c00 --oformat binary` from:
 *
 *   .code16                          wait: mov $0x3fd, %dx
 *   _start: cli                            in %dx, %al
 *     xor %ax, %ax                         test $0x20, %al
 *     mov %ax, %ds                         jz wait
 *     mov %ax, %ss                         mov $0x3f8, %dx
 *     mov $0x7c00, %sp                     mov %bl, %al
 *     cld                                  out %al, %dx
 *     mov $msg, %si                        jmp next
 *   next: lodsb                      done: mov $0x604, %dx
 *     test %al, %al                        mov $0x2000, %ax
 *     jz done                              out %ax, %dx
 *     mov %al, %bl                   halt: hlt
 *                                          jmp halt
 *   msg: .asciz "\r\nBOOTGATE-LOCAL-DISK\r\n"
 */
const BOOT_SECTOR_CODE = 'fa31c08ed88ed0bc007cfcbe2f7cac84c0741288c3bafd03eca82074f8baf80388d8eeebe9ba0406b80020eff4ebfd'
  + '0d0a424f4f54474154452d4c4f43414c2d4449534b0d0a00';

export function localDisk(dir: string): string {
  const img = Buffer.alloc(1024 * 1024);
  Buffer.from(BOOT_SECTOR_CODE, 'hex').copy(img, 0);
  img[510] = 0x55;
  img[511] = 0xaa;
  const path = join(dir, 'local-disk.img');
  writeFileSync(path, img);
  return path;
}

export interface VmRun {
  /** Which marker came first: the network-booted Linux, the local disk, or neither. */
  reached: 'linux' | 'local' | null;
  ms: number;
  /** Date.now() when the marker was seen on the serial console. */
  reachedAt: number;
  serial: string;
  linux: RegExpExecArray | null;
}

/** One power-on: starts the VM and waits for the first of the two markers (bounded); always stops it. */
export async function powerOn(lab: Lab, opts: ClientOptions, timeoutMs = VM_TIMEOUT_MS, onStart?: (serial: () => string) => Promise<void>): Promise<VmRun> {
  const vm = await startClient(lab, opts);
  try {
    const waiting = onStart ? onStart(() => vm.serial()) : Promise.resolve();
    const hit = await vm.waitForSerial(new RegExp(`${LOCAL_RE.source}|${MARKER_RE.source}`, 'm'), timeoutMs);
    const reachedAt = Date.now();
    await waiting;
    const ms = reachedAt - vm.startedAt;
    const serial = vm.serial();
    const linux = MARKER_RE.exec(serial);
    return { reached: hit ? (LOCAL_RE.test(hit[0]) ? 'local' : 'linux') : null, ms, reachedAt, serial, linux };
  } finally {
    await vm.stop();
  }
}
