/**
 * The iPXE scripts of a password-gated boot. Pure: text out; nothing from the client is pasted in but its
 * canonical MAC, and names from the inventory are reduced to characters iPXE cannot read as syntax.
 *
 * iPXE's `login` (in Debian's ipxe 1.0.0+git-20190125: ipxe.efi, snponly.efi, undionly.kpxe and QEMU's
 * NIC ROMs) shows a form with a username and a masked password field, prefilled from the `username` and
 * `password` settings; Enter in the username field moves to the password, Enter there submits, Esc
 * cancels. It clears the screen, so the username field (20 characters visible, login_ui.c) carries the
 * profile and machine names.
 *
 * The password travels as HTTP Basic credentials in the URL's userinfo (`http://bootgate:${password:
 * uristring}@host/unlock`): iPXE prints fetched URLs with the password replaced by `***`
 * (usr/imgmgmt.c) and sends it only after the server's 401 challenge (net/tcp/httpbasic.c), so it is never
 * shown on the console nor written into a URL the daemon could log.
 */
import { EXIT_TO_LOCAL_DISK } from '../../policy/scripts.js';

export interface PromptOptions {
  /** Canonical `52:54:00:ab:cd:ef`. */
  mac: string;
  computer: string | null;
  profile: string;
  /** `http://10.77.0.2:8080`: the daemon's HTTP base the client reached. */
  httpBase: string;
  /** Lines shown above the prompt (a wrong password, a lockout...). */
  banner?: string[];
  /** Show the banner until a key is pressed (or 15 s) before the login form clears the screen. */
  holdBanner?: boolean;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const HTTP_BASE = /^http:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;
const SAFE_URL = /^(https?|tftp):\/\/[A-Za-z0-9.:[\]_~%/-]+$/;

/** Text safe to put after `echo` or `set`: no `$`, `#`, `|`, `&`, quotes or control characters. */
export function label(text: string, max = 48): string {
  const cleaned = text.replace(/[^A-Za-z0-9 ._:()/,+-]/g, '_').replace(/\s+/g, ' ').trim();
  return cleaned.length > max ? `${cleaned.slice(0, max - 3)}...` : cleaned;
}

function machine(mac: string, computer: string | null): string {
  return computer ? `${label(computer, 40)} (${mac})` : `this computer (${mac})`;
}

/** `winpe: PC-01` / `winpe: 5254003c386c`, cut to the 20 characters iPXE's login form shows. */
function formTitle(o: PromptOptions): string {
  const who = o.computer ? label(o.computer, 40) : o.mac.replace(/:/g, '');
  return label(`${o.profile}: ${who}`, 64).slice(0, 20).trim();
}

/** The URL iPXE fetches to have the typed password checked. */
export function unlockUrl(httpBase: string, mac: string): string {
  if (!HTTP_BASE.test(httpBase)) throw new TypeError(`unlockUrl: not an http://host:port base: ${JSON.stringify(httpBase)}`);
  if (!MAC.test(mac)) throw new TypeError(`unlockUrl: not a canonical MAC: ${JSON.stringify(mac)}`);
  const host = httpBase.slice('http://'.length);
  return `http://bootgate:\${password:uristring}@${host}/unlock?mac=${mac.replace(/:/g, '-')}`;
}

/** Asks for the password and sends it to the daemon; Esc boots the local disk. */
export function promptScript(o: PromptOptions): string {
  const url = unlockUrl(o.httpBase, o.mac);
  const profile = label(o.profile, 64);
  const lines = [
    '#!ipxe',
    `# Bootgate: profile ${profile} is password protected`,
    ':prompt',
    'echo',
    `echo Bootgate: ${machine(o.mac, o.computer)} is about to boot profile ${profile}.`,
    'echo A password is required. Esc at the prompt boots from the local disk instead.',
    ...(o.banner ?? []).map((b) => `echo ${label(b, 120)}`),
  ];
  // `prompt` fails on its timeout; an unhandled failure would end the script.
  if (o.holdBanner) lines.push('prompt --timeout 15000 Press any key to continue... || echo');
  lines.push(
    // The form clears the screen and shows 20 characters of the username: what boots, on which machine.
    `set username ${formTitle(o)}`,
    'clear password',
    'login || goto cancelled',
    'echo Bootgate: checking the password...',
    `chain --replace --autofree ${url} || goto unreachable`,
    ':unreachable',
    'echo Bootgate: the password could not be checked, the appliance did not answer. Asking again in 5 seconds.',
    'sleep 5',
    'goto prompt',
    ':cancelled',
    'echo Bootgate: cancelled, booting from the local disk.',
    ...EXIT_TO_LOCAL_DISK,
    '',
  );
  return lines.join('\n');
}

export function wrongPasswordScript(o: PromptOptions, triesLeft: number, lockoutMinutes: number): string {
  const banner = triesLeft > 0
    ? [`Wrong password. ${triesLeft} more ${triesLeft === 1 ? 'try' : 'tries'} before a ${lockoutMinutes}-minute lockout.`]
    : [`Wrong password. Locked out for ${lockoutMinutes} minutes (an administrator can lift it).`];
  return promptScript({ ...o, banner, holdBanner: true });
}

export function lockedOutScript(o: PromptOptions, minutesLeft: number): string {
  return promptScript({
    ...o,
    banner: [`Too many wrong passwords: locked out for ${minutesLeft} more ${minutesLeft === 1 ? 'minute' : 'minutes'}.`, 'An administrator can lift the lockout; no password is checked until then.'],
    holdBanner: true,
  });
}

export function noPasswordSetScript(o: PromptOptions): string {
  return promptScript({ ...o, banner: ['No password has been set for this profile yet: ask an administrator (bootgate password set).'], holdBanner: true });
}

export function busyScript(o: PromptOptions): string {
  return promptScript({ ...o, banner: ['The appliance is busy checking other passwords; please type it again.'], holdBanner: true });
}

/** When HTTP is off the password cannot be checked (the unlock is an HTTP request): say so, boot locally. */
export function cannotPromptScript(mac: string, profile: string): string {
  if (!MAC.test(mac)) throw new TypeError(`cannotPromptScript: not a canonical MAC: ${JSON.stringify(mac)}`);
  return [
    '#!ipxe',
    `echo Bootgate: profile ${label(profile, 64)} needs a password, but this appliance serves no HTTP to check it (http.enabled).`,
    'echo Booting from the local disk.',
    ...EXIT_TO_LOCAL_DISK,
    '',
  ].join('\n');
}

/** For an unlocked profile without an iPXE script: chain its boot program through a signed URL. */
export function chainScript(url: string): string {
  if (!SAFE_URL.test(url)) throw new TypeError(`chainScript: unsafe URL: ${JSON.stringify(url)}`);
  return ['#!ipxe', `chain --autofree ${url}`, ''].join('\n');
}
