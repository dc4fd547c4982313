/**
 * How the shared PostgreSQL store is reached: the `store.url` connection string with libpq's
 * semantics, which node-postgres only partly has, so this module does the connecting itself and
 * hands `pg` one host at a time:
 * - several hosts (`postgres://u@db1:5432,db2:5433/bootgate`, or `?host=a,b&port=1,2`), tried in
 *   order; `target_session_attrs` (`any`, `read-write`, `read-only`, `primary`, `standby`,
 *   `prefer-standby`) skips a server that does not fit (read-write: `transaction_read_only` is on),
 *   so a failover (Patroni, a managed service) is followed by connecting again;
 * - `sslmode` (`disable`, `allow`, `prefer` (the default), `require`, `verify-ca`, `verify-full`) with
 *   `sslrootcert` (and `sslcert`/`sslkey`), as libpq means them (node-postgres treats them all as
 *   verify-full); no TLS on a unix socket, as libpq;
 * - the password from `store.passwordFile`, or else the URL, or else PGPASSFILE / ~/.pgpass (read here
 *   as libpq does, ignored when others may read it), never from a command line.
 * Every connection the store opens comes through connectPg(): the statement worker, the change feed,
 * the pool, migrations and `bootgate store migrate`. Integers come back as numbers (times are
 * milliseconds, well inside 2^53).
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';

pg.types.setTypeParser(20, (v: string) => Number(v));
pg.types.setTypeParser(1700, (v: string) => Number(v));

export interface PgTarget {
  url: string;
  /** A file holding the password (its first line), instead of a password in the URL. */
  passwordFile?: string | null;
  /** Application name shown in pg_stat_activity (the appliance's name). */
  applicationName?: string;
  connectTimeoutMs?: number;
  /** Server-side limit on one statement (0: none). */
  statementTimeoutMs?: number;
}

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = typeof SSL_MODES[number];
export const SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;
export type SessionAttrs = typeof SESSION_ATTRS[number];

export interface PgHost {
  /** A name, an address, or a unix socket folder (starting with `/`). */
  host: string;
  port: number;
}

export interface PgUrl {
  hosts: PgHost[];
  user: string | null;
  password: string | null;
  database: string | null;
  sslmode: SslMode;
  sslrootcert: string | null;
  sslcert: string | null;
  sslkey: string | null;
  targetSessionAttrs: SessionAttrs;
  /** connect_timeout, per host, in milliseconds (null: the caller's default). */
  connectTimeoutMs: number | null;
  applicationName: string | null;
}

/** A connection string the store cannot use; the message never holds the password. */
export class PgUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PgUrlError';
  }
}

const MAX_HOSTS = 16;
const MAX_URL = 4096;
const PARAMS = new Set(['host', 'port', 'user', 'password', 'dbname', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey',
  'target_session_attrs', 'connect_timeout', 'application_name']);

export function isPostgresUrl(s: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(s);
}

