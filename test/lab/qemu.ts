/**
 * QEMU network-boot clients on the lab bridge (TCG only: /dev/kvm here is a nested software module
 * under which the firmware crashes; see firmware-lab.md).
 *
 *   bios: SeaBIOS; the virtio-net NIC keeps QEMU's default option ROM, which is iPXE, so the very
 *         first DISCOVER already carries user class "iPXE".
 *   uefi: OVMF with its own PXE: OVMF_CODE read-only, a fresh copy of OVMF_VARS per VM, and the NIC
 *         with an empty romfile, otherwise QEMU's iPXE EFI ROM would boot instead of the firmware.
 *         With a disk, the NIC comes first in the boot order and the disk second.
 *
 *   uefi-secureboot: OVMF with Secure Boot enforced and Microsoft's keys enrolled (Debian's 4 MB
 *         secboot build with OVMF_VARS_4M.ms.fd, which trusts the CA that signs Debian's shim); it
 *         needs q35 with SMM and the flash marked secure, and refuses unsigned programs ("Access Denied").
 *   uefi-secureboot-snakeoil: the same with Debian's test keys instead (a test signs with sbsign).
 *
 * The VM runs inside the switch namespace on its own tap. The serial console goes to a file; the
 * lab's initramfs prints the marker there and powers the VM off, which ends QEMU.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Lab } from './netns.js';
import { readText } from './netns.js';
import { HANG_MS, exitOf, waitForText, type ExitInfo, type Tracked } from './procs.js';
import { MARKER_RE } from './initramfs.js';

export type Firmware = 'bios' | 'uefi' | 'uefi-secureboot' | 'uefi-secureboot-snakeoil';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';
export const OVMF_CODE_SECBOOT = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd';
export const OVMF_VARS_MS = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd';
/** Secure Boot on with Debian's test keys enrolled (PkKek-1-snakeoil.key/.pem sign what a test boots). */
export const OVMF_VARS_SNAKEOIL = '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd';

export interface ClientOptions {
  firmware: Firmware;
  /** Defaults to a random locally administered 52:54:00:xx:xx:xx address. */
  mac?: string;
  /** SMBIOS system UUID (arrives as option 97); defaults to a random one. */
  uuid?: string;
  memoryMb?: number;
  /** A name for the serial log and process; defaults to the firmware plus a counter. */
  name?: string;
  /** More QEMU arguments, e.g. `-qmp unix:...` to type into the VM with send-key (password prompts). */
  extraArgs?: string[];
  /**
   * A raw disk image attached as the first IDE disk (opened with snapshot=on, never written). The
   * client then tries the network first and falls back to this disk (local-disk fall-through), as a
   * PC set to network-first does. UEFI clients need a disk with an EFI system partition
   * (local-disk.ts uefiLocalDisk).
   */
  disk?: string;
}

export interface Marker {
  mac: string;
  uuid: string;
  line: string;
}

