/**
 * /settings: the run-time switches, read and patched (persisted; null reverts one to the config).
 */
import type { FastifyInstance } from 'fastify';
import type { AdminRoutes } from '../../http/admin/index.js';
import { commonErrors, errorResponses } from '../../http/admin/schemas.js';
import { settingsBody, settingsSchema } from './schemas.js';
import type { Remote } from '../feature.js';
import type { SettingsPatch, SettingsService } from './service.js';

export function settingsRoutes(service: Remote<SettingsService>): AdminRoutes {
  return async (app: FastifyInstance, { actor }) => {
    const errors = { ...commonErrors, ...errorResponses(404) };
    app.get('/settings', {
      schema: { tags: ['settings'], summary: 'Run-time switches: effective values, stored overrides, config values', response: { 200: settingsSchema, ...errors } },
    }, async () => service.settings());

    app.patch<{ Body: SettingsPatch }>('/settings', {
      schema: {
        tags: ['settings'], summary: 'Set run-time switches (persisted; null reverts a switch to the config value)',
        body: settingsBody, response: { 200: settingsSchema, ...errors },
      },
    }, async (req) => service.updateSettings(req.body, actor(req)));
  };
}