/** The URL with any password (in the user part or a `password=` parameter) replaced, for logs and errors. */
export function redactUrl(url: string): string {
  return url
    .replace(/^(postgres(?:ql)?:\/\/[^:/@?#]*):[^@/?#]*@/i, '$1:***@')
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new PgUrlError(`${what} has a broken %-escape`);
  }
}

function port(s: string, what: string): number {
  if (!/^\d{1,5}$/.test(s)) throw new PgUrlError(`${what} port "${s.slice(0, 20)}" is not a number`);
  const n = Number(s);
  if (n < 1 || n > 65535) throw new PgUrlError(`${what} port ${n} is out of range (1-65535)`);
  return n;
}

/** Splits `db1:5432,[::1]:5433,db3` into names and optional ports. */
function authorityHosts(s: string): Array<{ host: string; port: number | null }> {
  if (s === '') return [];
  return s.split(',').map((part, i) => {
    const what = `host ${i + 1}`;
    if (part === '') throw new PgUrlError(`${what} of the host list is empty`);
    let host: string;
    let rest: string;
    if (part.startsWith('[')) {
      const end = part.indexOf(']');
      if (end < 0) throw new PgUrlError(`${what} "${part.slice(0, 60)}" has an unclosed [`);
      host = part.slice(1, end);
      rest = part.slice(end + 1);
      if (isIP(host) !== 6) throw new PgUrlError(`${what} "[${host.slice(0, 60)}]" is not an IPv6 address`);
      if (rest !== '' && !rest.startsWith(':')) throw new PgUrlError(`${what} has text after "]"`);
    } else {
      const colon = part.indexOf(':');
      host = colon < 0 ? part : part.slice(0, colon);
      rest = colon < 0 ? '' : part.slice(colon);
      host = decode(host, what);
      if (host === '') throw new PgUrlError(`${what} has a port but no name`);
    }
    return { host, port: rest === '' ? null : port(rest.slice(1), what) };
  });
}

/**
 * Reads a `postgres://` connection string as libpq would, or throws a PgUrlError saying what is
 * wrong (never quoting the password). Unknown parameters are refused rather than ignored.
 */
export function parsePgUrl(url: string): PgUrl {
  if (url.length > MAX_URL) throw new PgUrlError(`longer than ${MAX_URL} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(url)) throw new PgUrlError('contains spaces or control characters (write them %-escaped)');
  const m = /^postgres(?:ql)?:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(url);
  if (!m) throw new PgUrlError('is not a postgres:// or postgresql:// URL');
  if (m[4] !== undefined) throw new PgUrlError('has a #fragment, which means nothing here');
  const authority = m[1] ?? '';
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? null : authority.slice(0, at);
  let user: string | null = null;
  let password: string | null = null;
  if (userinfo !== null) {
    const colon = userinfo.indexOf(':');
    user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon), 'the user name') || null;
    password = colon < 0 ? null : decode(userinfo.slice(colon + 1), 'the password');
  }
  const fromAuthority = authorityHosts(at < 0 ? authority : authority.slice(at + 1));
  let database: string | null = m[2] === undefined || m[2] === '/' ? null : decode(m[2].slice(1), 'the database name');
  if (database !== null && database.includes('/')) throw new PgUrlError('the database name holds a "/"');

  const params = new Map<string, string>();
  for (const pair of (m[3] ?? '').slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq < 0) throw new PgUrlError(`parameter "${pair.slice(0, 40)}" has no value`);
    const key = decode(pair.slice(0, eq), 'a parameter name');
    if (!PARAMS.has(key)) throw new PgUrlError(`unknown parameter "${key.slice(0, 40)}" (known: ${[...PARAMS].join(', ')})`);
    if (params.has(key)) throw new PgUrlError(`parameter ${key} is given twice`);
    params.set(key, decode(pair.slice(eq + 1), `parameter ${key}`));
  }
  if (params.has('user')) user = params.get('user') || null;
  if (params.has('password')) password = params.get('password') ?? null;
  if (params.has('dbname')) database = params.get('dbname') || null;

  // Names from ?host= win over the URL's (libpq); ports from ?port=, else the URL's.
  let names = fromAuthority.map((h) => h.host);
  const queryHost = params.get('host');
  if (queryHost !== undefined) {
    names = queryHost.split(',');
    names.forEach((n, i) => { if (n === '') throw new PgUrlError(`host ${i + 1} of the host= list is empty`); });
  }
  if (names.length === 0) names = ['localhost'];
  if (names.length > MAX_HOSTS) throw new PgUrlError(`${names.length} hosts; at most ${MAX_HOSTS}`);
  let ports: Array<number | null>;
  const queryPort = params.get('port');
  if (queryPort !== undefined) ports = queryPort.split(',').map((p, i) => port(p, `port= entry ${i + 1}:`));
  else ports = fromAuthority.length > 0 ? fromAuthority.map((h) => h.port) : [null];
  if (ports.length !== 1 && ports.length !== names.length) {
    throw new PgUrlError(`${names.length} hosts but ${ports.length} ports (give one port for all, or one per host)`);
  }
  const hosts = names.map((host, i) => ({ host, port: (ports.length === 1 ? ports[0] : ports[i]) ?? 5432 }));

  const sslmode = params.get('sslmode') ?? 'prefer';
  if (!(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new PgUrlError(`sslmode "${sslmode.slice(0, 40)}" is not one of ${SSL_MODES.join(', ')}`);
  }
  const attrs = params.get('target_session_attrs') ?? 'any';
  if (!(SESSION_ATTRS as readonly string[]).includes(attrs)) {
    throw new PgUrlError(`target_session_attrs "${attrs.slice(0, 40)}" is not one of ${SESSION_ATTRS.join(', ')}`);
  }
  const sslrootcert = params.get('sslrootcert') || null;
  if (sslmode === 'verify-ca' && sslrootcert === null) {
    throw new PgUrlError('sslmode=verify-ca needs sslrootcert (the CA that signed the server\'s certificate)');
  }
  let connectTimeoutMs: number | null = null;
  const ct = params.get('connect_timeout');
  if (ct !== undefined) {
    if (!/^\d{1,6}$/.test(ct)) throw new PgUrlError(`connect_timeout "${ct.slice(0, 20)}" is not a whole number of seconds`);
    // libpq: 0 means wait for ever, and less than 2 s counts as 2 s.
    connectTimeoutMs = Number(ct) === 0 ? 0 : Math.max(2, Number(ct)) * 1000;
  }
  return {
    hosts, user, password, database, sslmode: sslmode as SslMode, sslrootcert,
    sslcert: params.get('sslcert') || null, sslkey: params.get('sslkey') || null,
    targetSessionAttrs: attrs as SessionAttrs, connectTimeoutMs, applicationName: params.get('application_name') || null,
  };
}

function readKeyFile(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${key} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** The password from store.passwordFile (its first line), or null to let PGPASSFILE / ~/.pgpass speak. */
function filePassword(t: PgTarget): string | null {
  if (!t.passwordFile) return null;
  return readKeyFile('store.passwordFile', t.passwordFile).split(/\r?\n/)[0] ?? '';
}

/** The TLS attempts sslmode makes for one host, in order (false: without TLS). */
function tlsAttempts(u: PgUrl, h: PgHost, files: { ca?: string; cert?: string; key?: string }): Array<false | ConnectionOptions> {
  if (h.host.startsWith('/') || u.sslmode === 'disable') return [false];
  const base: ConnectionOptions = {};
  if (files.cert !== undefined) base.cert = files.cert;
  if (files.key !== undefined) base.key = files.key;
  const unverified: ConnectionOptions = { ...base, rejectUnauthorized: false };
  // verify-ca: the chain must lead to sslrootcert, whatever name the certificate carries.
  const verifyCa: ConnectionOptions = { ...base, ca: files.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  switch (u.sslmode) {
    case 'allow': return [false, unverified];
    case 'prefer': return [unverified, false];
    // libpq: require with a root certificate given verifies the chain, as verify-ca.
    case 'require': return [files.ca === undefined ? unverified : verifyCa];
    case 'verify-ca': return [verifyCa];
    case 'verify-full': {
      const full: ConnectionOptions = { ...base, rejectUnauthorized: true };
      if (files.ca !== undefined) full.ca = files.ca;
      if (isIP(h.host) === 0) full.servername = h.host;
      return [full];
    }
    default: return [false];
  }
}

/** A pg config for one host and one TLS attempt (no connection string: pg would reread it its own way). */
export function hostConfig(t: PgTarget, u: PgUrl, h: PgHost, ssl: false | ConnectionOptions, password: string | null): pg.ClientConfig {
  const cfg: pg.ClientConfig = {
    host: h.host,
    port: h.port,
    database: u.database ?? undefined,
    user: u.user ?? undefined,
    ssl,
    application_name: (u.applicationName ?? t.applicationName ?? 'bootgate').slice(0, 60),
    connectionTimeoutMillis: u.connectTimeoutMs ?? t.connectTimeoutMs ?? 5000,
    keepAlive: true,
  };
  // Asked only when the server wants one; never left to node-postgres's own (deprecated) .pgpass reading.
  cfg.password = async () => password ?? '';
  if (t.statementTimeoutMs) cfg.statement_timeout = t.statementTimeoutMs;
  return cfg;
}

/** Whether a server fits target_session_attrs (`pass`: the attribute asked for in this pass). */
async function fits(c: pg.Client, pass: SessionAttrs): Promise<string | null> {
  if (pass === 'any') return null;
  if (pass === 'read-write' || pass === 'read-only') {
    const r = await c.query('SHOW transaction_read_only');
    const ro = String((r.rows[0] as { transaction_read_only?: string } | undefined)?.transaction_read_only) === 'on';
    if (pass === 'read-write' && ro) return 'read-only';
    if (pass === 'read-only' && !ro) return 'read-write';
    return null;
  }
  const r = await c.query('SELECT pg_is_in_recovery() AS standby');
  const standby = (r.rows[0] as { standby?: boolean } | undefined)?.standby === true;
  if (pass === 'primary' && standby) return 'a standby';
  if ((pass === 'standby' || pass === 'prefer-standby') && !standby) return 'a primary';
  return null;
}

/** The password file libpq would read: PGPASSFILE, else ~/.pgpass. */
function passFile(): { path: string; key: string } {
  const env = process.env.PGPASSFILE;
  return env ? { path: env, key: 'PGPASSFILE' } : { path: join(homedir(), '.pgpass'), key: '~/.pgpass' };
}

/** Splits one .pgpass line on unescaped colons (`\:` and `\\` are escapes). */
function passFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i] as string;
    if (ch === '\\' && i + 1 < line.length) { cur += line[i + 1]; i += 1; continue; }
    if (ch === ':') { out.push(cur); cur = ''; continue; }
    cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * The password for one host from PGPASSFILE / ~/.pgpass (`host:port:database:user:password`, `*`
 * matching anything; a unix socket matches `localhost`), or null. A file others may read is
 * ignored, as libpq does.
 */
export function pgpassLookup(h: PgHost, database: string, user: string): string | null {
  const { path } = passFile();
  try {
    const st = statSync(path);
    if (!st.isFile() || (st.mode & 0o077) !== 0) return null;
    const host = h.host.startsWith('/') ? 'localhost' : h.host;
    for (const raw of readFileSync(path, 'utf8').split(/\r?\n/)) {
      if (raw === '' || raw.startsWith('#')) continue;
      const f = passFields(raw);
      if (f.length < 5) continue;
      const want = [host, String(h.port), database, user];
      if (want.every((v, i) => f[i] === '*' || f[i] === v)) return f.slice(4).join(':');
    }
  } catch {
    // No file: no password from it.
  }
  return null;
}

/** A failure to reach any suitable server: the message names each host and why, never the password. */
export class PgConnectError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'PgConnectError';
  }
}

function label(h: PgHost): string {
  return h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

/**
 * Connects to the first server of the host list that answers and fits target_session_attrs
 * (prefer-standby: a standby if any answers, else any server), trying the TLS attempts sslmode makes
 * on each. Throws a PgConnectError naming every host tried and why it was passed over; a refused
 * password names where it came from (store.passwordFile, or PGPASSFILE / ~/.pgpass).
 */
export async function connectPg(t: PgTarget, opts: { connectTimeoutMs?: number } = {}): Promise<pg.Client> {
  let u: PgUrl;
  try {
    u = parsePgUrl(t.url);
  } catch (err) {
    throw new PgConnectError(`store.url ${redactUrl(t.url)}: ${(err as Error).message}`);
  }
  const fromFile = filePassword(t);
  const user = u.user ?? process.env.PGUSER ?? userInfo().username;
  const files: { ca?: string; cert?: string; key?: string } = {};
  if (u.sslrootcert) files.ca = readKeyFile('store.url sslrootcert', u.sslrootcert);
  if (u.sslcert) files.cert = readKeyFile('store.url sslcert', u.sslcert);
  if (u.sslkey) files.key = readKeyFile('store.url sslkey', u.sslkey);
  const target = opts.connectTimeoutMs === undefined ? t : { ...t, connectTimeoutMs: opts.connectTimeoutMs };
  const passes: SessionAttrs[] = u.targetSessionAttrs === 'prefer-standby' ? ['prefer-standby', 'any'] : [u.targetSessionAttrs];
  const why: string[] = [];
  let code: string | undefined;
  for (const pass of passes) {
    for (const h of u.hosts) {
      for (const ssl of tlsAttempts(u, h, files)) {
        const password = fromFile ?? u.password ?? pgpassLookup(h, u.database ?? user, user);
        const c = new pg.Client(hostConfig(target, { ...u, user }, h, ssl, password));
        // A socket error after connect() settled must not become an uncaught exception.
        const swallow = (): void => undefined;
        c.on('error', swallow);
        try {
          await c.connect();
          const misfit = await fits(c, pass);
          if (misfit !== null) {
            why.push(`${label(h)}: ${misfit} (target_session_attrs=${u.targetSessionAttrs})`);
            await c.end().catch(() => undefined);
            break;
          }
          c.removeListener('error', swallow);
          return c;
        } catch (err) {
          await c.end().catch(() => undefined);
          const e = err as Error & { code?: string };
          code = e.code ?? code;
          let msg = e.message;
          if (e.code === undefined && password === null && /password/i.test(msg)) {
            msg = `the server asks for a password and none was found (store.passwordFile, store.url, ${passFile().key})`;
          } else if (e.code === '28P01' || e.code === '28000') {
            msg += t.passwordFile ? ' (the password comes from store.passwordFile)'
              : u.password !== null ? ' (the password comes from store.url)' : ` (the password comes from ${passFile().key})`;
          }
          why.push(`${label(h)}${ssl === false ? '' : ' (TLS)'}: ${msg}`);
        }
      }
    }
  }
  const prefix = u.hosts.length > 1 ? `no server of ${u.hosts.length} suitable` : 'cannot connect';
  throw new PgConnectError(`${prefix}: ${why.join('; ')}`, code);
}

export { pg };
