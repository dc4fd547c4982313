/**
 * /secure-boot: machines given the profiles' Secure Boot chain (noticed refusals and admin marks);
 * marked with PUT, cleared with DELETE.
 */
import type { FastifyInstance } from 'fastify';
import type { AdminRoutes } from '../../http/admin/index.js';
import { commonErrors, errorResponses } from '../../http/admin/schemas.js';
import { clearedSchema, macParams, secureBootList, secureBootSchema } from './schemas.js';
import type { Remote } from '../feature.js';
import type { SecureBootAdmin } from './service.js';

export function secureBootRoutes(admin: Remote<SecureBootAdmin>): AdminRoutes {
  return async (app: FastifyInstance, { actor }) => {
    const errors = { ...commonErrors, ...errorResponses(404) };
    app.get('/secure-boot', {
      schema: { tags: ['secure-boot'], summary: 'Machines that get the Secure Boot chain: noticed firmware refusals and admin marks', response: { 200: secureBootList, ...errors } },
    }, async () => admin.list());

    app.get<{ Params: { mac: string } }>('/secure-boot/:mac', {
      schema: { tags: ['secure-boot'], summary: 'One machine\'s Secure Boot mark', params: macParams, response: { 200: secureBootSchema, ...errors } },
    }, async (req) => admin.show(req.params.mac));

    app.put<{ Params: { mac: string } }>('/secure-boot/:mac', {
      schema: { tags: ['secure-boot'], summary: 'Mark a machine known to run Secure Boot', params: macParams, response: { 200: secureBootSchema, ...errors } },
    }, async (req) => admin.mark(req.params.mac, actor(req)));

    app.delete<{ Params: { mac: string } }>('/secure-boot/:mac', {
      schema: { tags: ['secure-boot'], summary: 'Clear a machine: it gets the profile\'s ordinary boot program again', params: macParams, response: { 200: clearedSchema, ...errors } },
    }, async (req) => admin.clear(req.params.mac, actor(req)));
  };
}
