/**
 * The seam between the composition root and a feature an admin manages. Each feature folder's
 * index.ts exports one `Feature`: its config checks and CLI commands (no daemon needed), and
 * `attach()`, which the daemon calls once with the store and live config to get the feature's part of
 * the policy snapshot, its admin routes, its decision observer and its life-cycle hooks. Tables come
 * from the store's one migration sequence (daemon/store/migrations.ts); metrics go on ctx.registry.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { CommandModule } from 'yargs';
import type { CliIo } from '../cli/index.js';
import type { DecisionContext } from '../boot/gatekeeper.js';
import type { BootgateConfig } from '../config/schema.js';
import type { AdminRoutes } from '../http/admin/index.js';
import type { Logger } from '../log.js';
import type { ClientInfo, Decision } from '../policy/types.js';
import type { SnapshotParts } from '../store/backend.js';
import type { Store } from '../store/db.js';

export interface FeatureContext {
  store: Store;
  /** The running configuration (follows reloads). */
  config: () => BootgateConfig;
  logger: Logger;
  registry: Registry;
  now?: () => number;
  /** The doors' IP -> MAC binding of clients seen lately. */
  macOfIp: (ip: string) => string | undefined;
  /** The MAC of a client seen lately whose option 97 GUID is this (either byte-order reading). */
  macOfGuid?: (guid: string) => string | undefined;
  /** Live TFTP/HTTP transfers, from the doors. */
  sessions: () => unknown[];
  /**
   * A service the admin routes call: the instance itself on SQLite; on the shared store, a twin built
   * by the service host's worker thread, so a slow database stalls that thread and never the doors.
   * Without it (tests, tools), services are built here and called in place: see serviceOf().
   */
  remote?: <T extends object>(def: ServiceDef<T>) => Remote<T>;
}

/** What a service is built from: the store and the running configuration, nothing of the doors. */
export interface ServiceContext {
  store: Store;
  config: () => BootgateConfig;
  logger: Logger;
  now?: () => number;
}

/**
 * A service the admin API may run on the service host's thread: an id the worker finds it by (listed in
 * its feature's `services`) and how to build it. Its methods take and return plain data.
 */
export interface ServiceDef<T extends object> {
  id: string;
  make: (ctx: ServiceContext) => T;
}

export function defineService<T extends object>(id: string, make: (ctx: ServiceContext) => T): ServiceDef<T> {
  return { id, make };
}

/** A service's methods, each answering a promise (the call may run on another thread). */
export type Remote<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** A service called in place, through the same promise-answering surface as one on another thread. */
export function inPlace<T extends object>(service: T): Remote<T> {
  return new Proxy({}, {
    // Not a promise itself: `then` (and symbols) are no methods, so awaiting the proxy gives the proxy.
    get: (_target, method) => (method === 'then' || typeof method === 'symbol' ? undefined : async (...args: unknown[]) => {
      const fn = (service as Record<PropertyKey, unknown>)[method];
      if (typeof fn !== 'function') throw new TypeError(`no service method ${String(method)}`);
      return (fn as (...a: unknown[]) => unknown).apply(service, args);
    }),
  }) as Remote<T>;
}

/** The service as the feature's admin routes call it: through the context's host, else in place. */
export function serviceOf<T extends object>(ctx: FeatureContext, def: ServiceDef<T>): Remote<T> {
  return ctx.remote ? ctx.remote(def) : inPlace(def.make(ctx));
}

/** What a command may use: output, files, the environment, and a prompt for a secret. */
export interface FeatureIo extends CliIo {
  /** Reads one secret: from the terminal without echo (showing `prompt`), else one line of stdin. */
  readSecret: (prompt: string) => Promise<string>;
  /** True when readSecret talks to a person. */
  interactive: boolean;
}

/** A TFTP transfer that ended (any result) or an HTTP boot file sent in full. */
export interface TransferEnd {
  door: 'tftp' | 'http';
  clientIp: string;
  path: string;
  bytes: number;
  /** ok, error, timeout, aborted, probe (TFTP); ok (HTTP). */
  result: string;
  seconds?: number;
}

export interface AttachedFeature {
  /** This feature's part of every policy snapshot. */
  snapshot?: SnapshotParts;
  /** Admin API routes, registered behind the admin token. */
  routes?: AdminRoutes;
  /** Sees every request just before it is decided (what it learns may change that very decision). */
  precede?: (client: ClientInfo, context: DecisionContext) => void;
  /** Sees every decision after it is recorded. */
  observe?: (client: ClientInfo, decision: Decision) => void;
  /** Sees every TFTP transfer end and every HTTP boot file sent. */
  transferred?: (ev: TransferEnd) => void;
  /** Pages of its own (not admin API routes, which have their own auth): mounted on the admin listener. */
  mount?: (app: FastifyInstance) => Promise<void>;
  /** A file delivered in full (TFTP or HTTP) to the machine with this MAC. */
  served?: (mac: string, path: string) => void;
  /** A DHCPv6 datagram that reached port 547 of a boot interface (never answered), from this address. */
  dhcpv6?: (msg: Uint8Array, from: string) => void;
  /** A reloaded configuration. */
  reconfigure?: () => void;
  /** Stops timers; runs before the store closes. */
  close?: () => void;
}

export interface ConfigProblems {
  /** Refuse to start (or to reload). */
  errors: string[];
  /** Logged. */
  warnings: string[];
}

export interface Feature<A extends AttachedFeature = AttachedFeature> {
  name: string;
  /** Checks beyond the schema, run at start and on every reload. */
  configProblems?: (cfg: BootgateConfig) => ConfigProblems;
  /** Its `bootgate` subcommands, built on the one connection routine in cli/. */
  commands: (io: FeatureIo) => CommandModule[];
  /** The services its admin routes call through `ctx.remote()`. */
  services?: readonly ServiceDef<object>[];
  attach: (ctx: FeatureContext) => A;
}
