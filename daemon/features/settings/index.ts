/**
 * Run-time switches persisted in the store on top of the config (answering, response delay,
 * interfaces): /settings on the admin API and `bootgate settings`.
 */
import type { Feature } from '../feature.js';
import { settingsRoutes } from './api.js';
import { createSettingsCommand } from './cli.js';
import { SettingsService } from './service.js';

export const settings: Feature = {
  name: 'settings',
  commands: (io) => [createSettingsCommand(io)],
  attach: (ctx) => ({ routes: settingsRoutes(new SettingsService(ctx.store, ctx.config, ctx.now)) }),
};
