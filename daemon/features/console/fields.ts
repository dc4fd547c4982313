/**
 * Which form field each of the server's problems is about, so the page shows the exact sentence next
 * to the field it concerns. The sentences are the API's own (the schema's `body.macs[0] ...` and the
 * inventory checks' `body: MAC ... is not a MAC address`); a problem that names no field stays general.
 */
export type FormField = 'name' | 'macs' | 'guid' | 'profile' | 'kind' | 'notes' | 'password' | 'confirm' | 'general';

const RULES: [FormField, RegExp][] = [
  ['macs', /^(body\.macs\b|\d+ MACs listed|MAC |needs at least one MAC)/],
  ['guid', /^(body\.guid\b|SMBIOS GUID )/],
  ['name', /^(body\.name\b|name |computer "[^"]*" already exists)/],
  ['profile', /^(body\.profile\b|profile )/],
  ['kind', /^(body\.kind\b|kind )/],
  ['notes', /^(body\.notes\b|notes )/],
  ['confirm', /^(body\.confirm\b|the two passwords differ)/],
  ['password', /^(body\.password\b|password )/],
];

/** Groups problem sentences by field; `body: ` (the inventory's row label) is taken off first. */
export function problemFields(problems: readonly string[]): Partial<Record<FormField, string[]>> {
  const out: Partial<Record<FormField, string[]>> = {};
  for (const p of problems) {
    const text = p.replace(/^body: /, '');
    const field = RULES.find(([, re]) => re.test(text))?.[0] ?? 'general';
    (out[field] ??= []).push(p);
  }
  return out;
}
