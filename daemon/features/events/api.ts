/**
 * /events: the audit trail, newest first, filtered by MAC, type and time.
 */
import type { FastifyInstance } from 'fastify';
import type { AdminRoutes } from '../../http/admin/index.js';
import { commonErrors, errorResponses } from '../../http/admin/schemas.js';
import type { AuditType } from '../../store/audit.js';
import { eventSchema, eventsQuery } from './schemas.js';
import type { Remote } from '../feature.js';
import type { EventsService } from './service.js';

interface EventsQuery { mac?: string; type?: AuditType; since?: string; until?: string; before?: number; limit: number }

export function eventsRoutes(service: Remote<EventsService>): AdminRoutes {
  return async (app: FastifyInstance) => {
    app.get<{ Querystring: EventsQuery }>('/events', {
      schema: {
        tags: ['events'], summary: 'Audit events, newest first: decisions with their reasons, admin changes, boot-once',
        querystring: eventsQuery,
        response: { 200: { type: 'object', properties: { events: { type: 'array', items: eventSchema } } }, ...commonErrors, ...errorResponses(404) },
      },
    }, async (req) => {
      const q = req.query;
      return {
        events: await service.events({
          mac: q.mac, type: q.type, limit: q.limit, beforeId: q.before,
          since: q.since === undefined ? undefined : Date.parse(q.since),
          until: q.until === undefined ? undefined : Date.parse(q.until),
        }),
      };
    });
  };
}
