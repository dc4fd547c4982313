/**
 * Per-client configurations for boot loaders that are not iPXE: GRUB (`grub.cfg`; Debian's signed
 * network GRUB, the one a Secure Boot machine reaches through shim) and PXELINUX (`pxelinux.cfg/01-<mac>`,
 * which U-Boot's `pxe get` asks for too). Rendered from the same decision as the iPXE script: `boot`
 * boots the profile's kernel (its `linux` keys), `local` returns to the firmware's next boot device,
 * `pending` waits and asks again, `password` prompts for the boot password and Bootgate checks it.
 * Pure: text out. Anything pasted in from a client or the inventory is reduced to characters neither
 * loader reads as syntax.
 *
 * The GRUB password prompt: Debian's signed network GRUB has no `read` command, so the prompt is built
 * from menu hotkeys. Every printable key is the hotkey of a hidden-menu entry that asks Bootgate for the
 * next configuration by a path carrying the attempt so far (hex, `grub/password/<hex>/key`); Tab asks
 * for `grub/password/<hex>/try`, which Bootgate checks like the password iPXE posts (same service,
 * lockouts, audit and metrics). Each answer shows one `*` per character typed. The attempt never
 * reaches a log line: `redactLoaderPath` is what the doors log instead of such a path.
 *
 * The PXELINUX password prompt: a plain `boot:` prompt with no label to match, so the word typed there
 * is loaded as a kernel, which PXELINUX asks for over TFTP by its name (syslinux 6.04 ldlinux.c,
 * load_kernel: first the same name with `.c32`, `.img`, `.bss`, `.bin`, `.bs` and `.0` appended, then the
 * name itself). The TFTP door takes that request from a client at this prompt as the attempt
 * (pxelinux-prompt.ts), checks it like the others and answers "not found" either way; the failed load
 * runs ONERROR, which loads this configuration again: the profile's kernel once unlocked, else the
 * prompt with what the check said.
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
  /** A `password` decision: what was typed so far (GRUB) and what to say about the last try. */
  password?: { attempt: string; note: string | null };
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
  | { kind: 'wait' }
  | { kind: 'password'; profile: string };

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
      // GRUB: its hotkey form; PXELINUX: its boot: prompt. Bootgate checks what either sends.
      return { kind: 'password', profile: d.profile };
    case 'pending':
      return { kind: 'wait' };
    case 'local':
    case 'ignore':
      return { kind: 'local', note: i.password?.note ?? null };
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
    case 'password':
      lines.push(...grubPasswordForm(i, p.profile, tftp), ...local);
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

/** The longest password the GRUB form takes (the TFTP request of a longer one would not fit a packet). */
export const GRUB_PASSWORD_MAX = 64;

/** How long the GRUB form waits for the next key before it gives up and exits to the next boot device. */
export const GRUB_PASSWORD_WAIT_SECONDS = 300;

/** The keys the GRUB form takes: printable ASCII (a US keyboard's characters). */
const TYPABLE = Array.from({ length: 0x7f - 0x20 }, (_, k) => String.fromCharCode(0x20 + k));

function hex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex');
}

/** A menuentry's hotkey argument: the character quoted for GRUB (a single quote cannot be in '...'). */
function hotkey(ch: string): string {
  return ch === "'" ? `"'"` : `'${ch}'`;
}

/**
 * The hidden-menu form: hotkeys for every typable character (each asks for the next form, the attempt one
 * character longer), Backspace (one shorter), Tab (the check). Only printable ASCII ever reaches the
 * attempt, and at most GRUB_PASSWORD_MAX characters of it.
 */
