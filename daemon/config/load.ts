/**
 * Loading the configuration: YAML file, then `BOOTGATE_*` environment variables, then CLI flags,
 * validated against one schema. Every failure names the file, the key path, what was expected and
 * what was found, so an admin can fix a broken config without reading code. A `BOOTGATE_*` variable
 * that names no key is refused like an unknown YAML key: a mistyped one would otherwise be ignored
 * and the daemon would run on the default (BOOTGATE_SERVER_INTERFACE: every interface).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
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

/**
 * `BOOTGATE_*` variables that are not configuration keys but that the product or its test lab reads
 * legitimately; they are let through, every other `BOOTGATE_*` name that is not a key is refused.
 * test/unit/config.test.ts checks that each BOOTGATE_ name in the tree is a key or listed here.
 */
export const NON_CONFIG_ENV: ReadonlyMap<string, string> = new Map([
  ['BOOTGATE_ADMIN_TOKEN', 'a read-write admin API token for the daemon; the token of the admin commands'],
  ['BOOTGATE_API', 'the admin API base URL the admin commands talk to'],
  ['BOOTGATE_CLI', 'test lab: the bootgate executable the end-to-end tests run'],
  ['BOOTGATE_LAB_APPLIANCE', 'test lab: run the firmware boots against dnsmasq instead'],
  ['BOOTGATE_LAB_ASSETS', 'test lab: where the kernel and firmware assets are kept'],
  ['BOOTGATE_LAB_CAPTURE', 'test lab: record the lab bridge to this pcap file'],
  ['BOOTGATE_LAB_KEEP', 'test lab: keep the lab directory after the run'],
  ['BOOTGATE_OPS_REF', 'ops tests: the git ref whose Dockerfile steps (and install steps) are performed'],
  ['BOOTGATE_DEBIAN_MIRROR', 'ops tests: the Debian mirror the clean install root is made from'],
  ['BOOTGATE_E2E_CACHE', 'ops tests: where downloads for the clean install root are kept between runs'],
]);

const ENV_PREFIX = 'BOOTGATE_';

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** What a mistyped name most likely meant (a typo or two, or the section left out), else null. */
function nearestName(name: string): string | null {
  const candidates = [
    ...configKeys.map((k) => ({ env: k.env, says: `${k.env}, the key ${k.path}` })),
    ...[...NON_CONFIG_ENV.keys()].map((env) => ({ env, says: env })),
  ];
  const scored = candidates.map((c) => ({ c, d: editDistance(name, c.env) })).sort((x, y) => x.d - y.d);
  const best = scored[0];
  const tail = `_${name.slice(ENV_PREFIX.length)}`;
  // Up to two slips, fewer in a short name (BOOTGATE_AAA is no typo of BOOTGATE_API), and one best match.
  const slips = Math.min(2, Math.floor((tail.length - 1) / 4));
  if (best !== undefined && best.d <= slips && scored[1]?.d !== best.d) return best.c.says;
  const bySuffix = candidates.filter((c) => c.env.endsWith(tail));
  return bySuffix.length === 1 ? bySuffix[0]!.says : null;
}

/** One problem per `BOOTGATE_*` variable that is neither a configuration key nor in NON_CONFIG_ENV. */
export function unknownEnvProblems(env: NodeJS.ProcessEnv): string[] {
  const known = new Set(configKeys.map((k) => k.env));
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !known.has(name) && !NON_CONFIG_ENV.has(name))
    .sort()
    .map((name) => {
      const near = nearestName(name);
      const hint = near ? ` (did you mean ${near}?)` : '';
      return `environment: ${name}: not a configuration key${hint}`;
    });
}

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Already-parsed overrides from the CLI, by key path. */
  overrides?: Record<string, unknown>;
  /** What relative paths in variables and flags are taken from (default: the working directory). */
  cwd?: string;
}

/** The keys that name a file or folder. */
export const PATH_KEYS = ['root', 'store.path', 'store.passwordFile', 'admin.tokensFile', 'admin.tls.cert', 'admin.tls.key', 'admin.ouiFile', 'http.metricsTokenFile'] as const;

function getPath(target: Record<string, unknown>, path: string): unknown {
  let node: unknown = target;
  for (const k of path.split('.')) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
  return node;
}

/** A relative path taken from `dir`; anything else as it is (`:memory:`, a test store, is not a path). */
const anchored = (v: unknown, dir: string): unknown =>
  typeof v === 'string' && v !== ':memory:' && v.length > 0 && !isAbsolute(v) ? resolve(dir, v) : v;

function anchorPaths(target: Record<string, unknown>, dir: string): void {
  for (const key of PATH_KEYS) {
    const v = getPath(target, key);
    if (v !== undefined) setPath(target, key, anchored(v, dir));
  }
}

/**
 * The composition of file, environment and flags into one validated config. Relative paths in the
 * file, and the defaults of a config file that leaves them out, are taken from the file's folder (the
 * daemon and the CLI then agree on the database whatever folder each runs in); relative paths in
 * variables and flags from the working directory, as a shell user expects.
 */
export function loadConfig(opts: LoadOptions): BootgateConfig {
  const raw: Record<string, unknown> = opts.file ? readConfigFile(opts.file) : {};
  const fileDir = opts.file ? dirname(resolve(opts.file)) : null;
  if (fileDir) anchorPaths(raw, fileDir);
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? {};
  const envProblems = unknownEnvProblems(env);
  const pathKeys: readonly string[] = PATH_KEYS;
  const fromShell = (path: string, v: unknown): unknown => (pathKeys.includes(path) ? anchored(v, cwd) : v);
  for (const leaf of configKeys) {
    const v = env[leaf.env];
    if (v !== undefined) setPath(raw, leaf.path, fromShell(leaf.path, coerce(leaf.type, v)));
  }
  for (const [path, value] of Object.entries(opts.overrides ?? {})) {
    if (value !== undefined) setPath(raw, path, fromShell(path, value));
  }
  let config: BootgateConfig;
  try {
    config = validateConfig(raw, opts.file ?? '(defaults)');
  } catch (err) {
    // All problems in one report, as for a file with several mistakes.
    if (err instanceof ConfigError && envProblems.length > 0) throw new ConfigError([...envProblems, ...err.problems]);
    throw err;
  }
  if (envProblems.length > 0) throw new ConfigError(envProblems);
  // Defaults the file left out (store.path: data/bootgate.db) belong to its folder too.
  if (fileDir) anchorPaths(config as unknown as Record<string, unknown>, fileDir);
  return config;
}

/**
 * Until this release a relative path in a config file was taken from the working directory. Where the
 * file's folder has nothing at such a path but the working directory has, the daemon must not start
 * on a new, empty database (or an empty boot tree): this names both places and the fix.
 */
export function movedPathProblems(file: string, cfg: Pick<BootgateConfig, 'root' | 'store'>, cwd = process.cwd()): string[] {
  const raw = readConfigFile(file);
  const defaults = validateConfig({}, '(defaults)');
  const problems: string[] = [];
  for (const [key, now] of [['root', cfg.root], ['store.path', cfg.store.path]] as const) {
    const written = getPath(raw, key) ?? getPath(defaults as unknown as Record<string, unknown>, key);
    if (typeof written !== 'string' || written === ':memory:' || isAbsolute(written)) continue;
    const before = resolve(cwd, written);
    if (before !== now && !existsSync(now) && existsSync(before)) {
      problems.push(`${file}: ${key}: ${written} is taken from the config file's folder (${now}, which does not exist), no longer from the working directory (${before}, which does); set ${key}: ${before}`);
    }
  }
  return problems;
}
