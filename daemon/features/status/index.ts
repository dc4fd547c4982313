/**
 * What the appliance is doing: its boot profiles (from the config) and the transfers in progress:
 * /profiles and /sessions on the admin API; `bootgate status`: readiness and the admin certificate.
 */
import type { Feature } from '../feature.js';
import { statusRoutes } from './api.js';
import { createStatusCommand } from './cli.js';
import { StatusService } from './service.js';

export const status: Feature = {
  name: 'status',
  commands: (io) => [createStatusCommand(io)],
  attach: (ctx) => ({ routes: statusRoutes(new StatusService(ctx.config, ctx.sessions)) }),
};
