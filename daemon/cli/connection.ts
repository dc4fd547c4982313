/**
 * The one way an admin command reaches Bootgate, for every command group:
 *   1. `--api URL` or BOOTGATE_API: that admin API;
 *   2. else the daemon the config names (`-c FILE`: admin.address and admin.port, or http.address and
 *      http.port when the admin API is served by the boot listener), if its admin API answers;
 *   3. else the database file: `--db FILE`, or the config's store.path taken relative to the config
 *      file's folder (never the working directory, unless there is no config file).
 * A command never creates a database (only `bootgate init` and the daemon do); with none it refuses and
 * names every place it looked. An https admin API (the admin listener of its own) is reached trusting
 * exactly its certificate: admin.tls.cert, else the self-signed one next to the store. The API token: `--token`, BOOTGATE_ADMIN_TOKEN, or the tokens file
 * (admin.tokensFile, else `admin-tokens` beside the store, which the daemon writes at its first start).
 * Without `-c`, the config is /etc/bootgate/bootgate.yaml when it exists (the systemd unit's), else the
 * defaults. `--verbose` says on stderr which way was taken.
 *
 * A feature's cli.ts builds its own client from the Connection: API calls, or its service on the Store,
 * so a command does the same thing either way (a running daemon notices direct database changes).
 */
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { adminCertFile, adminListenerUrl, effectiveConfig } from '../config/defaults.js';
import { loadConfig } from '../config/load.js';
import type { BootgateConfig } from '../config/schema.js';
import { adminTokensFile, parseTokens } from '../http/admin/auth.js';
import { bodyTooLargeMessage } from '../http/admin/errors.js';
import { ADMIN_API_TITLE, OPENAPI_PATH } from '../http/admin/index.js';
import { openStore, type Store } from '../store/db.js';
import { CliError, report, type BaseIo } from './io.js';
import { trustingFetch } from './tls-fetch.js';

export interface ConnectionArgs {
  config?: string | undefined;
  api?: string | undefined;
  token?: string | undefined;
  db?: string | undefined;
  json?: boolean | undefined;
  verbose?: boolean | undefined;
}

/** The flags every command that reaches a daemon or a database takes. */
export function connectionOptions<T>(y: Argv<T>) {
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML config file: finds the daemon, the token and the database' })
    .option('api', { type: 'string', describe: 'admin API base URL, e.g. https://10.0.0.5:9090/api/v1 (env BOOTGATE_API)' })
    .option('token', { type: 'string', describe: 'admin API token (env BOOTGATE_ADMIN_TOKEN; default: the config\'s admin.tokensFile)' })
    .option('db', { type: 'string', describe: 'work on this database file directly (no daemon)' })
    .option('json', { type: 'boolean', describe: 'print JSON (as the API returns it)' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'say on stderr whether the API or the database is used, and why' })
    .conflicts('api', 'db');
}

/**
 * The flags of a command that works on this host only (no daemon, no API): the config file, and JSON
 * output. `configUse` says what the command reads from the config.
 */
export function localOptions<T>(y: Argv<T>, configUse = 'YAML config file') {
  return y
    .option('config', { alias: 'c', type: 'string', describe: configUse })
    .option('json', { type: 'boolean', describe: 'print JSON' });
}

/** How long a daemon named by the config gets to answer before the database is used instead. */
export const PROBE_TIMEOUT_MS = 5000;
/** How long one API call may take (a large import on a slow appliance). */
const CALL_TIMEOUT_MS = 60_000;

export interface CallOptions {
  /** Content-Type of a string body sent as is (default: the body as JSON). */
  contentType?: string;
  /** The API's body limit for this call: a larger body is refused here, before anything is sent. */
  limit?: number;
}

/** An authenticated caller of the admin API: JSON back, or a CliError with the API's message and problems. */
export interface ApiCaller {
  readonly base: string;
  call<T>(method: string, path: string, body?: unknown, opts?: CallOptions): Promise<T>;
  /** A call whose answer is a file: written to `file` (under a temporary name until complete); returns its size. */
  download(method: string, path: string, file: string): Promise<number>;
}

