/**
 * /appliances: every appliance on this store with its last heartbeat (one on SQLite, the fleet on a
 * shared store).
 */
import type { FastifyInstance } from 'fastify';
import type { AdminRoutes } from '../../http/admin/index.js';
import { commonErrors } from '../../http/admin/schemas.js';
import { appliancesResponse } from './schemas.js';
import type { Remote } from '../feature.js';
import type { AppliancesService } from './service.js';

export function appliancesRoutes(service: Remote<AppliancesService>): AdminRoutes {
  return async (app: FastifyInstance) => {
    app.get('/appliances', {
      schema: {
        tags: ['appliances'], summary: 'Every appliance on this store: subnets, version, readiness, store state, last heartbeat, boots in the last hour',
        response: { 200: appliancesResponse, ...commonErrors },
      },
    }, async () => ({ appliances: await service.list() }));
  };
}
