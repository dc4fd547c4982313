/**
 * Loading the configuration: YAML file, then `BOOTGATE_*` environment variables, then CLI flags,
 * validated against one schema. Every failure names the file, the key path, what was expected and
 * what was found, so an admin can fix a broken config without reading code.
 */
import { readFileSync } from 'node:fs';
import AjvModule, { type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parseDocument } from 'yaml';
import { configSchema, type BootgateConfig } from './schema.js';

// ajv and ajv-formats are CommonJS with a default export.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
addFormats(ajv, ['ipv4']);
const validate = ajv.compile(configSchema);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value).slice(0, 60)}`;
}

function valueAt(root: unknown, pointer: string): unknown {
  let cur: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function expected(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': return `${String(p.type)}`;
    case 'enum': return `one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minimum': return `a number >= ${String(p.limit)}`;
    case 'maximum': return `a number <= ${String(p.limit)}`;
    case 'minLength': return `a string of at least ${String(p.limit)} characters`;
    case 'maxLength': return `a string of at most ${String(p.limit)} characters`;
    case 'pattern': return `text matching ${String(p.pattern)}`;
    case 'format': return `a valid ${String(p.format)} address`;
    case 'additionalProperties': return `no key "${String(p.additionalProperty)}" (unknown key)`;
    case 'propertyNames': return 'a name of letters, digits, ".", "_" or "-"';
    default: return e.message ?? e.keyword;
  }
}

function keyPath(pointer: string): string {
  const parts = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.length === 0 ? '(top level)' : parts.join('.');
}

/** Validates (and fills defaults into) a plain object. Throws ConfigError with one line per problem. */
export function validateConfig(raw: unknown, source: string): BootgateConfig {
  const data = structuredClone(raw ?? {}) as Json;
  if (validate(data)) return data as unknown as BootgateConfig;
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const e of validate.errors ?? []) {
    const at = e.keyword === 'additionalProperties'
      ? `${e.instancePath}/${String((e.params as { additionalProperty: string }).additionalProperty)}`
      : e.instancePath;
    const found = e.keyword === 'additionalProperties' ? 'that key' : describe(valueAt(data, e.instancePath));
    const line = `${source}: ${keyPath(at)}: expected ${expected(e)}, found ${found}`;
    if (!seen.has(line)) { seen.add(line); problems.push(line); }
  }
  throw new ConfigError(problems);
}

/** Reads a YAML file into a plain object; YAML syntax errors name the line and column. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${path}: ${e.message.split('\n')[0]}`));
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`${path}: (top level): expected a mapping, found ${describe(value)}`]);
  }
  return value as Record<string, unknown>;
}

/** Sets `a.b.c` in a nested object, creating mappings on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = target;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1] as string] = value;
}

interface Leaf { path: string; env: string; type: string }

function leaves(schema: Record<string, unknown>, prefix: string[]): Leaf[] {
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (!props) {
    const t = schema.type ?? (schema.enum ? 'string' : 'string');
    const type = Array.isArray(t) ? String(t.find((x) => x !== 'null')) : String(t);
    const env = 'BOOTGATE_' + prefix.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
    return [{ path: prefix.join('.'), env, type }];
  }
  return Object.entries(props).flatMap(([k, s]) => leaves(s, [...prefix, k]));
}

/** Every scalar or list key with its environment variable name, e.g. `tftp.blockSizeMax` = BOOTGATE_TFTP_BLOCK_SIZE_MAX. */
export const configKeys: Leaf[] = leaves(
  { properties: Object.fromEntries(Object.entries(configSchema.properties).filter(([k]) => k !== 'profiles')) },
  [],
).filter((l) => !l.path.startsWith('policy.allow') && !l.path.startsWith('policy.deny'));

/** Converts a string (env var or `--set`) into the key's type; validation then reports mistakes. */
export function coerce(type: string, text: string): unknown {
  switch (type) {
    case 'integer':
    case 'number': return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
    case 'boolean': return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
    case 'array': return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    default: return text === 'null' ? null : text;
  }
}

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Already-parsed overrides from the CLI, by key path. */
  overrides?: Record<string, unknown>;
}

/** The composition of file, environment and flags into one validated config. */
export function loadConfig(opts: LoadOptions): BootgateConfig {
  const raw: Record<string, unknown> = opts.file ? readConfigFile(opts.file) : {};
  const env = opts.env ?? {};
  for (const leaf of configKeys) {
    const v = env[leaf.env];
    if (v !== undefined) setPath(raw, leaf.path, coerce(leaf.type, v));
  }
  for (const [path, value] of Object.entries(opts.overrides ?? {})) {
    if (value !== undefined) setPath(raw, path, value);
  }
  return validateConfig(raw, opts.file ?? '(defaults)');
}
