/**
 * The admin API of this appliance: the frame from http/admin (auth, validators, errors, OpenAPI) with
 * the routes of the features that live on the store, plus whatever the caller adds (tests and tools;
 * the daemon registers the frame with every attached feature's routes itself):
 *   app.register(adminApi, { prefix: '/api/v1', backend, store, cfg, logger, sessions, plugins: [...] })
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { adminApiFrame, type AdminApiOptions } from '../http/admin/index.js';
import type { StoreBackend } from '../store/backend.js';
import type { Store } from '../store/db.js';
import { STORE_FEATURES } from './index.js';

export interface FeatureApiOptions extends AdminApiOptions {
  /** The running daemon's backend: its config() follows reloads. */
  backend: Pick<StoreBackend, 'config'>;
  store: Store;
  sessions?: () => unknown[];
}

/** The frame with the routes of the features that live on the store alone (inventory, status, events, settings), plus `plugins`. */
export async function adminApi(app: FastifyInstance, opts: FeatureApiOptions): Promise<void> {
  const ctx = {
    store: opts.store, config: () => opts.backend.config(), logger: opts.logger, registry: new Registry(), now: opts.now,
    macOfIp: () => undefined, sessions: opts.sessions ?? (() => []),
  };
  const routes = STORE_FEATURES.flatMap((f) => f.attach(ctx).routes ?? []);
  await adminApiFrame(app, { ...opts, plugins: [...routes, ...(opts.plugins ?? [])] });
}
