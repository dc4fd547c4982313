/**
 * How the shared PostgreSQL store is reached: the `store.url` connection string (libpq style,
 * including `sslmode`, `sslrootcert`, several hosts with `target_session_attrs`), the password from
 * `store.passwordFile` or else from PGPASSFILE / ~/.pgpass (node-postgres reads those itself), never
 * from a command line. Integers come back as numbers (times are milliseconds, well inside 2^53).
 */
import { readFileSync } from 'node:fs';
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

export function isPostgresUrl(s: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(s);
}

/** The URL with any password replaced, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]+):[^@]*@/i, '$1:***@');
}

/**
 * Why node-postgres cannot use this URL, or null. It connects to one host: a libpq host list
 * (`db1,db2`) with target_session_attrs would be misread, so it is refused with the way to do it.
 */
export function urlProblem(url: string): string | null {
  const authority = /^postgres(?:ql)?:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  if (hosts.includes(',')) {
    return 'several hosts in one URL are not supported: name the endpoint that always leads to the primary '
      + '(the failover manager\'s, e.g. Patroni behind HAProxy, a managed service\'s writer endpoint, or a DNS name it moves)';
  }
  if (/[?&]target_session_attrs=/i.test(url)) return 'target_session_attrs is not supported: name the primary\'s endpoint instead';
  return null;
}

export function clientConfig(t: PgTarget): pg.ClientConfig {
  const cfg: pg.ClientConfig = {
    connectionString: t.url,
    application_name: (t.applicationName ?? 'bootgate').slice(0, 60),
    connectionTimeoutMillis: t.connectTimeoutMs ?? 5000,
    keepAlive: true,
  };
  if (t.statementTimeoutMs) cfg.statement_timeout = t.statementTimeoutMs;
  if (t.passwordFile) {
    let text: string;
    try {
      text = readFileSync(t.passwordFile, 'utf8');
    } catch (err) {
      throw new Error(`store.passwordFile ${t.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    cfg.password = text.split(/\r?\n/)[0] ?? '';
  }
  return cfg;
}

export { pg };
