/**
 * The admin API of this appliance: the frame from http/admin (auth, validators, errors, OpenAPI) with
 * the routes of the features that live on the store, plus whatever the composition root adds:
 *   app.register(adminApi, { prefix: '/api/v1', backend, store, cfg, logger, sessions, plugins: [rollouts.routes] })
 */
import type { FastifyInstance } from 'fastify';
import type { BootgateConfig } from '../config/schema.js';
import { adminApiFrame, type AdminApiOptions, type AdminRoutes } from '../http/admin/index.js';
import type { StoreBackend } from '../store/backend.js';
import type { Store } from '../store/db.js';
import { eventsRoutes } from './events/api.js';
import { EventsService } from './events/service.js';
import { inventoryRoutes } from './inventory/api.js';
import { InventoryService } from './inventory/service.js';
import { settingsRoutes } from './settings/api.js';
import { SettingsService } from './settings/service.js';
import { statusRoutes } from './status/api.js';
import { StatusService } from './status/service.js';

export interface FeatureRouteDeps {
  store: Store;
  /** The running configuration (follows reloads). */
  config: () => BootgateConfig;
  /** Live TFTP/HTTP transfers, from the doors. */
  sessions?: (() => unknown[]) | undefined;
  now?: (() => number) | undefined;
}

/** Inventory (computers, pending), profiles and sessions, settings, events: each its service and routes. */
export function featureRoutes(d: FeatureRouteDeps): AdminRoutes[] {
  const now = d.now ?? Date.now;
  return [
    inventoryRoutes(new InventoryService(d.store, d.config, now)),
    statusRoutes(new StatusService(d.config, d.sessions)),
    eventsRoutes(new EventsService(d.store)),
    settingsRoutes(new SettingsService(d.store, d.config, now)),
  ];
}

export interface FeatureApiOptions extends AdminApiOptions {
  /** The running daemon's backend: its config() follows reloads. */
  backend: Pick<StoreBackend, 'config'>;
  store: Store;
  sessions?: () => unknown[];
}

export async function adminApi(app: FastifyInstance, opts: FeatureApiOptions): Promise<void> {
  const routes = featureRoutes({ store: opts.store, config: () => opts.backend.config(), sessions: opts.sessions, now: opts.now });
  await adminApiFrame(app, { ...opts, plugins: [...routes, ...(opts.plugins ?? [])] });
}
