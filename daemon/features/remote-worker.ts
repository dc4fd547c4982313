/**
 * The service host's thread (remote.ts): opens its own Store on the shared database and runs the admin
 * API's service calls one at a time, each as the appliance's main thread would, blocking only this
 * thread while the database answers. It answers each call with the value or the error (as plain data)
 * and the kinds of change the call announced.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BootgateConfig } from '../config/schema.js';
import { createLogger } from '../log.js';
import { openStore, type ChangeKind, type OpenOptions, type Store } from '../store/db.js';
import type { PgSyncDb } from '../store/pg-sync.js';
import type { ServiceContext, ServiceDef } from './feature.js';
import { FEATURES } from './index.js';

export interface HostWorkerData {
  url: string;
  open: OpenOptions;
  config: BootgateConfig;
  level: string;
}

export type HostRequest =
  | { type: 'call'; id: number; service: string; method: string; args: unknown[] }
  | { type: 'config'; config: BootgateConfig }
  | { type: 'down'; why: string | null }
  | { type: 'open' };

export interface WireError {
  name: string;
  message: string;
  status?: number;
  code?: string;
  problems?: string[];
}

export type HostReply =
  | { id: number; ok: true; value: unknown; changed: ChangeKind[] }
  | { id: number; ok: false; error: WireError; changed: ChangeKind[] };

const data = workerData as HostWorkerData;
const logger = createLogger(data.level);
let config = data.config;
let down: string | null = null;
let store: Store | null = null;
const built = new Map<string, object>();
const defs = new Map<string, ServiceDef<object>>(FEATURES.flatMap((f) => f.services ?? []).map((d) => [d.id, d]));
let changed: ChangeKind[] = [];

/** The store, opened on the first call (and again after a failed open). */
function theStore(): Store {
  if (store?.isOpen) return store;
  // Opening waits on the database: not while it is known unreachable.
  if (down !== null) throw Object.assign(new Error(`shared store unreachable: ${down}`), { name: 'StoreError' });
  const s = openStore(data.url, data.open);
  s.onChange((kind) => changed.push(kind));
  (s.db as PgSyncDb).failFast(down);
  store = s;
  built.clear();
  return s;
}

function service(id: string): object {
  const s = theStore();
  const have = built.get(id);
  if (have) return have;
  const def = defs.get(id);
  if (!def) throw new Error(`no admin service ${id}`);
  const ctx: ServiceContext = { store: s, config: () => config, logger };
  const made = def.make(ctx);
  built.set(id, made);
  return made;
}

function wire(err: unknown): WireError {
  const e = err as Error & { status?: number; code?: unknown; problems?: string[] };
  return {
    name: e.name ?? 'Error', message: e.message ?? String(err),
    status: typeof e.status === 'number' ? e.status : undefined,
    code: typeof e.code === 'string' ? e.code : undefined,
    problems: Array.isArray(e.problems) ? e.problems : undefined,
  };
}

async function call(req: Extract<HostRequest, { type: 'call' }>): Promise<HostReply> {
  changed = [];
  try {
    const target = service(req.service) as Record<string, unknown>;
    const fn = target[req.method];
    if (typeof fn !== 'function') throw new Error(`no admin service method ${req.service}.${req.method}`);
    const value: unknown = await (fn as (...a: unknown[]) => unknown).apply(target, req.args);
    return { id: req.id, ok: true, value, changed };
  } catch (err) {
    return { id: req.id, ok: false, error: wire(err), changed };
  }
}

// One call at a time: `changed` belongs to the call under way.
let chain = Promise.resolve();
parentPort?.on('message', (req: HostRequest) => {
  if (req.type === 'config') {
    config = req.config;
    return;
  }
  if (req.type === 'open') {
    chain = chain.then(() => {
      try {
        theStore();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'admin service thread: the shared store did not open; trying again with the next request');
      }
    });
    return;
  }
  if (req.type === 'down') {
    down = req.why;
    if (store?.isOpen) (store.db as PgSyncDb).failFast(down);
    return;
  }
  chain = chain.then(async () => {
    const reply = await call(req);
    try {
      parentPort?.postMessage(reply);
    } catch (err) {
      // A value that cannot be copied to the other thread is this program's bug: said, not hung on.
      parentPort?.postMessage({ id: req.id, ok: false, error: wire(err), changed: reply.changed } satisfies HostReply);
    }
  });
});
