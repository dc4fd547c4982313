/**
 * Whether the configured profiles can boot what they name: every boot file per architecture, the
 * template file, the boot-once marker, all present in the boot root; and every template renders (no
 * placeholder the script door does not fill). Checked at start, on reload and on each /readyz.
 */
import { readFileSync } from 'node:fs';
import { resolveInRoot } from '../files/root.js';
import type { BootgateConfig, ProfileConfig } from '../config/schema.js';
import type { ArchKey } from '../policy/types.js';

export interface MissingFile {
  profile: string;
  /** The architecture a boot file is for; null for a template or a boot-once marker. */
  arch: ArchKey | null;
  what: 'boot file' | 'HTTP boot file' | 'Secure Boot file' | 'script template' | 'boot-once marker' | 'kernel' | 'initrd';
  path: string;
}

/** The placeholders the script door fills (daemon/boot/content.ts). */
export const SCRIPT_PLACEHOLDERS = ['server', 'http', 'tftp', 'mac', 'guid', 'uuid', 'guidwire', 'arch', 'profile', 'computer', 'script'] as const;

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

function wanted(name: string, p: ProfileConfig): Array<Omit<MissingFile, 'profile'>> {
  const files: Array<Omit<MissingFile, 'profile'>> = [];
  for (const [arch, path] of Object.entries(p.bootFiles) as Array<[ArchKey, string]>) files.push({ arch, what: 'boot file', path });
  for (const [arch, path] of Object.entries(p.httpBootFiles) as Array<[ArchKey, string]>) files.push({ arch, what: 'HTTP boot file', path });
  for (const [arch, path] of Object.entries(p.secureBootFiles ?? {}) as Array<[ArchKey, string]>) {
    files.push({ arch, what: 'Secure Boot file', path });
    // shim loads the second stage from its own folder by this fixed name.
    const shim = /^(.*\/)?shim[a-z0-9]*\.efi$/i.exec(path);
    if (shim) files.push({ arch, what: 'Secure Boot file', path: `${shim[1] ?? ''}grub${path.slice(path.lastIndexOf('/') + 1).slice(4)}` });
  }
  if (p.linux) {
    files.push({ arch: null, what: 'kernel', path: p.linux.kernel });
    if (p.linux.initrd !== null) files.push({ arch: null, what: 'initrd', path: p.linux.initrd });
  }
  if (p.ipxeScript === null && p.ipxeScriptFile !== null) files.push({ arch: null, what: 'script template', path: p.ipxeScriptFile });
  if (p.bootOnceMarker !== null) files.push({ arch: null, what: 'boot-once marker', path: p.bootOnceMarker });
  return files;
}

/** Every file a profile names that is not a readable regular file inside the root. */
export async function missingProfileFiles(cfg: Pick<BootgateConfig, 'root' | 'profiles'>): Promise<MissingFile[]> {
  const missing: MissingFile[] = [];
  for (const [name, p] of Object.entries(cfg.profiles)) {
    for (const f of wanted(name, p)) {
      if (!(await resolveInRoot(cfg.root, f.path)).ok) missing.push({ profile: name, ...f });
    }
  }
  return missing;
}

export function describeMissing(m: MissingFile): string {
  return `profile ${m.profile}: ${m.arch ? `${m.arch} ` : ''}${m.what} ${m.path} is not in the boot root`;
}

/** Placeholders in a template that would reach the client unrendered. */
export function unknownPlaceholders(template: string): string[] {
  const known: readonly string[] = SCRIPT_PLACEHOLDERS;
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '').filter((n) => !known.includes(n));
}

/**
 * Templates that do not render: an unknown `{{placeholder}}` (a typo would reach iPXE as text). A
 * template file that is missing is a missing file, not this; one that cannot be read as text is this.
 */
export function templateProblems(cfg: Pick<BootgateConfig, 'root' | 'profiles'>, read = (p: string) => readFileSync(p, 'utf8')): string[] {
  const problems: string[] = [];
  for (const [name, p] of Object.entries(cfg.profiles)) {
    let text = p.ipxeScript;
    let where = `profiles.${name}.ipxeScript`;
    if (text === null && p.ipxeScriptFile !== null) {
      where = `profiles.${name}.ipxeScriptFile (${p.ipxeScriptFile})`;
      try {
        text = read(`${cfg.root}/${p.ipxeScriptFile.replace(/^[/\\]+/, '')}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${where}: cannot be read: ${(err as Error).message}`);
        continue;
      }
    }
    if (text === null) continue;
    const unknown = unknownPlaceholders(text);
    if (unknown.length > 0) {
      problems.push(`${where}: unknown placeholder ${unknown.map((u) => `{{${u}}}`).join(', ')} (known: ${SCRIPT_PLACEHOLDERS.join(', ')})`);
    }
  }
  return problems;
}

export interface ProfileReadiness {
  missing: MissingFile[];
  /** 'ok', or why the profile unknown machines get cannot boot them (what makes /readyz 503). */
  unknownProfile: string;
}

/**
 * A missing file of the profile unknown machines get makes the appliance not ready (every new machine
 * would fail there); missing files of other profiles are listed and counted, a warning.
 */
export async function profileReadiness(cfg: Pick<BootgateConfig, 'root' | 'profiles' | 'policy'>): Promise<ProfileReadiness> {
  const missing = await missingProfileFiles(cfg);
  const unknown = cfg.policy.unknown;
  const own = unknown.action === 'ignore' ? [] : missing.filter((m) => m.profile === unknown.profile);
  const hint = cfg.profiles[unknown.profile]?.menu ? ' (npm run fetch-boot puts iPXE there)' : '';
  return {
    missing,
    unknownProfile: own.length === 0 ? 'ok' : `${own.map(describeMissing).join('; ')}${hint}`,
  };
}

/** The gauge says, per configured profile, how many of its files are missing (0 for a complete one). */
export function countMissing(gauge: { reset(): void; set(labels: { profile: string }, v: number): void }, profiles: Record<string, unknown>, missing: readonly MissingFile[]): void {
  gauge.reset();
  for (const name of Object.keys(profiles)) gauge.set({ profile: name }, missing.filter((m) => m.profile === name).length);
}
