/**
 * /computers: the inventory. CRUD by name, MAC or GUID; CSV/YAML import (all or nothing);
 * boot-once "done" (a deployment reports it finished) and "clear" (network-boot again).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AdminError, type AdminService } from './service.js';
import type { ImportFormat } from './parse.js';
import type { RawComputer } from './validate.js';
import { computerBody, computerSchema, errorSchema, importQuery, importResultSchema, refParams } from './schemas.js';

export interface RouteDeps {
  service: AdminService;
  actor: (req: FastifyRequest) => string;
}

/** Large supplier sheets: 100,000 rows of a few columns fit well under this. */
export const IMPORT_BODY_LIMIT = 32 * 1024 * 1024;

const IMPORT_TYPES: Record<string, ImportFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'text/x-yaml': 'yaml',
};

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 429: errorSchema };
const tags = ['computers'];

type Ref = { Params: { ref: string } };

export async function computerRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { service, actor } = deps;
  // The import body is the file itself; JSON stays the default for every other route.
  app.addContentTypeParser([...Object.keys(IMPORT_TYPES), 'text/plain'], { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.get<{ Querystring: { profile?: string } }>('/computers', {
    schema: {
      tags, summary: 'List known computers',
      querystring: { type: 'object', additionalProperties: false, properties: { profile: { type: 'string', maxLength: 64 } } },
      response: { 200: { type: 'object', properties: { computers: { type: 'array', items: computerSchema } } }, ...errors },
    },
  }, async (req) => ({ computers: service.listComputers(req.query) }));

  app.post<{ Body: RawComputer }>('/computers', {
    schema: { tags, summary: 'Add a computer', body: computerBody, response: { 201: computerSchema, ...errors } },
  }, async (req, reply) => reply.code(201).send(service.saveComputer(req.body, actor(req))));

  app.get<Ref>('/computers/:ref', {
    schema: { tags, summary: 'One computer, by name, MAC or SMBIOS GUID', params: refParams, response: { 200: computerSchema, ...errors } },
  }, async (req) => service.getComputer(req.params.ref));

  app.put<Ref & { Body: RawComputer }>('/computers/:ref', {
    schema: { tags, summary: 'Replace a computer (boot-once state is kept)', params: refParams, body: computerBody, response: { 200: computerSchema, ...errors } },
  }, async (req) => service.saveComputer(req.body, actor(req), req.params.ref));

  app.delete<Ref>('/computers/:ref', {
    schema: { tags, summary: 'Remove a computer', params: refParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (req, reply) => {
    service.deleteComputer(req.params.ref, actor(req));
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
        + 'On any problem nothing is imported and the 400 lists every problem with its line.',
      querystring: importQuery,
      response: { 200: importResultSchema, ...errors },
    },
  }, async (req) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const format = req.query.format ?? IMPORT_TYPES[type];
    if (!format) throw new AdminError(400, 'ERR_VALIDATION', `cannot tell the file format from Content-Type ${JSON.stringify(type)}; send text/csv or application/yaml, or add ?format=csv|yaml`);
    if (typeof req.body !== 'string') throw new AdminError(400, 'ERR_VALIDATION', 'the body must be the CSV or YAML file itself');
    return service.importComputers(req.body, format, { update: req.query.update, defaultProfile: req.query.profile ?? null }, actor(req));
  });
}
