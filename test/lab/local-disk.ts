/**
 * Local disks for lab VMs and one power-on of a lab VM, for the tests where a machine either boots from
 * the network (the initramfs marker) or falls through to its disk (the disk's marker: a BIOS boot
 * sector, or an EFI program on an EFI system partition).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MARKER_RE } from './initramfs.js';
import type { Lab } from './netns.js';
import { startClient, type ClientOptions } from './qemu.js';
import { HANG_MS, runCommand } from './procs.js';

/** What the local disk prints (its BIOS boot sector and its EFI program alike). */
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

/**
 * The EFI program \EFI\BOOT\BOOTX64.EFI of the UEFI local disk: ConOut->OutputString(marker), which
 * OVMF's console mirrors to the serial port, then RuntimeServices->ResetSystem(EfiResetShutdown), which
 * powers the VM off (QEMU exits). x86-64 Microsoft calling convention (arguments in rcx, rdx, r8, r9,
 * 32 bytes of shadow space, rsp 16-byte aligned at the call); offsets from the UEFI specification:
 * EFI_SYSTEM_TABLE.ConOut 0x40 and .RuntimeServices 0x58, OutputString 0x08 in the text output
 * protocol, ResetSystem 0x68 in the runtime services. Position-independent (rip-relative), so the
 * PE32+ needs no relocations.
 *
 * Assembled at test time with binutils (`as --64`, `ld -m i386pep --subsystem 10`, the PE32+ EFI
 * application target Debian's x86-64 ld carries) rather than GRUB (grub-mkstandalone: megabytes,
 * seconds of start-up under TCG, and a second GRUB package next to the signed one the Secure Boot
 * tests use) or a PE32+ header typed in by hand here (nothing would check its fields but OVMF).
 */
const BOOTX64_S = `
    .text
    .globl _start
_start:
    sub $40, %rsp              # shadow space; rsp was 8 mod 16 after the firmware's call
    mov %rdx, %rbx             # EFI_SYSTEM_TABLE *
    mov 0x40(%rdx), %rcx       # ConOut
    lea msg(%rip), %rdx
    call *0x08(%rcx)           # ConOut->OutputString(ConOut, msg)
    mov 0x58(%rbx), %rax       # RuntimeServices
    mov $2, %ecx               # EfiResetShutdown
    xor %edx, %edx             # EFI_SUCCESS
    xor %r8d, %r8d             # no reset data
    xor %r9d, %r9d
    call *0x68(%rax)           # ResetSystem: does not return
1:  hlt
    jmp 1b
    .balign 2
msg: .string16 "\\r\\nBOOTGATE-LOCAL-DISK\\r\\n"
`;

/** The EFI system partition's first sector on the UEFI local disk (1 MiB, as partitioning tools align). */
const ESP_START_LBA = 2048;
const ESP_BYTES = 8 * 1024 * 1024;

/** An MBR disk whose one partition, type 0xef, is an EFI system partition holding efiFile as \EFI\BOOT\BOOTX64.EFI. */
async function espDisk(dir: string, name: string, efiFile: string, mbrCode?: Buffer): Promise<string> {
  const esp = join(dir, `${name}-esp.img`);
  writeFileSync(esp, Buffer.alloc(ESP_BYTES));
  await runCommand(['mformat', '-i', esp, '-v', 'BOOTGATE', '::']);
  await runCommand(['mmd', '-i', esp, '::/EFI', '::/EFI/BOOT']);
  await runCommand(['mcopy', '-i', esp, efiFile, '::/EFI/BOOT/BOOTX64.EFI']);
  const mbr = Buffer.alloc(ESP_START_LBA * 512);
  mbrCode?.copy(mbr, 0, 0, 446);
  // Partition entry 1 (offset 446): not active; CHS fields 0xfe 0xff 0xff ("use the LBA fields");
  // type 0xef (EFI system partition); first LBA; sector count. Then the 0x55 0xaa signature.
  const entry = mbr.subarray(446, 462);
  Buffer.from([0xfe, 0xff, 0xff]).copy(entry, 1);
  entry[4] = 0xef;
  Buffer.from([0xfe, 0xff, 0xff]).copy(entry, 5);
  entry.writeUInt32LE(ESP_START_LBA, 8);
  entry.writeUInt32LE(statSync(esp).size / 512, 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const path = join(dir, `${name}.img`);
  writeFileSync(path, Buffer.concat([mbr, readFileSync(esp)]));
  return path;
}

/**
 * A local disk both firmwares boot: an MBR whose code area is the BIOS boot sector above (SeaBIOS runs
 * it) and whose one partition is an EFI system partition (FAT, made with mtools without mounting
 * anything) holding \EFI\BOOT\BOOTX64.EFI, the removable-media path OVMF boots from a disk with no
 * boot entry of its own. Both print BOOTGATE-LOCAL-DISK and power off. Needs binutils and mtools.
 */
export async function uefiLocalDisk(dir: string): Promise<string> {
  const src = join(dir, 'bootx64.S');
  const obj = join(dir, 'bootx64.o');
  const efi = join(dir, 'BOOTX64.EFI');
  writeFileSync(src, BOOTX64_S);
  await runCommand(['as', '--64', '-o', obj, src]);
  await runCommand(['ld', '-m', 'i386pep', '--subsystem', '10', '-e', '_start', '-s', '--no-insert-timestamp', '-o', efi, obj]);
  return espDisk(dir, 'uefi-local-disk', efi, Buffer.from(BOOT_SECTOR_CODE, 'hex'));
}

/** A disk that starts an EFI program (e.g. ipxe.efi, as an iPXE USB stick) from its EFI system partition. */
export function efiProgramDisk(dir: string, name: string, efiFile: string): Promise<string> {
  return espDisk(dir, name, efiFile);
}

/**
 * QEMU arguments for UEFI disks booted in this order (bootindex 0, 1, ...) with the NIC left out of
 * the boot order (OVMF then offers no network boot option): e.g. iPXE on a disk, then the local disk.
 */
export function uefiDiskBootOrder(disks: readonly string[]): string[] {
  return disks.flatMap((file, i) => [
    '-drive', `if=none,id=bootdisk${i},file=${file},format=raw,snapshot=on`,
    '-device', `ide-hd,drive=bootdisk${i},bus=ide.${Math.floor(i / 2)},unit=${i % 2},bootindex=${i}`,
  ]);
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
