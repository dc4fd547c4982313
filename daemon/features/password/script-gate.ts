/**
 * What the per-client iPXE script door answers for a gated profile. Pure apart from the HMAC.
 *
 * - `password`: the prompt (scripts.ts), which sends the typed password to `/unlock`;
 * - `boot` with reason `unlocked`: the profile's own template, rendered with `{{http}}` and `{{tftp}}`
 *   turned into signed bases (`http://host:port/_signed/<token>`), so every file the template loads
 *   carries a token bound to this MAC, this IP, the profile's gated prefixes and the unlock's expiry.
 *   A profile without an iPXE script gets `chain <signed URL of its boot program>`;
 * - anything else: unchanged.
 */
import type { BootgateConfig } from '../../config/schema.js';
import { hasIpxeScript } from '../../policy/target.js';
import type { ClientInfo, Decision } from '../../policy/types.js';
import { prefixesOf, signedBase } from './files.js';
import { profilePassword } from '../../policy/password.js';
import { cannotPromptScript, chainScript, promptScript } from './scripts.js';
import { signGrant } from './token.js';
import type { Unlock } from './unlocks.js';

export type ScriptVars = Record<string, string>;

/** `as-is`: render as without a gate; `vars`: render the template with these vars; `text`: send this script. */
export type ScriptGate = { kind: 'as-is' } | { kind: 'vars'; vars: ScriptVars } | { kind: 'text'; text: string };

export interface ScriptGateInput {
  client: ClientInfo;
  decision: Decision;
  /** The script door's template variables (`http`, `tftp`, ... as boot/content.ts builds them). */
  vars: ScriptVars;
  cfg: Pick<BootgateConfig, 'profiles'>;
  unlocks: { active(mac: string): Unlock | undefined };
  key: Buffer;
}

function prompt(i: ScriptGateInput, profile: string, computer: string | null): ScriptGate {
  const httpBase = i.vars.http ?? '';
  if (httpBase === '') return { kind: 'text', text: cannotPromptScript(i.client.mac, profile) };
  return { kind: 'text', text: promptScript({ mac: i.client.mac, computer, profile, httpBase }) };
}

export function scriptForGate(i: ScriptGateInput): ScriptGate {
  const d = i.decision;
  if (d.kind === 'password') return prompt(i, d.profile, d.computer);
  if (d.kind !== 'boot' || d.reason !== 'unlocked') return { kind: 'as-is' };
  const unlock = i.unlocks.active(i.client.mac);
  const profile = i.cfg.profiles[d.profile];
  // The unlock ended between the decision and now (or belongs to another address): ask again.
  if (!unlock || unlock.ip !== i.client.ip || unlock.profile !== d.profile || !profile) return prompt(i, d.profile, d.computer);
  const token = signGrant(
    { mac: unlock.mac, ip: unlock.ip, profile: d.profile, prefixes: prefixesOf(profilePassword(profile).files), expiresAt: unlock.expiresAt },
    i.key,
  );
  const http = i.vars.http ? signedBase(i.vars.http, token) : '';
  const tftp = i.vars.tftp ? signedBase(i.vars.tftp, token) : '';
  if (hasIpxeScript(profile)) return { kind: 'vars', vars: { ...i.vars, http, tftp } };
  const base = d.target.transport === 'http' ? http : tftp;
  try {
    return base ? { kind: 'text', text: chainScript(`${base}/${d.target.path}`) } : { kind: 'as-is' };
  } catch {
    // A boot file name no URL can carry: nothing to chain (the door then refuses the script).
    return { kind: 'as-is' };
  }
}
