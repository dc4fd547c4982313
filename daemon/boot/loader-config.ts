/**
 * Per-client configurations for boot loaders that are not iPXE: GRUB (`grub.cfg`; Debian's signed
 * network GRUB, the one a Secure Boot machine reaches through shim) and PXELINUX (`pxelinux.cfg/01-<mac>`,
 * which U-Boot's `pxe get` asks for too). Rendered from the same decision as the iPXE script: `boot`
 * boots the profile's kernel (its `linux` keys), `local` returns to the firmware's next boot device,
 * `pending` waits and asks again. Pure: text out. Anything pasted in from a client or the inventory is
 * reduced to characters neither loader reads as syntax.
 */
import type { LinuxBoot, MenuChoice } from '../config/schema.js';
import type { Decision } from '../policy/types.js';
import { menuText } from './menu.js';

export interface LoaderInput {
  mac: string;
  /** Inventory name, '' for an unknown machine. */
  computer: string;
  decision: Decision;
  /** The appliance address the client reached: kernel and initrd are fetched from it over TFTP. */
  server: string;
  /** What the decided profile boots with GRUB/PXELINUX; null when it names nothing for them. */
  linux: LinuxBoot | null;
  /** Set for the built-in menu profile: its default entry and wait (the iPXE menu's settings). */
  menu: { default: MenuChoice; timeoutSeconds: number } | null;
  /** How long a pending machine waits before asking again. */
  retrySeconds: number;
  /** The path the loader asked for (a pending GRUB reads it again). */
  selfPath: string;
  version: string;
}

/** Paths in the boot root: letters, digits and `._/+-`, no `..` (the config schema allows more). */
const SAFE_PATH = /^(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._+-][A-Za-z0-9._+/-]*$/;

function safePath(p: string): string {
  const rel = p.replace(/^[/\\]+/, '');
  if (!SAFE_PATH.test(rel)) throw new TypeError(`loader config: unsafe path ${JSON.stringify(p)}`);
  return rel;
}

function summary(i: LoaderInput): string {
  const d = i.decision;
  const what = 'profile' in d ? `${d.kind} ${d.profile}` : d.kind;
  const who = i.computer ? `${menuText(i.computer)} ` : '';
  return `Bootgate ${menuText(i.version, 20)}: ${who}${menuText(i.mac)} ${menuText(what)} (${menuText(d.reason)})`;
}

/** What the rendered config does: boot the kernel, the local disk, wait, or (GRUB only) say why not. */
type Plan =
  | { kind: 'linux'; linux: LinuxBoot; timeoutSeconds: number; withLocal: boolean }
  | { kind: 'local'; note: string | null }
  | { kind: 'wait' };

function plan(i: LoaderInput): Plan {
  const d = i.decision;
  switch (d.kind) {
    case 'boot':
      if (!i.linux) return { kind: 'local', note: `profile ${menuText(d.profile)} names no kernel for this boot loader (its linux keys)` };
      if (i.menu) {
        if (i.menu.default !== 'linux') return { kind: 'local', note: null };
        return { kind: 'linux', linux: i.linux, timeoutSeconds: i.menu.timeoutSeconds, withLocal: true };
      }
      return { kind: 'linux', linux: i.linux, timeoutSeconds: 0, withLocal: false };
    case 'password':
      // Its password is checked by iPXE's login form; GRUB and PXELINUX have no way to ask Bootgate.
      return { kind: 'local', note: `profile ${menuText(d.profile)} is password gated: only iPXE can unlock it` };
    case 'pending':
      return { kind: 'wait' };
    case 'local':
    case 'ignore':
      return { kind: 'local', note: null };
  }
}

/** GRUB reads `'...'` literally; a quote inside is impossible, menuText already removed it. */
function q(s: string): string {
  return `'${s}'`;
}