function grubPasswordForm(i: LoaderInput, profile: string, tftp: string): string[] {
  const attempt = [...(i.password?.attempt ?? '')].filter((c) => TYPABLE.includes(c)).join('').slice(0, GRUB_PASSWORD_MAX);
  const path = (a: string, step: 'key' | 'try') => `${tftp}/grub/password/${hex(a)}/${step}`;
  const lines = [
    `echo ${q(`Bootgate: profile ${menuText(profile)} is password gated. Type the boot password, then press Tab (Backspace corrects, Esc shows the menu).`)}`,
  ];
  if (i.password?.note) lines.push(`echo ${q(`Bootgate: ${menuText(i.password.note, 200)}`)}`);
  lines.push(
    `echo ${q(`Password: ${'*'.repeat(attempt.length)}`)}`,
    // Hidden: no menu is drawn, but hotkeys work (Esc shows it); the wait ends at the local disk.
    'set timeout_style=hidden',
    `set timeout=${GRUB_PASSWORD_WAIT_SECONDS}`,
    'set default=local',
    `menuentry ${q('Check the password (Tab)')} --hotkey=tab --id submit {`,
    `  configfile ${path(attempt, 'try')}`,
    '}',
    `menuentry ${q('Correct the last character (Backspace)')} --hotkey=backspace {`,
    `  configfile ${path(attempt.slice(0, -1), 'key')}`,
    '}',
  );
  const longer = attempt.length < GRUB_PASSWORD_MAX;
  for (const ch of TYPABLE) {
    const name = /^[A-Za-z0-9]$/.test(ch) ? ch : `U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    lines.push(`menuentry ${q(`Type ${name}`)} --hotkey=${hotkey(ch)} {`, `  configfile ${path(longer ? attempt + ch : attempt, 'key')}`, '}');
  }
  return lines;
}

/** The PXELINUX program that a waiting machine runs again (it then asks for its configuration again). */
export const PXELINUX_PROGRAM = 'pxelinux.0';

/** How long PXELINUX's password prompt waits for the first key before it boots the local disk (as GRUB's form). */
export const PXELINUX_PASSWORD_WAIT_SECONDS = GRUB_PASSWORD_WAIT_SECONDS;

/** The label the prompt's wait ends at (typed at the prompt, it boots the local disk too). */
export const PXELINUX_LOCAL_LABEL = 'bootgate-local-disk';

export function pxelinuxConfig(i: LoaderInput): string {
  const p = plan(i);
  const lines = [`# ${summary(i)}`, `SAY ${summary(i)}`];
  switch (p.kind) {
    case 'local':
      if (p.note) lines.push(`SAY Bootgate: ${p.note}`);
      lines.push('DEFAULT local', 'PROMPT 0', 'LABEL local', '  LOCALBOOT 0');
      break;
    case 'password':
      lines.push(...pxelinuxPasswordPrompt(i, p.profile));
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

/**
 * The `boot:` prompt (syslinux 6.04, ldlinux.c and readconfig.c): PROMPT 1 shows it at once; the one
 * label is the local disk, where the wait for the first key ends (TIMEOUT, tenths of a second), so any
 * other word is loaded as a kernel by name. ONERROR runs when that load fails: `.config ::<this file>`
 * loads this configuration again from the TFTP root (`::`), whatever directory PXELINUX runs in.
 * PXELINUX appends DEFAULT's text to the ONERROR command, and `.config` takes a second word as the
 * directory to change to: the empty DEFAULT keeps the directory as it is (without DEFAULT it would
 * append "(null)"); an empty line at the prompt then also loads the prompt again.
 */
function pxelinuxPasswordPrompt(i: LoaderInput, profile: string): string[] {
  const lines = [`SAY Bootgate: profile ${menuText(profile)} is password gated.`];
  if (i.password?.note) lines.push(`SAY Bootgate: ${menuText(i.password.note, 200)}`);
  lines.push(
    'SAY This computer needs the deployment password: type it and press Enter',
    'DEFAULT',
    'IMPLICIT 1',
    'PROMPT 1',
    `TIMEOUT ${PXELINUX_PASSWORD_WAIT_SECONDS * 10}`,
    `ONTIMEOUT ${PXELINUX_LOCAL_LABEL}`,
    `ONERROR .config ::${safePath(i.selfPath)}`,
    `LABEL ${PXELINUX_LOCAL_LABEL}`,
    '  LOCALBOOT 0',
  );
  return lines;
}

/** GRUB's configuration as Debian's network GRUB asks for it: `grub/grub.cfg` or `grub/<platform>/grub.cfg` (its prefix). */
const GRUB_CFG = /^(?:boot\/)?grub\/(?:[a-z0-9_-]+\/)?grub\.cfg$/i;
/** PXELINUX's per-MAC name (`01-` = Ethernet) and its last resort, `default`. */
const PXELINUX_MAC = /^(?:[a-z0-9_.-]+\/)*pxelinux\.cfg\/01-([0-9a-f]{2}(?:-[0-9a-f]{2}){5})$/i;
const PXELINUX_DEFAULT = /^(?:[a-z0-9_.-]+\/)*pxelinux\.cfg\/default$/i;

/** Any path under GRUB's password prefix (a well-formed one or not: none is ever a file). */
const GRUB_PASSWORD_ANY = /^(?:boot\/)?grub\/password(?:\/|$)/i;
const GRUB_PASSWORD_PATH = /^(?:boot\/)?grub\/password\/((?:[0-9a-f]{2})*)\/(key|try)$/i;

/** What a GRUB password form asked for: the next form (`key`) or a check (`try`); `malformed` for anything else there. */
export type GrubPasswordStep = { step: 'key' | 'try'; attempt: string } | { step: 'malformed' };

/**
 * The attempt a `grub/password/<hex>/<step>` path carries. Anything else under the prefix (not hex, an odd
 * length, slashes, `..`, spaces, longer than GRUB_PASSWORD_MAX, not printable ASCII) is `malformed`: the
 * form is shown again, empty.
 */
export function grubPasswordStep(rel: string): GrubPasswordStep {
  const m = GRUB_PASSWORD_PATH.exec(rel);
  if (!m || m[1] === undefined || m[1].length > 2 * GRUB_PASSWORD_MAX) return { step: 'malformed' };
  const attempt = Buffer.from(m[1], 'hex').toString('latin1');
  if (![...attempt].every((c) => TYPABLE.includes(c))) return { step: 'malformed' };
  return { step: m[2]?.toLowerCase() === 'try' ? 'try' : 'key', attempt };
}

/** What a door logs instead of a path: a GRUB password form's path without the attempt it carries. */
export function redactLoaderPath(path: string): string {
  const rel = path.replace(/^[/\\]+/, '');
  return GRUB_PASSWORD_ANY.test(rel) ? 'grub/password/…' : path;
}

/** Which loader configuration a path names, and the MAC it names when it names one. */
export function loaderConfigPath(path: string): { loader: 'grub' | 'pxelinux'; mac: string | null; password?: GrubPasswordStep } | null {
  const rel = path.replace(/^[/\\]+/, '');
  if (GRUB_CFG.test(rel)) return { loader: 'grub', mac: null };
  if (GRUB_PASSWORD_ANY.test(rel)) return { loader: 'grub', mac: null, password: grubPasswordStep(rel) };
  const m = PXELINUX_MAC.exec(rel);
  if (m?.[1]) return { loader: 'pxelinux', mac: m[1].toLowerCase().replace(/-/g, ':') };
  if (PXELINUX_DEFAULT.test(rel)) return { loader: 'pxelinux', mac: null };
  return null;
}
