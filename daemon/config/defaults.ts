/**
 * The zero-config profile: `bootgate serve --root DIR` boots whatever the boot tree holds. BIOS clients
 * get undionly.kpxe, UEFI x64 ipxe.efi (or snponly.efi), iPXE clients boot.ipxe; without iPXE, Windows
 * clients get wdsnbp.com / pxeboot.n12 (BIOS) and bootmgfw.efi (UEFI) where those are present.
 */
import { readdirSync } from 'node:fs';
import type { ArchKey } from '../policy/types.js';
import type { BootgateConfig, ProfileConfig } from './schema.js';

/** Candidates per architecture, best first; names matched case-insensitively (Windows trees vary). */
const CANDIDATES: Record<ArchKey, string[]> = {
  bios: ['undionly.kpxe', 'undionly.kkpxe', 'ipxe.pxe', 'wdsnbp.com', 'pxeboot.n12', 'pxeboot.com'],
  'efi-x64': ['ipxe.efi', 'snponly.efi', 'bootmgfw.efi', 'wdsmgfw.efi'],
  'efi-ia32': ['ipxe-ia32.efi', 'bootia32.efi'],
  'efi-arm64': ['ipxe-arm64.efi', 'bootaa64.efi'],
  'efi-arm32': ['ipxe-arm32.efi'],
  'efi-riscv64': ['ipxe-riscv64.efi'],
};

const SCRIPT_NAMES = ['boot.ipxe', 'autoexec.ipxe'];

export function defaultProfile(root: string): ProfileConfig {
  let names: string[] = [];
  try {
    names = readdirSync(root, { withFileTypes: true }).filter((d) => d.isFile() || d.isSymbolicLink()).map((d) => d.name);
  } catch {
    // An unreadable root is reported by readiness; the profile is simply empty.
  }
  const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
  const pick = (cands: string[]) => cands.map((c) => byLower.get(c)).find((n) => n !== undefined);
  const bootFiles: Partial<Record<ArchKey, string>> = {};
  for (const [arch, cands] of Object.entries(CANDIDATES) as Array<[ArchKey, string[]]>) {
    const file = pick(cands);
    if (file) bootFiles[arch] = file;
  }
  const script = pick(SCRIPT_NAMES) ?? null;
  return {
    description: `zero-config profile from the files in ${root}`,
    bootFiles,
    httpBootFiles: {},
    ipxeScript: null,
    ipxeScriptFile: script,
    bootOnceMarker: null,
    bcdPath: null,
    kind: 'available',
  };
}

/** The config with its profiles completed: the zero-config profile when none is configured. */
export function effectiveConfig(cfg: BootgateConfig): BootgateConfig {
  if (Object.keys(cfg.profiles).length > 0) return cfg;
  return { ...cfg, profiles: { [cfg.policy.unknown.profile]: defaultProfile(cfg.root) } };
}

/** Problems that make a config unusable although it is well-formed. */
export function configProblems(cfg: BootgateConfig): string[] {
  const problems: string[] = [];
  if (cfg.policy.unknown.action === 'boot' && !cfg.profiles[cfg.policy.unknown.profile]) {
    problems.push(`policy.unknown.profile: expected the name of a profile (${Object.keys(cfg.profiles).join(', ') || 'none defined'}), found "${cfg.policy.unknown.profile}"`);
  }
  return problems;
}
