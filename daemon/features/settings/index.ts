/**
 * Run-time switches persisted in the store on top of the config (answering, response delay,
 * interfaces): /settings on the admin API and `bootgate settings`.
 */
import { type Feature, serviceOf } from '../feature.js';
import { settingsRoutes } from './api.js';
import { createSettingsCommand } from './cli.js';
import { settingsService } from './service.js';

export const settings: Feature = {
  name: 'settings',
  commands: (io) => [createSettingsCommand(io)],
  services: [settingsService],
  attach: (ctx) => ({ routes: settingsRoutes(serviceOf(ctx, settingsService)) }),
};
