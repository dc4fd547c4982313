/**
 * Client system architecture (DHCP option 93) to the family a boot program is chosen by.
 * IANA "Processor Architecture Types" registry (RFC 4578 section 2.1, updated by RFC 5970).
 * RFC 4578 listed 7 as "EFI BC" and 9 as "EFI x86-64"; real x64 firmware sends 7 (OVMF does),
 * and some send 9, so both are x64.
 */
import { ClientArch } from '../protocol/dhcp/constants.js';
import type { ArchKey } from './types.js';

export interface ArchEntry { arch: ArchKey | null; http: boolean; name: string }

export const ARCH_TABLE: ReadonlyMap<number, ArchEntry> = new Map<number, ArchEntry>([
  [ClientArch.X86_BIOS, { arch: 'bios', http: false, name: 'x86 BIOS' }],
  [ClientArch.X86_UEFI, { arch: 'efi-ia32', http: false, name: 'x86 UEFI' }],
  [ClientArch.X64_UEFI, { arch: 'efi-x64', http: false, name: 'x64 UEFI' }],
  [ClientArch.EBC, { arch: 'efi-x64', http: false, name: 'EBC / x64 UEFI' }],
  [ClientArch.ARM32_UEFI, { arch: 'efi-arm32', http: false, name: 'ARM32 UEFI' }],
  [ClientArch.ARM64_UEFI, { arch: 'efi-arm64', http: false, name: 'ARM64 UEFI' }],
  [ClientArch.X86_UEFI_HTTP, { arch: 'efi-ia32', http: true, name: 'x86 UEFI HTTP' }],
  [ClientArch.X64_UEFI_HTTP, { arch: 'efi-x64', http: true, name: 'x64 UEFI HTTP' }],
  [ClientArch.EBC_HTTP, { arch: 'efi-x64', http: true, name: 'EBC UEFI HTTP' }],
  [ClientArch.ARM32_UEFI_HTTP, { arch: 'efi-arm32', http: true, name: 'ARM32 UEFI HTTP' }],
  [ClientArch.ARM64_UEFI_HTTP, { arch: 'efi-arm64', http: true, name: 'ARM64 UEFI HTTP' }],
  [ClientArch.X86_BIOS_HTTP, { arch: 'bios', http: true, name: 'x86 BIOS HTTP' }],
  [ClientArch.RISCV64_UEFI, { arch: 'efi-riscv64', http: false, name: 'RISC-V 64 UEFI' }],
  [ClientArch.RISCV64_UEFI_HTTP, { arch: 'efi-riscv64', http: true, name: 'RISC-V 64 UEFI HTTP' }],
]);

/** Option 60 `PXEClient:Arch:00007:UNDI:003000` carries the architecture too; used when option 93 is missing. */
export function archFromVendorClass(vendorClass: string): number | null {
  const m = /^(?:PXEClient|HTTPClient):Arch:(\d{5})/.exec(vendorClass);
  return m?.[1] ? Number(m[1]) : null;
}
