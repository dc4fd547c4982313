/**
 * The audit trail: every decision with its reason, admin changes and boot-once, newest first: /events
 * on the admin API and `bootgate events`.
 */
import { type Feature, serviceOf } from '../feature.js';
import { eventsRoutes } from './api.js';
import { createEventsCommand } from './cli.js';
import { eventsService } from './service.js';

export const events: Feature = {
  name: 'events',
  commands: (io) => [createEventsCommand(io)],
  services: [eventsService],
  attach: (ctx) => ({ routes: eventsRoutes(serviceOf(ctx, eventsService)) }),
};
