/**
 * Client system architecture (DHCP option 93) to the family a boot program is chosen by.
 * IANA "Processor Architecture Types" registry (RFC 4578 section 2.1, updated by RFC 5970).
 * RFC 4578 listed 7 as "EFI BC" and 9 as "EFI x86-64"; real x64 firmware sends 7 (OVMF does),
 * and some send 9, so both are x64.
 */
import type { ArchKey } from './types.js';

export interface ArchEntry { arch: ArchKey | null; http: boolean; name: string }

export const ARCH_TABLE: ReadonlyMap<number, ArchEntry> = new Map<number, ArchEntry>([
  [0, { arch: 'bios', http: false, name: 'x86 BIOS' }],
  [6, { arch: 'efi-ia32', http: false, name: 'x86 UEFI' }],
  [7, { arch: 'efi-x64', http: false, name: 'x64 UEFI' }],
  [9, { arch: 'efi-x64', http: false, name: 'EBC / x64 UEFI' }],
  [10, { arch: 'efi-arm32', http: false, name: 'ARM32 UEFI' }],
  [11, { arch: 'efi-arm64', http: false, name: 'ARM64 UEFI' }],
  [15, { arch: 'efi-ia32', http: true, name: 'x86 UEFI HTTP' }],
  [16, { arch: 'efi-x64', http: true, name: 'x64 UEFI HTTP' }],
  [17, { arch: 'efi-x64', http: true, name: 'EBC UEFI HTTP' }],
  [18, { arch: 'efi-arm32', http: true, name: 'ARM32 UEFI HTTP' }],
  [19, { arch: 'efi-arm64', http: true, name: 'ARM64 UEFI HTTP' }],
  [20, { arch: 'bios', http: true, name: 'x86 BIOS HTTP' }],
  [27, { arch: 'efi-riscv64', http: false, name: 'RISC-V 64 UEFI' }],
  [28, { arch: 'efi-riscv64', http: true, name: 'RISC-V 64 UEFI HTTP' }],
]);

/** Option 60 `PXEClient:Arch:00007:UNDI:003000` carries the architecture too; used when option 93 is missing. */
export function archFromVendorClass(vendorClass: string): number | null {
  const m = /^(?:PXEClient|HTTPClient):Arch:(\d{5})/.exec(vendorClass);
  return m?.[1] ? Number(m[1]) : null;
}