interface Common {
  /** The configuration, its relative paths taken from the config file's folder. */
  cfg: BootgateConfig;
  /** Where the command went, for the user: `API http://...` or `database /var/lib/...`. */
  target: string;
  close(): void;
}
export type Connection = Common & ({ kind: 'api'; api: ApiCaller } | { kind: 'store'; store: Store });

const SOCKET_CLOSED = new Set(['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET']);

/** The API's refusal as a CliError: its message and problems, or what came instead of JSON. */
async function refusal(base: string, res: Response): Promise<CliError> {
  const text = await res.text();
  try {
    const e = JSON.parse(text) as { message?: string; problems?: string[] };
    return new CliError(e.message ?? `HTTP ${res.status}`, e.problems ?? []);
  } catch {
    return new CliError(`the admin API at ${base} answered ${res.status} with something that is not JSON: ${text.slice(0, 80)}`);
  }
}

function apiCaller(base: string, token: string, doFetch: typeof fetch): ApiCaller {
  return {
    base,
    async download(method: string, path: string, file: string): Promise<number> {
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(CALL_TIMEOUT_MS * 10) });
      } catch (err) {
        const c = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new CliError(`cannot reach the admin API at ${base}: ${c?.code ?? c?.message ?? (err as Error).message}`);
      }
      if (!res.ok || !res.body) throw await refusal(base, res);
      const partial = `${file}.partial`;
      try {
        await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(partial, { mode: 0o600 }));
        const size = statSync(partial).size;
        const expected = Number(res.headers.get('content-length') ?? size);
        if (size !== expected) throw new CliError(`the download from ${base}${path} ended after ${size} of ${expected} bytes; nothing was written to ${file}`);
        renameSync(partial, file);
        return size;
      } finally {
        rmSync(partial, { force: true });
      }
    },
    async call<T>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
      const payload = body === undefined ? undefined : opts.contentType ? String(body) : JSON.stringify(body);
      const size = payload === undefined ? 0 : Buffer.byteLength(payload);
      if (opts.limit !== undefined && size > opts.limit) throw new CliError(bodyTooLargeMessage(size, opts.limit));
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': opts.contentType ?? 'application/json' }) },
          ...(payload === undefined ? {} : { body: payload }),
          signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
        });
      } catch (err) {
        const c = (err as { cause?: { code?: string; message?: string } }).cause;
        const code = c?.code ?? c?.message ?? (err as Error).message;
        // A server refusing a body stops reading it and closes: the client sees a broken pipe, not the 413.
        if (size > 0 && c?.code && SOCKET_CLOSED.has(c.code)) {
          throw new CliError(`the admin API at ${base} closed the connection while a ${size}-byte request body was sent (${c.code}); the body is probably over its size limit`);
        }
        throw new CliError(`cannot reach the admin API at ${base}: ${code}`);
      }
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new CliError(`the admin API at ${base} answered ${res.status} with something that is not JSON: ${text.slice(0, 80)}`);
      }
      if (!res.ok) {
        const e = json as { message?: string; problems?: string[] };
        throw new CliError(e.message ?? `HTTP ${res.status}`, e.problems ?? []);
      }
      return json as T;
    },
  };
}

/** Is a Bootgate admin API answering at `base`? (Its OpenAPI document needs no token; its first render is slow on a loaded host.) */
export async function probe(base: string, doFetch: typeof fetch): Promise<boolean> {
  try {
    const res = await doFetch(`${base}${OPENAPI_PATH}`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!res.ok) return false;
    const doc = (await res.json()) as { info?: { title?: string } };
    return doc.info?.title === ADMIN_API_TITLE;
  } catch {
    return false;
  }
}

