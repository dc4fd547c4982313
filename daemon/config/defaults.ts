/**
 * The built-in boot menu and the zero-config profile. `bootgate serve --root DIR` with no profiles
 * configured gives every machine the menu (daemon/boot/menu.ts): iPXE (undionly.kpxe for BIOS, ipxe.efi
 * or snponly.efi for UEFI x64), then a menu whose default is the local disk. Nothing is deployed until
 * an admin configures a profile and points the policy at it. The profile `menu` is always there (unless
 * a configured profile takes the name), so `policy.unknown.profile: menu` keeps it with other profiles.
 * Windows boot programs in the tree are never offered on their own: a profile naming them is the
 * admin's decision to deploy.
 */
import { readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ArchKey } from '../policy/types.js';
import type { BootgateConfig, ProfileConfig } from './schema.js';

/** The name of the built-in menu profile. */
export const MENU_PROFILE = 'menu';

/** iPXE builds per architecture, best first (the menu is an iPXE script: nothing else can show it). */
const IPXE_CANDIDATES: Record<ArchKey, string[]> = {
  bios: ['undionly.kpxe', 'undionly.kkpxe', 'ipxe.pxe'],
  'efi-x64': ['ipxe.efi', 'snponly.efi'],
  'efi-ia32': ['ipxe-ia32.efi'],
  'efi-arm64': ['ipxe-arm64.efi'],
  'efi-arm32': ['ipxe-arm32.efi'],
  'efi-riscv64': ['ipxe-riscv64.efi'],
};

/**
 * Signed first-stage loaders per architecture for Secure Boot clients (`fetch-boot` puts Debian's
 * Microsoft-signed shim and the signed network GRUB beside it as grubx64.efi). Not expected when absent:
 * a tree without them serves no Secure Boot client, as before.
 */
const SECURE_BOOT_CANDIDATES: Record<ArchKey, string[]> = {
  bios: [],
  'efi-x64': ['shimx64.efi'],
  'efi-ia32': ['shimia32.efi'],
  'efi-arm64': ['shimaa64.efi'],
  'efi-arm32': [],
  'efi-riscv64': [],
};

