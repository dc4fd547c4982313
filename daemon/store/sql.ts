/**
 * The one synchronous SQL surface the store's repositories are written against: the part of
 * better-sqlite3's API they use. The embedded SQLite backend is better-sqlite3 itself; the shared
 * PostgreSQL backend (pg-sync.ts) implements the same surface over a connection held by a worker
 * thread, translating the few SQLite spellings the repositories use (pg-sql.ts).
 */
export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface SqlStatement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SqlDb {
  readonly open: boolean;
  prepare(sql: string): SqlStatement;
  /** A function running `fn` in one transaction; `.immediate()` takes the write lock up front (SQLite). */
  transaction<T>(fn: () => T): { immediate(): T };
  exec(sql: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): unknown;
}

export type Dialect = 'sqlite' | 'postgres';