/** The first read-write token of the tokens file (else the first read-only one: reads still work). */
function tokenFromFile(file: string): { token?: string; problem?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `no tokens file ${file} (the daemon writes one at its first start when no token is configured; \`bootgate token new\` adds one)` };
    return { problem: `cannot read the tokens file ${file}: ${code ?? String(err)}${code === 'EACCES' ? ' (run as root or as the daemon\'s user)' : ''}` };
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const valid = lines.filter((l) => parseTokens(l, file).tokens.size === 1);
  const line = valid.find((l) => !l.endsWith(':ro')) ?? valid[0];
  return line ? { token: line.replace(/:(ro|rw)$/, '') } : { problem: `the tokens file ${file} holds no usable token` };
}

/**
 * The fetch that reaches `base`: for an https URL, one trusting exactly the certificate in `ca` when that
 * file is there (a certificate that cannot be read is an error, not a silent fall back); else io.fetch.
 */
export function fetchFor(base: string, ca: string | null | undefined, io: Pick<BaseIo, 'fetch'>): typeof fetch {
  if (!base.startsWith('https:') || !ca || !existsSync(ca)) return io.fetch;
  let pem: string;
  try {
    pem = readFileSync(ca, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new CliError(`cannot read ${ca}, the admin listener's certificate to trust at ${base}: ${code}${code === 'EACCES' ? ' (run as root or as the daemon\'s user)' : ''}`);
  }
  try {
    return trustingFetch(pem, io.fetch);
  } catch (err) {
    throw new CliError(`${ca} is not a PEM certificate: ${(err as Error).message}`);
  }
}

function apiConnection(base: string, cfg: BootgateConfig, args: ConnectionArgs, io: BaseIo, say: (m: string) => void, doFetch: typeof fetch): Connection {
  const root = base.replace(/\/+$/, '');
  let token = args.token ?? io.env.BOOTGATE_ADMIN_TOKEN;
  let from = args.token ? '--token' : 'BOOTGATE_ADMIN_TOKEN';
  const file = adminTokensFile(cfg);
  if (!token && file) {
    const t = tokenFromFile(file.path);
    if (!t.token) throw new CliError(`no admin token for ${root}: ${t.problem ?? 'none found'}; pass --token or set BOOTGATE_ADMIN_TOKEN`);
    token = t.token;
    from = `${file.configured ? 'admin.tokensFile' : 'the tokens file beside the store'} ${file.path}`;
  }
  if (!token) throw new CliError(`no admin token for ${root}: pass --token, set BOOTGATE_ADMIN_TOKEN, or name admin.tokensFile in the config`);
  say(`token from ${from}`);
  return { kind: 'api', api: apiCaller(root, token, doFetch), cfg, target: `API ${root}`, close: () => undefined };
}

function storeConnection(path: string, cfg: BootgateConfig): Connection {
  const store = openStore(path, { busyTimeoutMs: 10_000, mustExist: true });
  return { kind: 'store', store, cfg, target: `database ${path}`, close: () => store.close() };
}

const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

/** The config a command reads without `-c` when it exists: the systemd unit's (deploy/bootgate.service). */
export const DEFAULT_CONFIG_FILE = '/etc/bootgate/bootgate.yaml';

/**
 * The configuration a command works with: `-c FILE` (relative to the working directory); loadConfig
 * takes relative paths in the file from its folder, as the daemon does, and those in variables from
 * the working directory.
 */
export function commandConfig(args: Pick<ConnectionArgs, 'config'>, io: Pick<BaseIo, 'env' | 'cwd' | 'defaultConfig'>): { cfg: BootgateConfig; file: string | null } {
  const cwd = io.cwd ?? process.cwd();
  const fallback = io.defaultConfig === undefined ? DEFAULT_CONFIG_FILE : io.defaultConfig;
  const file = args.config !== undefined ? resolve(cwd, args.config) : fallback !== null && isFile(fallback) ? fallback : null;
  const cfg = loadConfig({ file: file ?? undefined, env: io.env, cwd });
  // Without a file the defaults stay relative: for a command, to its working directory.
  const store = cfg.store.path === ':memory:' ? cfg.store.path : resolve(cwd, cfg.store.path);
  const tokensFile = cfg.admin.tokensFile === null ? null : resolve(cwd, cfg.admin.tokensFile);
  // The profiles the daemon runs with, the zero-config one included.
  return { cfg: effectiveConfig({ ...cfg, root: resolve(cwd, cfg.root), store: { ...cfg.store, path: store }, admin: { ...cfg.admin, tokensFile } }), file };
}

/** The admin API a daemon started with this config listens on (and the certificate to trust for https), or why there is none. */
export function configuredApi(cfg: BootgateConfig): { base: string; ca?: string | null } | { none: string } {
  if (!cfg.admin.enabled) return { none: 'admin.enabled is false' };
  const at = adminListenerUrl(cfg);
  return 'base' in at ? { ...at, base: `${at.base}/api/v1` } : at;
}

export async function connect(args: ConnectionArgs, io: BaseIo): Promise<Connection> {
  const { cfg, file } = commandConfig(args, io);
  const say = (m: string) => { if (args.verbose) io.err(`bootgate: ${m}\n`); };
  const api = args.api ?? io.env.BOOTGATE_API;
  if (api) {
    say(`using the admin API at ${api} (${args.api ? '--api' : 'BOOTGATE_API'})`);
    return apiConnection(api, cfg, args, io, say, fetchFor(api, adminCertFile(cfg), io));
  }
  if (args.db) {
    const path = resolve(io.cwd ?? process.cwd(), args.db);
    if (!isFile(path)) throw new CliError(`no database at ${path} (--db); a command never creates one: \`bootgate init --db ${path}\` does`);
    say(`using the database ${path} (--db)`);
    return storeConnection(path, cfg);
  }
  const looked: string[] = [];
  const daemon = configuredApi(cfg);
  if ('base' in daemon) {
    const doFetch = fetchFor(daemon.base, daemon.ca, io);
    if (await probe(daemon.base, doFetch)) {
      say(`using the admin API at ${daemon.base} (${cfg.admin.port !== null ? 'admin.address and admin.port' : 'http.address and http.port'} of ${file ?? 'the default configuration'})`);
      return apiConnection(daemon.base, cfg, args, io, say, doFetch);
    }
    looked.push(`no Bootgate admin API at ${daemon.base} (${cfg.admin.port !== null ? 'admin.address and admin.port' : 'http.address and http.port'})`);
    say(looked[0] ?? '');
  } else {
    looked.push(`no admin API to look for (${daemon.none})`);
  }
  const path = cfg.store.path;
  const from = file ? `store.path of ${file}, relative to its folder` : 'store.path of the default configuration, relative to the working directory';
  if (path !== ':memory:' && isFile(path)) {
    say(`using the database ${path} (${from})`);
    return storeConnection(path, cfg);
  }
  looked.push(`no database at ${path} (${from})`);
  const init = `bootgate init${file ? ` -c ${file}` : ''}`;
  throw new CliError(`no daemon and no database; start the daemon, pass --api URL or --db FILE, or create the database with \`${init}\`. Looked at:`, looked);
}

/** What a command prints: the JSON (`--json`) or the text. */
export interface Output { json: unknown; text: string }

/**
 * A command handler: connect, build the feature's client from the connection, run, print, close.
 * Every failure is one message plus its problems and exit code 1.
 */
export function runCommand<C, A extends ConnectionArgs>(
  io: BaseIo,
  client: (conn: Connection) => C,
  fn: (c: C, a: A, conn: Connection) => Promise<Output>,
) {
  return async (args: A): Promise<void> => {
    let conn: Connection | undefined;
    try {
      conn = await connect(args, io);
      const r = await fn(client(conn), args, conn);
      io.out(args.json ? `${JSON.stringify(r.json, null, 2)}\n` : r.text);
    } catch (err) {
      report(io, err);
    } finally {
      conn?.close();
    }
  };
}
