/**
 * The password gate's part of the one `decide()`: a profile may require a person to type a password
 * before it boots. Pure: a function of the client, the profile and the facts in the policy snapshot.
 *
 * A gated profile answers every door with `password` until the client has unlocked it:
 * - DHCP 67 / 4011: the same boot target a `boot` would carry, but only a program that can prompt: an
 *   iPXE binary (a native PXE or UEFI HTTP client is chained into iPXE), or the Secure Boot chain shim ->
 *   GRUB, or PXELINUX, whose per-client configuration is the prompt (boot/loader-config.ts); anything
 *   else could not prompt, so it gets nothing;
 * - the iPXE script door: the prompt (rendered by scripts.ts);
 * - TFTP / HTTP: nothing gated is served (files.ts refuses, this decision says why in the audit trail).
 * Once unlocked (unlocks.ts; bound to the MAC, the IP and the profile), the script and file doors get
 * `boot` with reason `unlocked`.
 */
import type { BootgateConfig, ProfileConfig, ProfilePassword } from '../config/schema.js';
import { isShim } from './secure-boot.js';
import { ipxeScriptPath, isIpxeBinary } from './target.js';
import type { BootTarget, ClientInfo, Decision } from './types.js';

/** GRUB EFI builds (grubx64.efi, grubnetx64.efi, ...): their configuration is rendered per client. */
const GRUB_EFI = /(^|[/\\])grub[a-z0-9]*\.efi$/i;

/** PXELINUX (pxelinux.0, lpxelinux.0): its configuration is rendered per client too. */
const PXELINUX = /(^|[/\\])l?pxelinux\.0$/i;

/** Whether the program a client is sent can show the password prompt: iPXE, shim and GRUB, or PXELINUX. */
export function canPrompt(path: string): boolean {
  return isIpxeBinary(path) || isShim(path) || GRUB_EFI.test(path) || PXELINUX.test(path);
}

/** Who has unlocked what: a live view the daemon keeps (unlocks.ts), read by the pure decide(). */
export interface UnlockView {
  isUnlocked(mac: string, profile: string, ip: string | null): boolean;
}

export interface PasswordFacts {
  /** `password.required` from the config: gate every profile whose mode is `inherit`. */
  required: boolean;
  unlocks: UnlockView;
}

export const NOBODY_UNLOCKED: UnlockView = { isUnlocked: () => false };

export const NO_PASSWORD: ProfilePassword = { mode: 'inherit', files: [] };

export function profilePassword(profile: ProfileConfig): ProfilePassword {
  return profile.password ?? NO_PASSWORD;
}

/** The snapshot's password facts from the config alone (nobody unlocked). */
export function passwordFacts(cfg: { password: Pick<BootgateConfig['password'], 'required'> }): PasswordFacts {
  return { required: cfg.password.required, unlocks: NOBODY_UNLOCKED };
}

export function isGated(profile: ProfileConfig, globalRequired: boolean): boolean {
  const mode = profilePassword(profile).mode;
  return mode === 'required' || (mode === 'inherit' && globalRequired);
}

type BootDecision = Extract<Decision, { kind: 'boot' }>;

/**
 * Turns the `boot` decide() reached into `password` when the profile is gated and this client has not
 * unlocked it. `facts` may be absent in a snapshot built before password gating existed: then nothing
 * is gated (no profile config can ask for it either, the schema fills `password` in).
 */
export function gatePassword(
  client: ClientInfo,
  facts: PasswordFacts | undefined,
  profile: ProfileConfig,
  boot: BootDecision,
  scriptTransport: BootTarget['transport'],
): Decision {
  if (!facts || !isGated(profile, facts.required)) return boot;
  if (facts.unlocks.isUnlocked(client.mac, boot.profile, client.ip)) return { ...boot, reason: 'unlocked' };
  const base = { kind: 'password', profile: boot.profile, computer: boot.computer, reason: 'password-required' } as const;
  // iPXE prompts through its per-client script, whatever the profile boots once unlocked.
  if (client.ipxe || client.door === 'ipxe-script') return { ...base, target: { transport: scriptTransport, path: ipxeScriptPath(client.mac) } };
  // A native client whose boot program cannot prompt cannot be asked.
  if (!canPrompt(boot.target.path)) return { kind: 'ignore', reason: 'password-required' };
  return { ...base, target: boot.target };
}
