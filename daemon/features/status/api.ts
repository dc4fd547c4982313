/**
 * Read-mostly resources: profiles (from the config), live TFTP/HTTP sessions (from the doors),
 * audit events (filtered by MAC, type and time) and the run-time settings.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditType } from '../../store/audit.js';
import type { SettingsPatch } from '../inventory/service.js';
import type { RouteDeps } from '../inventory/api.js';
import { errorSchema, eventSchema, eventsQuery, profileSchema, sessionsSchema, settingsBody, settingsSchema } from '../inventory/schemas.js';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 429: errorSchema };

interface EventsQuery { mac?: string; type?: AuditType; since?: string; until?: string; before?: number; limit: number }

export async function statusRoutes(app: FastifyInstance, deps: RouteDeps & { sessions?: () => unknown[] }): Promise<void> {
  const { service, actor } = deps;

  app.get('/profiles', {
    schema: { tags: ['profiles'], summary: 'Boot profiles (from the configuration)', response: { 200: { type: 'object', properties: { profiles: { type: 'array', items: profileSchema } } }, ...errors } },
  }, async () => ({ profiles: service.profiles() }));

  app.get<{ Params: { name: string } }>('/profiles/:name', {
    schema: {
      tags: ['profiles'], summary: 'One boot profile',
      params: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } },
      response: { 200: profileSchema, ...errors },
    },
  }, async (req) => service.profile(req.params.name));

  app.get('/sessions', {
    schema: { tags: ['sessions'], summary: 'TFTP and HTTP transfers in progress', response: { 200: sessionsSchema, ...errors } },
  }, async () => ({ sessions: deps.sessions ? deps.sessions() : [] }));

  app.get<{ Querystring: EventsQuery }>('/events', {
    schema: {
      tags: ['events'], summary: 'Audit events, newest first: decisions with their reasons, admin changes, boot-once',
      querystring: eventsQuery, response: { 200: { type: 'object', properties: { events: { type: 'array', items: eventSchema } } }, ...errors },
    },
  }, async (req) => {
    const q = req.query;
    return {
      events: service.events({
        mac: q.mac, type: q.type, limit: q.limit, beforeId: q.before,
        since: q.since === undefined ? undefined : Date.parse(q.since),
        until: q.until === undefined ? undefined : Date.parse(q.until),
      }),
    };
  });

  app.get('/settings', {
    schema: { tags: ['settings'], summary: 'Run-time switches: effective values, stored overrides, config values', response: { 200: settingsSchema, ...errors } },
  }, async () => service.settings());

  app.patch<{ Body: SettingsPatch }>('/settings', {
    schema: {
      tags: ['settings'], summary: 'Set run-time switches (persisted; null reverts a switch to the config value)',
      body: settingsBody, response: { 200: settingsSchema, ...errors },
    },
  }, async (req) => service.updateSettings(req.body, actor(req)));
}
