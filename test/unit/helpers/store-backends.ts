/**
 * The store's tests run on both backends: the embedded SQLite (in memory) and the shared PostgreSQL
 * (a throwaway cluster from test/lab/postgres.ts, started once per test file on first use and removed
 * when the file's tests end; each store gets a database of its own).
 */
import { after } from 'node:test';
import { openStore, type OpenOptions, type Store } from '../../../daemon/store/db.js';
import { startPgCluster, type PgCluster } from '../../lab/postgres.js';

let cluster: PgCluster | null = null;
let databases = 0;

export function pgCluster(): PgCluster {
  if (cluster === null) {
    cluster = startPgCluster();
    after(() => {
      cluster?.destroy();
      cluster = null;
    });
  }
  return cluster;
}

/** A new, empty PostgreSQL database's connection string. */
export function freshPgUrl(): string {
  databases += 1;
  return pgCluster().database(`t${process.pid}_${databases}`);
}

export interface StoreBackendCase {
  name: 'sqlite' | 'postgres';
  /** A new, empty store. */
  open(opts?: OpenOptions): Store;
  /** Where a new store lives (a file path or a connection string), to open more than once. */
  location(dir: string): string;
}

export const STORE_BACKENDS: readonly StoreBackendCase[] = [
  { name: 'sqlite', open: (opts) => openStore(':memory:', opts), location: (dir) => `${dir}/bootgate.db` },
  { name: 'postgres', open: (opts) => openStore(freshPgUrl(), opts), location: () => freshPgUrl() },
];
