/**
 * Known computers (by MAC and SMBIOS GUID), the supplier's CSV/YAML import, unknown devices waiting
 * for approval, and boot-once: /computers and /pending on the admin API, `bootgate computers`,
 * `pending` and `clear`. Its tables are the store's core (the snapshot builder reads them).
 */
import { type Feature, serviceOf } from '../feature.js';
import { inventoryRoutes } from './api.js';
import { createInventoryCommands } from './cli.js';
import { inventoryService } from './service.js';

export const inventory: Feature = {
  name: 'inventory',
  commands: (io) => createInventoryCommands(io),
  services: [inventoryService],
  attach: (ctx) => ({ routes: inventoryRoutes(serviceOf(ctx, inventoryService)) }),
};