export interface Client {
  readonly name: string;
  readonly firmware: Firmware;
  readonly mac: string;
  readonly uuid: string;
  readonly tap: string;
  readonly serialPath: string;
  readonly process: Tracked;
  readonly startedAt: number;
  /** The serial console so far. */
  serial(): string;
  /**
   * Resolves with the first serial line matching re, or null when the VM exits first or timeoutMs
   * (a safety net for a hung VM, HANG_MS by default) passes. Does not stop the VM.
   */
  waitForSerial(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray | null>;
  /** Waits for the VM to exit by itself (its exit event; bounded by timeoutMs, HANG_MS by default); null on timeout. */
  waitForExit(timeoutMs?: number): Promise<ExitInfo | null>;
  /** Kills the VM (SIGTERM, then SIGKILL) and removes its tap. */
  stop(): Promise<void>;
}

export interface BootResult {
  mac: string;
  uuid: string;
  marker: Marker | null;
  serial: string;
  /** From QEMU start to the marker line (or to the end of waiting). */
  durationMs: number;
  exit: ExitInfo | null;
  timedOut: boolean;
}

let clientCount = 0;

export function randomMac(): string {
  const b = randomBytes(3);
  return `52:54:00:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

function firmwareArgs(lab: Lab, firmware: Firmware, name: string, disk?: string): { machine: string; args: string[]; nicRom: string[] } {
  if (firmware === 'bios') {
    // reboot-timeout + -no-reboot: when nothing boots, SeaBIOS reboots after 1 s and QEMU exits.
    if (disk) return { machine: 'pc', args: ['-drive', `file=${disk},format=raw,if=ide,snapshot=on`, '-boot', 'order=nc,reboot-timeout=1000'], nicRom: [] };
    return { machine: 'pc', args: ['-boot', 'order=n,strict=on,reboot-timeout=1000'], nicRom: [] };
  }
  const secure = firmware !== 'uefi';
  const [code, varsTemplate] = !secure ? [OVMF_CODE, OVMF_VARS] : [OVMF_CODE_SECBOOT, firmware === 'uefi-secureboot' ? OVMF_VARS_MS : OVMF_VARS_SNAKEOIL];
  for (const f of [code, varsTemplate]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: install the Debian package ovmf`);
  }
  const vars = join(lab.dir, `${name}-OVMF_VARS.fd`);
  copyFileSync(varsTemplate, vars);
  const machine = secure ? 'q35,smm=on' : 'pc';
  const pflash = [
    ...(secure ? ['-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${code}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
  ];
  // OVMF orders its boot options by the bootindex properties QEMU passes in fw_cfg ("bootorder"):
  // the NIC's PXE first, then the disk's EFI system partition (\EFI\BOOT\BOOTX64.EFI).
  if (disk) {
    return {
      machine,
      args: [...pflash, '-drive', `if=none,id=disk0,file=${disk},format=raw,snapshot=on`, '-device', 'ide-hd,drive=disk0,bus=ide.0,unit=0,bootindex=2'],
      nicRom: ['romfile=', 'bootindex=1'],
    };
  }
  return { machine, args: [...pflash, '-boot', 'order=n'], nicRom: ['romfile='] };
}

/** Starts one VM on a new tap in the lab's switch namespace. */
export async function startClient(lab: Lab, opts: ClientOptions): Promise<Client> {
  clientCount += 1;
  const name = opts.name ?? `${opts.firmware}${clientCount}`;
  const mac = (opts.mac ?? randomMac()).toLowerCase();
  const uuid = (opts.uuid ?? randomUUID()).toLowerCase();
  const serialPath = join(lab.dir, `${name}.serial`);
  const fw = firmwareArgs(lab, opts.firmware, name, opts.disk);
  const tap = await lab.addTap();
  const nic = ['virtio-net-pci', 'netdev=n0', `mac=${mac}`, ...fw.nicRom].join(',');
  const argv = [
    'qemu-system-x86_64',
    '-accel', 'tcg',
    '-machine', `${fw.machine},graphics=off`,
    '-m', String(opts.memoryMb ?? 512),
    '-uuid', uuid,
    '-display', 'none',
    '-monitor', 'none',
    '-serial', `file:${serialPath}`,
    '-no-reboot',
    '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`,
    '-device', nic,
    ...fw.args,
    ...(opts.extraArgs ?? []),
  ];
  const proc = lab.spawn(`qemu-${name}`, argv, lab.swNs);
  const startedAt = Date.now();
  const serial = (): string => readText(serialPath);
  return {
    name,
    firmware: opts.firmware,
    mac,
    uuid,
    tap,
    serialPath,
    process: proc,
    startedAt,
    serial,
    // The serial console's own changes drive the wait (waitForText also reads it once more after the
    // VM exits: it may have printed the line just before).
    waitForSerial: async (re, timeoutMs = HANG_MS) => (await waitForText(serialPath, re, proc, timeoutMs)) || null,
    waitForExit: (timeoutMs = HANG_MS) => exitOf(proc, timeoutMs),
    stop: async () => {
      await lab.stop(proc);
      await lab.removeTap(tap).catch(() => undefined);
    },
  };
}

/**
 * Boots one VM until the marker appears, lets it power off, and always stops it. Both waits end on
 * the event (the marker on the serial console, QEMU's exit); timeoutMs (HANG_MS by default) only
 * ends a VM that hangs, which is then killed.
 */
export async function bootClient(lab: Lab, opts: ClientOptions & { timeoutMs?: number }): Promise<BootResult> {
  const timeoutMs = opts.timeoutMs ?? HANG_MS;
  const client = await startClient(lab, opts);
  try {
    const m = await client.waitForSerial(MARKER_RE, timeoutMs);
    const durationMs = Date.now() - client.startedAt;
    // /init powers off right after the marker; under load QEMU may take a while to get there.
    const exit = m ? await client.waitForExit(timeoutMs) : client.process.exitInfo;
    return {
      mac: client.mac,
      uuid: client.uuid,
      marker: m ? { mac: m[1] ?? '', uuid: m[2] ?? '', line: m[0] } : null,
      serial: client.serial(),
      durationMs,
      exit,
      timedOut: !m && !client.process.exitInfo,
    };
  } finally {
    await client.stop();
  }
}