/** The menu's small Linux, for loaders that cannot show the iPXE menu (GRUB, PXELINUX). */
const MENU_LINUX = { kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0,115200 console=tty0' };

/** What `fetch-boot` provides: expected even when absent, so readiness names the missing file. */
const MENU_EXPECTED: Partial<Record<ArchKey, string>> = { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' };

function rootPicker(root: string): (cands: string[]) => string | undefined {
  let names: string[] = [];
  try {
    names = readdirSync(root, { withFileTypes: true }).filter((d) => d.isFile() || d.isSymbolicLink()).map((d) => d.name);
  } catch {
    // An unreadable root is reported by readiness; the profile is simply empty.
  }
  const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
  return (cands) => cands.map((c) => byLower.get(c)).find((n) => n !== undefined);
}

function pickFiles(pick: (cands: string[]) => string | undefined, candidates: Record<ArchKey, string[]>): Partial<Record<ArchKey, string>> {
  const bootFiles: Partial<Record<ArchKey, string>> = {};
  for (const [arch, cands] of Object.entries(candidates) as Array<[ArchKey, string[]]>) {
    const file = pick(cands);
    if (file) bootFiles[arch] = file;
  }
  return bootFiles;
}

/** The built-in menu: iPXE for each architecture the tree has it for (BIOS and UEFI x64 always named). */
export function menuProfile(root: string): ProfileConfig {
  const pick = rootPicker(root);
  const bootFiles = { ...MENU_EXPECTED, ...pickFiles(pick, IPXE_CANDIDATES) };
  const linux = pick([MENU_LINUX.kernel]) && pick([MENU_LINUX.initrd]) ? MENU_LINUX : null;
  return {
    description: 'built-in boot menu: local disk by default, a small Linux, an iPXE shell, the profiles with an iPXE script',
    bootFiles,
    httpBootFiles: {},
    secureBootFiles: pickFiles(pick, SECURE_BOOT_CANDIDATES),
    linux,
    ipxeScript: null,
    ipxeScriptFile: null,
    bootOnceMarker: null,
    bcdPath: null,
    kind: 'available',
    // The menu itself deploys nothing; a profile picked from it keeps its own password gate.
    password: { mode: 'none', files: [] },
    menu: true,
  };
}

/**
 * The config with its profiles completed: the built-in `menu` (unless configured), and with no profile
 * configured, the menu under the name unknown machines are given too.
 */
export function effectiveConfig(cfg: BootgateConfig): BootgateConfig {
  const configured = Object.keys(cfg.profiles).length > 0;
  const profiles: Record<string, ProfileConfig> = { ...cfg.profiles };
  if (!profiles[MENU_PROFILE]) profiles[MENU_PROFILE] = menuProfile(cfg.root);
  const unknown = cfg.policy.unknown.profile;
  if (!configured && !profiles[unknown]) profiles[unknown] = menuProfile(cfg.root);
  return { ...cfg, profiles };
}

/** Problems that make a config unusable although it is well-formed. */
export function configProblems(cfg: BootgateConfig): string[] {
  const problems: string[] = [];
  if (cfg.policy.unknown.action === 'boot' && !cfg.profiles[cfg.policy.unknown.profile]) {
    problems.push(`policy.unknown.profile: expected the name of a profile (${Object.keys(cfg.profiles).join(', ') || 'none defined'}), found "${cfg.policy.unknown.profile}"`);
  }
  if (cfg.admin.address !== null && cfg.admin.port === null) {
    problems.push(`admin.address: ${cfg.admin.address} needs admin.port (without it the admin API and /metrics are served by the boot HTTP listener)`);
  }
  if (cfg.admin.port !== null && cfg.admin.port !== 0 && cfg.http.enabled && cfg.admin.port === cfg.http.port) {
    problems.push(`admin.port: ${cfg.admin.port} is http.port too; give the admin listener its own port, or leave admin.port null to serve the admin API from the boot HTTP listener`);
  }
  return problems;
}

/** A listen address as a host to connect to from this machine (a wildcard is reached on loopback). */
function hostFor(address: string): string {
  if (address === '' || address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}

/** The admin listener's self-signed pair, next to the store; null for a store in memory (the pair is then made per start). */
export function selfSignedPaths(storePath: string): { cert: string; key: string } | null {
  if (storePath === ':memory:') return null;
  const dir = dirname(resolve(storePath));
  return { cert: join(dir, 'admin-tls.crt'), key: join(dir, 'admin-tls.key') };
}

/** The certificate the admin listener serves, as a file a client pins: admin.tls.cert, else the self-signed one. */
export function adminCertFile(cfg: BootgateConfig): string | null {
  return cfg.admin.tls.cert ?? selfSignedPaths(cfg.store.path)?.cert ?? null;
}

/**
 * Where this host reaches the daemon's /readyz and admin API: the admin listener (admin.port, HTTPS,
 * `ca` the certificate to trust), else the boot HTTP listener (plain HTTP), which with server.interfaces
 * named listens on those interfaces' addresses only (not on 127.0.0.1). The CLI and the container health
 * check ask here.
 */
export function adminListenerUrl(cfg: BootgateConfig, interfaces = networkInterfaces()): { base: string; ca?: string | null } | { none: string } {
  if (cfg.admin.port !== null) return { base: `https://${hostFor(cfg.admin.address ?? cfg.http.address)}:${cfg.admin.port}`, ca: adminCertFile(cfg) };
  if (!cfg.http.enabled) return { none: 'http.enabled is false' };
  if (cfg.server.interfaces.length > 0 && cfg.server.bindAddress === null) {
    const name = cfg.server.interfaces[0] as string;
    const v4 = interfaces[name]?.find((x) => x.family === 'IPv4');
    if (!v4) return { none: `interface ${name} (server.interfaces) has no IPv4 address on this host` };
    return { base: `http://${v4.address}:${cfg.http.port}` };
  }
  return { base: `http://${hostFor(cfg.http.address)}:${cfg.http.port}` };
}
