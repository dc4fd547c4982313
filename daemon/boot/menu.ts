/**
 * The built-in boot menu: what a machine gets until an admin says otherwise. A harmless iPXE menu,
 * rendered per client, that shows who the machine is and why it got the menu, and falls through to the
 * local disk after a few seconds. Pure: text out; everything pasted in from a client or the inventory
 * is reduced to characters iPXE cannot read as syntax (no `$`, `{`, `#`, quotes or newlines).
 */
import type { MenuChoice } from '../config/schema.js';
import { EXIT_TO_LOCAL_DISK } from '../policy/scripts.js';

export interface MenuProfileEntry {
  name: string;
  description: string;
  /** Absolute URL of this client's script for that profile (the script door decides again). */
  url: string;
}

export interface MenuInput {
  mac: string;
  /** SMBIOS GUID as dmidecode prints it, '' when the client sent none. */
  guid: string;
  /** Inventory name, '' for an unknown machine. */
  computer: string;
  /** The decision and its reason, e.g. `boot menu` / `unknown-boot`. */
  decision: string;
  reason: string;
  /** Base URL of the boot files (`http://10.0.0.2:8080` or `tftp://10.0.0.2`). */
  base: string;
  /** vmlinuz and initrd.img are in the boot root (`fetch-boot --kernel`). */
  linux: boolean;
  profiles: readonly MenuProfileEntry[];
  default: MenuChoice;
  timeoutSeconds: number;
  version: string;
}

/** Letters, digits and a few harmless marks; anything else becomes `?` (iPXE expands `${...}`). */
export function menuText(s: string, max = 60): string {
  return s.replace(/[^A-Za-z0-9 .,:;_()/@+=-]/g, '?').slice(0, max);
}

const SAFE_URL = /^(https?|tftp):\/\/[A-Za-z0-9.:[\]_~%/-]+$/;
/** iPXE labels: no spaces, nothing it would expand. */
const LABEL = /^[A-Za-z0-9._-]{1,64}$/;

function checkedUrl(url: string): string {
  if (!SAFE_URL.test(url)) throw new TypeError(`menu: unsafe URL ${JSON.stringify(url)}`);
  return url;
}

function header(m: MenuInput): string[] {
  return [
    `menu Bootgate ${menuText(m.version, 20)}: network boot menu`,
    `item --gap -- Machine   ${menuText(m.mac)}`,
    `item --gap -- GUID      ${menuText(m.guid) || '(none sent)'}`,
    `item --gap -- Computer  ${menuText(m.computer) || '(not in the inventory)'}`,
    `item --gap -- Decision  ${menuText(m.decision)} (${menuText(m.reason)})`,
    'item --gap --',
  ];
}

/**
 * BIOS: `sanboot --drive 0x80` boots the first hard disk directly (some BIOSes stop when a PXE ROM
 * returns); when that fails, and on UEFI where there is no drive 0x80, `exit` hands control back to
 * the firmware, which tries its next boot option (with a failure status on UEFI, see EXIT_TO_LOCAL_DISK).
 */
const LOCAL = [
  ':local',
  'echo Bootgate: booting from the local disk',
  'iseq ${platform} pcbios && sanboot --no-describe --drive 0x80 ||',
  ...EXIT_TO_LOCAL_DISK,
];

export function menuScript(m: MenuInput): string {
  const base = checkedUrl(m.base);
  const profiles = m.profiles.filter((p) => LABEL.test(p.name));
  const choice = m.default === 'linux' && !m.linux ? 'local' : m.default;
  const items = [
    'item local Boot from the local disk',
    ...(m.linux ? ['item linux Small Linux (Debian kernel, busybox shell)'] : []),
    'item shell iPXE shell',
    ...(profiles.length > 0 ? ['item --gap --', 'item --gap -- Profiles'] : []),
    ...profiles.map((p) => `item profile-${p.name} ${menuText(p.name, 32)}: ${menuText(p.description)}`),
  ];
  const timeoutMs = Math.max(1, Math.floor(m.timeoutSeconds)) * 1000;
  return [
    '#!ipxe',
    `echo Bootgate: ${menuText(m.mac)} ${menuText(m.decision)} (${menuText(m.reason)})`,
    ':menu',
    ...header(m),
    ...items,
    `choose --default ${choice} --timeout ${timeoutMs} target || goto local`,
    'goto ${target}',
    ...LOCAL,
    ...(m.linux
      ? [
        ':linux',
        // The last console= is /dev/console (a screen); kernel messages go to both.
        `kernel ${base}/vmlinuz initrd=initrd.img console=ttyS0,115200 console=tty0 || goto failed`,
        `initrd ${base}/initrd.img || goto failed`,
        'boot || goto failed',
      ]
      : []),
    ':shell',
    'echo Bootgate: iPXE shell; type exit to return to the menu',
    'shell',
    'goto menu',
    ...profiles.flatMap((p) => [`:profile-${p.name}`, `chain --replace --autofree ${checkedUrl(p.url)} || goto failed`]),
    ':failed',
    'echo Bootgate: that did not boot; back to the menu',
    'sleep 5',
    'goto menu',
    '',
  ].join('\n');
}
