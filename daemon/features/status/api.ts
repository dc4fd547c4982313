/**
 * Read-only resources: profiles (from the configuration) and live TFTP/HTTP sessions (from the doors).
 */
import type { FastifyInstance } from 'fastify';
import type { AdminRoutes } from '../../http/admin/index.js';
import { commonErrors, errorResponses } from '../../http/admin/schemas.js';
import { profileSchema, sessionsSchema } from './schemas.js';
import type { StatusService } from './service.js';

export function statusRoutes(service: StatusService): AdminRoutes {
  return async (app: FastifyInstance) => {
    const errors = { ...commonErrors, ...errorResponses(404) };
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
    }, async () => ({ sessions: service.sessions() }));
  };
}
