/**
 * What the appliance is doing: its boot profiles (from the config) and the transfers in progress:
 * /profiles and /sessions on the admin API.
 */
import type { Feature } from '../feature.js';
import { statusRoutes } from './api.js';
import { StatusService } from './service.js';

export const status: Feature = {
  name: 'status',
  commands: () => [],
  attach: (ctx) => ({ routes: statusRoutes(new StatusService(ctx.config, ctx.sessions)) }),
};
