/**
 * Checks one computer as an admin wrote it (CSV row, YAML item, API body) and turns it into the
 * canonical form the store keeps. Every problem is one sentence naming the field and the bad value,
 * so a 2,000-row supplier sheet can be fixed from the error list alone.
 */
import type { BootgateConfig, DeploymentKind } from '../../config/schema.js';
import { isPlaceholderMac, normalizeGuid, normalizeMac } from '../../policy/identity.js';
import { isPlaceholderGuid } from '../../policy/guid.js';
import type { ComputerInput } from '../../store/computers.js';

/** A computer before validation: whatever the file or request carried. */
export interface RawComputer {
  name?: unknown;
  /** One MAC, a list, or several in one cell separated by `;`, `,`, `|` or spaces. */
  macs?: unknown;
  guid?: unknown;
  profile?: unknown;
  kind?: unknown;
  notes?: unknown;
  sourceComputer?: unknown;
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MACS_MAX = 16;
const NOTES_MAX = 1024;

/**
 * `partial` carries the fields that were valid even when others were not, so duplicate and clash checks
 * still run on a bad row and one pass reports every problem of a file.
 */
export type Checked = { ok: true; value: ComputerInput } | { ok: false; problems: string[]; partial: ComputerInput };

function text(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' ? v.trim() : null;
}

function show(v: unknown): string {
  return JSON.stringify(typeof v === 'string' && v.length > 60 ? `${v.slice(0, 57)}...` : v) ?? String(v);
}

function checkName(v: unknown, problems: string[]): string {
  const name = text(v);
  if (name === null || name === '') problems.push('name is missing');
  else if (!NAME_PATTERN.test(name)) {
    problems.push(`name ${show(name)} is not a valid computer name (letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters)`);
  }
  return name ?? '';
}

function macList(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return v.split(/[;,|\s]+/).filter((s) => s.length > 0);
  return [v];
}

function checkMacs(v: unknown, problems: string[]): string[] {
  const out: string[] = [];
  const list = macList(v);
  if (list.length > MACS_MAX) problems.push(`${list.length} MACs listed, at most ${MACS_MAX} per computer`);
  for (const item of list) {
    const mac = typeof item === 'string' ? normalizeMac(item) : null;
    if (mac === null) problems.push(`MAC ${show(item)} is not a MAC address (expected 6 octets such as 52:54:00:12:34:56)`);
    else if (isPlaceholderMac(mac)) problems.push(`MAC ${mac} identifies no machine`);
    else if (out.includes(mac)) problems.push(`MAC ${mac} is listed twice`);
    else out.push(mac);
  }
  return out;
}

function checkGuid(v: unknown, problems: string[]): string | null {
  const raw = text(v);
  if (raw === null || raw === '') {
    if (v !== undefined && v !== null && raw === null) problems.push(`SMBIOS GUID ${show(v)} is not a GUID`);
    return null;
  }
  const guid = normalizeGuid(raw);
  if (guid === null) {
    problems.push(`SMBIOS GUID ${show(raw)} is not a GUID (expected 32 hex digits such as 00112233-4455-6677-8899-aabbccddee01)`);
    return null;
  }
  if (isPlaceholderGuid(guid)) {
    problems.push(`SMBIOS GUID ${guid} is the placeholder firmware sends when it has none; leave it empty`);
    return null;
  }
  return guid;
}

function checkProfile(v: unknown, profiles: BootgateConfig['profiles'], problems: string[]): string {
  const profile = text(v);
  if (profile === null || profile === '') {
    problems.push('profile is missing');
    return '';
  }
  if (!Object.hasOwn(profiles, profile)) {
    const known = Object.keys(profiles);
    problems.push(`profile ${show(profile)} is not in the configuration (${known.length ? `profiles: ${known.join(', ')}` : 'no profiles are configured'})`);
  }
  return profile;
}

function checkKind(v: unknown, problems: string[]): DeploymentKind | null {
  const kind = text(v);
  if (kind === null || kind === '') {
    if (v !== undefined && v !== null && kind === null) problems.push(`kind ${show(v)} must be "required" or "available"`);
    return null;
  }
  const k = kind.toLowerCase();
  if (k === 'required' || k === 'available') return k;
  problems.push(`kind ${show(kind)} must be "required" or "available"`);
  return null;
}

function checkText(field: string, v: unknown, max: number, problems: string[]): string | null {
  if (v === undefined || v === null) return null;
  const t = text(v);
  if (t === null) { problems.push(`${field} must be text, found ${show(v)}`); return null; }
  if (t.length > max) { problems.push(`${field} is ${t.length} characters long, at most ${max}`); return null; }
  return t === '' ? null : t;
}

/** Validates and canonicalises one computer against the configured profiles. */
export function checkComputer(raw: RawComputer, profiles: BootgateConfig['profiles']): Checked {
  const problems: string[] = [];
  const name = checkName(raw.name, problems);
  const nameOk = problems.length === 0;
  const macs = checkMacs(raw.macs, problems);
  const guid = checkGuid(raw.guid, problems);
  const macProblems = problems.some((p) => p.startsWith('MAC') || p.includes('MACs listed'));
  const guidProblems = problems.some((p) => p.startsWith('SMBIOS GUID'));
  if (macs.length === 0 && guid === null && !macProblems && !guidProblems) problems.push('needs at least one MAC or an SMBIOS GUID');
  const profile = checkProfile(raw.profile, profiles, problems);
  const kind = checkKind(raw.kind, problems);
  const notes = checkText('notes', raw.notes, NOTES_MAX, problems) ?? '';
  const sourceComputer = checkText('source computer', raw.sourceComputer, 63, problems);
  const value = { name, macs, guid, profile, kind, notes, sourceComputer };
  if (problems.length > 0) return { ok: false, problems, partial: { ...value, name: nameOk ? name : '' } };
  return { ok: true, value };
}
