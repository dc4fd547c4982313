/**
 * /pending: unknown devices held for approval (policy.unknown.action = pending). Approving makes the
 * device a known computer that boots on its next try; a rejected device is ignored from then on.
 */
import type { FastifyInstance } from 'fastify';
import type { DeploymentKind } from '../../config/schema.js';
import type { RouteDeps } from './api.js';
import { approveBody, computerSchema, deviceSchema, errorSchema, macParams } from './schemas.js';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 429: errorSchema };
const tags = ['pending'];

type Mac = { Params: { mac: string } };

export async function pendingRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { service, actor } = deps;

  app.get<{ Querystring: { status: 'pending' | 'rejected' | 'all' } }>('/pending', {
    schema: {
      tags, summary: 'Devices waiting for approval (or rejected, or both)',
      querystring: { type: 'object', additionalProperties: false, properties: { status: { enum: ['pending', 'rejected', 'all'], default: 'pending' } } },
      response: { 200: { type: 'object', properties: { devices: { type: 'array', items: deviceSchema } } }, ...errors },
    },
  }, async (req) => ({ devices: service.listDevices(req.query.status === 'all' ? undefined : req.query.status) }));

  app.post<Mac & { Body: { name?: string; profile?: string; kind?: DeploymentKind; notes?: string } | undefined }>('/pending/:mac/approve', {
    schema: {
      tags, summary: 'Approve a device: it becomes a known computer (default name pc-<mac>, default profile policy.unknown.profile)',
      params: macParams, body: approveBody, response: { 201: computerSchema, ...errors },
    },
  }, async (req, reply) => reply.code(201).send(service.approve(req.params.mac, req.body ?? {}, actor(req))));

  app.post<Mac>('/pending/:mac/reject', {
    schema: { tags, summary: 'Reject a device: it is ignored from now on', params: macParams, response: { 200: deviceSchema, ...errors } },
  }, async (req) => service.reject(req.params.mac, actor(req)));

  app.delete<Mac>('/pending/:mac', {
    schema: { tags, summary: 'Forget a pending or rejected device (if it asks again it is pending again)', params: macParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (req, reply) => {
    service.forgetDevice(req.params.mac, actor(req));
    return reply.code(204).send();
  });
}