export function grubConfig(i: LoaderInput): string {
  const p = plan(i);
  const tftp = `(tftp,${i.server})`;
  const lines = [`# ${summary(i)}`, `echo ${q(summary(i))}`];
  const local = [
    `menuentry ${q('Boot from the local disk')} --id local {`,
    `  echo ${q('Bootgate: back to the firmware, next boot device')}`,
    '  exit',
    '}',
  ];
  switch (p.kind) {
    case 'local':
      if (p.note) lines.push(`echo ${q(`Bootgate: ${p.note}`)}`);
      lines.push('set timeout=0', 'set default=local', ...local);
      break;
    case 'wait':
      lines.push(
        `echo ${q(`Bootgate: waiting for an administrator to approve this machine; asking again in ${i.retrySeconds} s`)}`,
        `sleep ${Math.max(1, Math.floor(i.retrySeconds))}`,
        `configfile ${tftp}/${safePath(i.selfPath)}`,
      );
      break;
    case 'linux':
      lines.push(`set timeout=${Math.max(0, Math.floor(p.timeoutSeconds))}`, 'set default=linux');
      lines.push(
        `menuentry ${q('Linux')} --id linux {`,
        `  echo ${q('Bootgate: loading the kernel')}`,
        `  linux ${tftp}/${safePath(p.linux.kernel)}${p.linux.cmdline ? ` ${p.linux.cmdline}` : ''}`,
        ...(p.linux.initrd ? [`  initrd ${tftp}/${safePath(p.linux.initrd)}`] : []),
        '}',
      );
      if (p.withLocal) lines.push(...local);
      break;
  }
  return `${lines.join('\n')}\n`;
}

/** The PXELINUX program that a waiting machine runs again (it then asks for its configuration again). */
export const PXELINUX_PROGRAM = 'pxelinux.0';

export function pxelinuxConfig(i: LoaderInput): string {
  const p = plan(i);
  const lines = [`# ${summary(i)}`, `SAY ${summary(i)}`];
  switch (p.kind) {
    case 'local':
      if (p.note) lines.push(`SAY Bootgate: ${p.note}`);
      lines.push('DEFAULT local', 'PROMPT 0', 'LABEL local', '  LOCALBOOT 0');
      break;
    case 'wait':
      // PROMPT 1 makes TIMEOUT (tenths of a second) count; then PXELINUX runs itself again.
      lines.push(
        `SAY Bootgate: waiting for an administrator to approve this machine; asking again in ${i.retrySeconds} s`,
        'DEFAULT wait', 'PROMPT 1', `TIMEOUT ${Math.max(1, Math.floor(i.retrySeconds)) * 10}`,
        'LABEL wait', `  KERNEL ${PXELINUX_PROGRAM}`,
      );
      break;
    case 'linux':
      lines.push('DEFAULT linux', p.timeoutSeconds > 0 ? 'PROMPT 1' : 'PROMPT 0', `TIMEOUT ${Math.max(1, Math.floor(p.timeoutSeconds * 10))}`);
      lines.push('LABEL linux', `  KERNEL ${safePath(p.linux.kernel)}`);
      if (p.linux.initrd) lines.push(`  INITRD ${safePath(p.linux.initrd)}`);
      if (p.linux.cmdline) lines.push(`  APPEND ${p.linux.cmdline}`);
      if (p.withLocal) lines.push('LABEL local', '  LOCALBOOT 0');
      break;
  }
  return `${lines.join('\n')}\n`;
}

/** GRUB's configuration as Debian's network GRUB asks for it: `grub/grub.cfg` or `grub/<platform>/grub.cfg` (its prefix). */
const GRUB_CFG = /^(?:boot\/)?grub\/(?:[a-z0-9_-]+\/)?grub\.cfg$/i;
/** PXELINUX's per-MAC name (`01-` = Ethernet) and its last resort, `default`. */
const PXELINUX_MAC = /^(?:[a-z0-9_.-]+\/)*pxelinux\.cfg\/01-([0-9a-f]{2}(?:-[0-9a-f]{2}){5})$/i;
const PXELINUX_DEFAULT = /^(?:[a-z0-9_.-]+\/)*pxelinux\.cfg\/default$/i;

/** Which loader configuration a path names, and the MAC it names when it names one. */
export function loaderConfigPath(path: string): { loader: 'grub' | 'pxelinux'; mac: string | null } | null {
  const rel = path.replace(/^[/\\]+/, '');
  if (GRUB_CFG.test(rel)) return { loader: 'grub', mac: null };
  const m = PXELINUX_MAC.exec(rel);
  if (m?.[1]) return { loader: 'pxelinux', mac: m[1].toLowerCase().replace(/-/g, ':') };
  if (PXELINUX_DEFAULT.test(rel)) return { loader: 'pxelinux', mac: null };
  return null;
}
