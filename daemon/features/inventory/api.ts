/**
 * /computers: the inventory. CRUD by name, MAC or GUID; CSV/YAML import (all or nothing);
 * boot-once "done" (a deployment reports it finished) and "clear" (network-boot again).
 * /pending: unknown devices held for approval (policy.unknown.action = pending). Approving makes the
 * device a known computer that boots on its next try; a rejected device is ignored from then on.
 */
import type { FastifyInstance } from 'fastify';
import type { DeploymentKind } from '../../config/schema.js';
import { AdminError } from '../../http/admin/errors.js';
import type { AdminRoutes } from '../../http/admin/index.js';
import { commonErrors, errorResponses } from '../../http/admin/schemas.js';
import type { ImportFormat } from './parse.js';
import { approveBody, computerBody, computerSchema, deviceSchema, importQuery, importResultSchema, macParams, refParams } from './schemas.js';
import type { Remote } from '../feature.js';
import { IMPORT_BODY_LIMIT, type InventoryService } from './service.js';
import type { RawComputer } from './validate.js';

const IMPORT_TYPES: Record<string, ImportFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'text/x-yaml': 'yaml',
};

const errors = { ...commonErrors, ...errorResponses(404, 409) };

type Ref = { Params: { ref: string } };
type Mac = { Params: { mac: string } };

export function inventoryRoutes(service: Remote<InventoryService>): AdminRoutes {
  return async (app: FastifyInstance, { actor }) => {
    // The import body is the file itself; JSON stays the default for every other route.
    app.addContentTypeParser([...Object.keys(IMPORT_TYPES), 'text/plain'], { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) => done(null, body));
    const tags = ['computers'];

    app.get<{ Querystring: { profile?: string } }>('/computers', {
      schema: {
        tags, summary: 'List known computers',
        querystring: { type: 'object', additionalProperties: false, properties: { profile: { type: 'string', maxLength: 64 } } },
        response: { 200: { type: 'object', properties: { computers: { type: 'array', items: computerSchema } } }, ...errors },
      },
    }, async (req) => ({ computers: await service.listComputers(req.query) }));

    app.post<{ Body: RawComputer }>('/computers', {
      schema: { tags, summary: 'Add a computer', body: computerBody, response: { 201: computerSchema, ...errors } },
    }, async (req, reply) => reply.code(201).send(await service.saveComputer(req.body, actor(req))));

    app.get<Ref>('/computers/:ref', {
      schema: { tags, summary: 'One computer, by name, MAC or SMBIOS GUID', params: refParams, response: { 200: computerSchema, ...errors } },
    }, async (req) => service.getComputer(req.params.ref));

    app.put<Ref & { Body: RawComputer }>('/computers/:ref', {
      schema: { tags, summary: 'Replace a computer (boot-once state is kept)', params: refParams, body: computerBody, response: { 200: computerSchema, ...errors } },
    }, async (req) => service.saveComputer(req.body, actor(req), req.params.ref));

    app.delete<Ref>('/computers/:ref', {
      schema: { tags, summary: 'Remove a computer', params: refParams, response: { 204: { type: 'null' }, ...errors } },
    }, async (req, reply) => {
      await service.deleteComputer(req.params.ref, actor(req));
      return reply.code(204).send();
    });

    app.post<Ref>('/computers/:ref/done', {
      schema: {
        tags, summary: 'The deployment reports it finished: a required deployment now boots the local disk until cleared',
        params: refParams, response: { 200: computerSchema, ...errors },
      },
    }, async (req) => service.deploymentDone(req.params.ref, actor(req)));

    app.post<Ref>('/computers/:ref/clear', {
      schema: { tags, summary: 'Clear the required deployment (boot once): the computer network-boots again', params: refParams, response: { 200: computerSchema, ...errors } },
    }, async (req) => service.clearBootOnce(req.params.ref, actor(req)));

    app.post<{ Querystring: { format?: ImportFormat; update: boolean; profile?: string }; Body: string }>('/computers/import', {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Import computers from CSV (Name, MAC, SMBIOS GUID, Profile, Source computer, Kind, Notes) or YAML; all or nothing',
        description: 'Send the file as the body with Content-Type text/csv or application/yaml (or text/plain with ?format=). '
          + 'On any problem nothing is imported and the 400 lists every problem with its line. A body over 32 MB is refused with 413.',
        querystring: importQuery,
        response: { 200: importResultSchema, ...errors, ...errorResponses(413) },
      },
    }, async (req) => {
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const format = req.query.format ?? IMPORT_TYPES[type];
      if (!format) throw new AdminError(400, 'ERR_VALIDATION', `cannot tell the file format from Content-Type ${JSON.stringify(type)}; send text/csv or application/yaml, or add ?format=csv|yaml`);
      if (typeof req.body !== 'string') throw new AdminError(400, 'ERR_VALIDATION', 'the body must be the CSV or YAML file itself');
      return service.importComputers(req.body, format, { update: req.query.update, defaultProfile: req.query.profile ?? null }, actor(req));
    });

    const pending = ['pending'];
    app.get<{ Querystring: { status: 'pending' | 'rejected' | 'all' } }>('/pending', {
      schema: {
        tags: pending, summary: 'Devices waiting for approval (or rejected, or both)',
        querystring: { type: 'object', additionalProperties: false, properties: { status: { enum: ['pending', 'rejected', 'all'], default: 'pending' } } },
        response: { 200: { type: 'object', properties: { devices: { type: 'array', items: deviceSchema } } }, ...errors },
      },
    }, async (req) => ({ devices: await service.listDevices(req.query.status === 'all' ? undefined : req.query.status) }));

    app.post<Mac & { Body: { name?: string; profile?: string; kind?: DeploymentKind; notes?: string } | undefined }>('/pending/:mac/approve', {
      schema: {
        tags: pending, summary: 'Approve a device: it becomes a known computer (default name pc-<mac>, default profile policy.unknown.profile)',
        params: macParams, body: approveBody, response: { 201: computerSchema, ...errors },
      },
    }, async (req, reply) => reply.code(201).send(await service.approve(req.params.mac, req.body ?? {}, actor(req))));

    app.post<Mac>('/pending/:mac/reject', {
      schema: { tags: pending, summary: 'Reject a device: it is ignored from now on', params: macParams, response: { 200: deviceSchema, ...errors } },
    }, async (req) => service.reject(req.params.mac, actor(req)));

    app.delete<Mac>('/pending/:mac', {
      schema: { tags: pending, summary: 'Forget a pending or rejected device (if it asks again it is pending again)', params: macParams, response: { 204: { type: 'null' }, ...errors } },
    }, async (req, reply) => {
      await service.forgetDevice(req.params.mac, actor(req));
      return reply.code(204).send();
    });
  };
}
