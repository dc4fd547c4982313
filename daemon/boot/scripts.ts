/**
 * iPXE scripts, rendered per client. Templates use `{{name}}` placeholders (server, http, tftp, mac,
 * guid, uuid, arch, profile, computer, script); iPXE's own `${...}` variables pass through untouched.
 * Pure: the caller reads template files.
 */
import { localBootIpxeScript, pendingIpxeScript } from '../policy/scripts.js';
import type { Decision } from '../policy/types.js';

export type ScriptVars = Record<string, string>;

const PLACEHOLDER = /\{\{\s*([a-z]+)\s*\}\}/g;

export function renderScript(template: string, vars: ScriptVars): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => vars[name] ?? whole);
}

/** iPXE refuses a script whose first line is not `#!ipxe`; a template may omit it. */
function withShebang(text: string): string {
  return text.startsWith('#!ipxe') ? text : `#!ipxe\n${text}`;
}

/**
 * The script for a decision, or null when the client gets nothing (ignore). `template` is the
 * profile's script for `boot`; the other kinds have fixed scripts.
 */
export function scriptForDecision(
  decision: Decision,
  template: string | null,
  vars: ScriptVars & { mac: string; script: string },
  retrySeconds: number,
): string | null {
  switch (decision.kind) {
    case 'boot':
      return template === null ? null : withShebang(renderScript(template, vars));
    case 'password':
      // The prompt comes from the password gate (daemon/features/password); without it, nothing.
      return null;
    case 'local':
      return localBootIpxeScript();
    case 'pending':
      // Re-fetch this same script, so an approval takes effect within one retry interval.
      return pendingIpxeScript({ mac: vars.mac, retrySeconds, retryUrl: vars.script });
    case 'ignore':
      return null;
  }
}
