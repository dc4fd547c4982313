/**
 * The console's HTTP side under /console/: the page's static files and its JSON API, behind a session
 * cookie instead of a bearer token. Every /console/api request but sign-in needs a live session; every
 * change needs the session's CSRF token in a header and a read-write session (the server refuses a
 * read-only one, whatever the page shows). Bodies and query strings go through the same validators and
 * error shape as the admin API.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { adminErrorHandler, errorBody, makeAjv } from '../../http/admin/errors.js';
import type { Logger } from '../../log.js';
import { IMPORT_BODY_LIMIT } from '../inventory/service.js';
import type { ConsoleMetrics } from './metrics.js';
import {
  approveBody, auditQuery, groupParams, haltBody, importSkipQuery, bulkBody, clientParams, computerBody, computersQuery, macParams, passwordBody, pendingQuery, profileQuery, refParams, settingsBody, signInBody,
} from './schemas.js';
import type { SettingsPatch } from '../settings/service.js';
import type { ApproveInput, ComputersQuery, ConsoleService } from './service.js';
import { ConsoleRefusal, CSRF_HEADER, csrfMatches, sessionCookie, sessionIdFrom, type Session, type SessionStore } from './sessions.js';
import { serveStatic } from './static.js';
import { streamBoots } from './stream.js';
import { computersCsv } from './csv.js';
import { problemFields } from './fields.js';
import type { RawComputer } from '../inventory/validate.js';

export interface ConsoleRouteOptions {
  service: ConsoleService;
  sessions: SessionStore;
  metrics: ConsoleMetrics;
  logger: Logger;
  /** Seconds without a step after which a machine's boot counts as stuck (the page highlights it). */
  stuckSeconds: () => number;
}

const READ_METHODS = new Set(['GET', 'HEAD']);
const BASE = '/console';
const API = `${BASE}/api`;

function sessionOf(req: FastifyRequest, sessions: SessionStore): Promise<Session | undefined> {
  return sessions.get(sessionIdFrom(req.headers.cookie));
}

/** Registers /console/ (static page) and /console/api/ on `app`. */
export async function consoleRoutes(app: FastifyInstance, opts: ConsoleRouteOptions): Promise<void> {
  await app.register(async (scope) => serveStatic(scope, BASE));
  await app.register(async (api) => apiRoutes(api, opts));
}

async function apiRoutes(app: FastifyInstance, opts: ConsoleRouteOptions): Promise<void> {
  const { service, sessions, metrics } = opts;
  const { data } = service;
  const bySession = new WeakMap<FastifyRequest, Session>();
  const session = (req: FastifyRequest): Session => bySession.get(req) as Session;

  const bodyAjv = makeAjv(false);
  const queryAjv = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema));
  const fallback = adminErrorHandler(opts.logger);
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ConsoleRefusal) {
      if (err.retryAfterS !== undefined) void reply.header('retry-after', String(err.retryAfterS));
      return reply.code(err.status).send(errorBody(err.status, err.code, err.message));
    }
    return fallback(err as Parameters<typeof fallback>[0], req, reply);
  });
  app.addContentTypeParser(['text/csv', 'application/csv', 'text/plain'], { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) => done(null, body));
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('cache-control', 'no-store');
    // A refused form: the API's error body plus which field each problem is about.
    if ((reply.statusCode === 400 || reply.statusCode === 409) && typeof payload === 'string') {
      try {
        const body = JSON.parse(payload) as { message?: string; problems?: string[] };
        return JSON.stringify({ ...body, fields: problemFields(body.problems ?? (body.message ? [body.message] : [])) });
      } catch {
        return payload;
      }
    }
    return payload;
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const route = req.routeOptions.url ?? '';
    if (route === `${API}/session` && req.method === 'POST') return;
    let s: Session | undefined;
    try {
      s = await sessionOf(req, sessions);
    } catch (err) {
      // Sessions are rows of the store: while it is away nobody can be recognised (or signed in).
      opts.logger.warn({ err: (err as Error).message }, 'console: session look-up failed');
      return reply.code(503).send(errorBody(503, 'ERR_STORE', 'the store is unreachable: sessions cannot be checked; try again shortly'));
    }
    if (!s) {
      metrics.refusals.inc({ reason: 'no-session' });
      return reply.code(401).send(errorBody(401, 'ERR_AUTH', 'not signed in (or the session ended): sign in again'));
    }
    bySession.set(req, s);
    if (READ_METHODS.has(req.method)) return;
    if (!csrfMatches(s, req.headers[CSRF_HEADER])) {
      metrics.refusals.inc({ reason: 'csrf' });
      return reply.code(403).send(errorBody(403, 'ERR_CSRF', `missing or wrong ${CSRF_HEADER} header`));
    }
    // Signing out is the one thing a read-only session may do.
    if (s.readOnly && !(route === `${API}/session` && req.method === 'DELETE')) {
      metrics.refusals.inc({ reason: 'read-only' });
      return reply.code(403).send(errorBody(403, 'ERR_READ_ONLY', 'this session is read-only; changes need a read-write token'));
    }
  });

  const who = (s: Session) => ({ actor: s.actor, readOnly: s.readOnly, csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString(), stuckSeconds: opts.stuckSeconds(), appliance: service.appliance });

  app.post<{ Body: { token: string } }>(`${API}/session`, { schema: { body: signInBody } }, async (req, reply) => {
    let s: Session;
    try {
      s = await service.signIn(req.body.token, req.ip);
    } catch (err) {
      metrics.signIns.inc({ result: err instanceof ConsoleRefusal && err.status === 429 ? 'locked' : 'refused' });
      throw err;
    }
    metrics.signIns.inc({ result: 'ok' });
    const maxAge = Math.floor(sessions.limits.maxAgeMs / 1000);
    return reply.code(201).header('set-cookie', sessionCookie(s.id, `${BASE}/`, maxAge)).send(who(s));
  });
  app.get(`${API}/session`, async (req) => who(session(req)));
  app.delete(`${API}/session`, async (req, reply) => {
    await service.signOut(session(req));
    return reply.code(204).header('set-cookie', sessionCookie('', `${BASE}/`, 0)).send();
  });

  app.get(`${API}/profiles`, async () => ({ profiles: await data.profiles() }));

  app.get<{ Querystring: { status: 'pending' | 'rejected' | 'all' } }>(`${API}/pending`, { schema: { querystring: pendingQuery } },
    async (req) => ({ devices: await data.pending(req.query.status) }));
  app.post<{ Params: { mac: string }; Body: ApproveInput | null }>(`${API}/pending/:mac/approve`, { schema: { params: macParams, body: approveBody } },
    async (req, reply) => reply.code(201).send(await data.approve(req.params.mac, req.body ?? {}, session(req).actor)));
  app.post<{ Params: { mac: string } }>(`${API}/pending/:mac/reject`, { schema: { params: macParams } },
    async (req) => data.reject(req.params.mac, session(req).actor));
  app.post<{ Body: { action: 'approve' | 'reject'; macs: string[]; profile?: string; kind?: ApproveInput['kind'] } }>(`${API}/pending/bulk`, { schema: { body: bulkBody } },
    async (req) => ({ results: await data.bulk(req.body.action, req.body.macs, { profile: req.body.profile, kind: req.body.kind }, session(req).actor) }));

  app.get<{ Querystring: ComputersQuery }>(`${API}/computers`, { schema: { querystring: computersQuery } }, async (req) => data.computers(req.query));
  app.get(`${API}/computers.csv`, async (_req, reply) => reply.type('text/csv; charset=utf-8')
    .header('content-disposition', 'attachment; filename="computers.csv"').send(computersCsv(await data.listComputers())));
  // Edit: the API's PUT /computers/:ref (same schema, same checks, boot-once state kept, audited).
  app.put<{ Params: { ref: string }; Body: RawComputer }>(`${API}/computers/:ref`, { schema: { params: refParams, body: computerBody } },
    async (req) => data.saveComputer(req.body, session(req).actor, req.params.ref));
  app.delete<{ Params: { ref: string } }>(`${API}/computers/:ref`, { schema: { params: refParams } }, async (req, reply) => {
    await data.deleteComputer(req.params.ref, session(req).actor);
    return reply.code(204).send();
  });
  app.post<{ Params: { ref: string } }>(`${API}/computers/:ref/clear`, { schema: { params: refParams } },
    async (req) => data.clearBootOnce(req.params.ref, session(req).actor));

  const csvBody = (req: FastifyRequest): string => {
    if (typeof req.body !== 'string') throw new ConsoleRefusalBody();
    return req.body;
  };
  app.post<{ Querystring: { profile?: string } }>(`${API}/import/preview`, { bodyLimit: IMPORT_BODY_LIMIT },
    async (req) => data.previewImport(csvBody(req), req.query.profile ?? null));
  app.post<{ Querystring: { profile?: string } }>(`${API}/import`, { bodyLimit: IMPORT_BODY_LIMIT },
    async (req) => data.importCsv(csvBody(req), req.query.profile ?? null, session(req).actor));

  app.post<{ Querystring: { profile?: string; skip: string } }>(`${API}/import/skipping`, { bodyLimit: IMPORT_BODY_LIMIT, schema: { querystring: importSkipQuery } },
    async (req) => data.importSkipping(csvBody(req), req.query.profile ?? null, req.query.skip.split(',').map(Number), session(req).actor));

  app.get<{ Querystring: { mac?: string; type?: 'decision' | 'admin' | 'boot-once' | 'suppressed' | 'password'; before?: number; limit: number } }>(
    `${API}/audit`, { schema: { querystring: auditQuery } },
    async (req) => ({ events: await data.audit({ mac: req.query.mac, type: req.query.type, beforeId: req.query.before, limit: req.query.limit }) }));

  app.get(`${API}/appliances`, async () => ({ appliances: await data.appliances() }));

  app.get(`${API}/settings`, async () => data.settings());
  app.patch<{ Body: SettingsPatch }>(`${API}/settings`, { schema: { body: settingsBody } },
    async (req) => data.updateSettings(req.body, session(req).actor));

  app.get(`${API}/rollouts`, async () => data.rolloutView());
  app.post<{ Params: { profile: string; group: string }; Body: { reason?: string } | null }>(`${API}/rollouts/:profile/groups/:group/halt`, { schema: { params: groupParams, body: haltBody } },
    async (req) => data.halt(req.params.profile, req.params.group, session(req).actor, req.body?.reason));
  app.post<{ Params: { profile: string; group: string } }>(`${API}/rollouts/:profile/groups/:group/resume`, { schema: { params: groupParams } },
    async (req) => data.resume(req.params.profile, req.params.group, session(req).actor));

  // Boot passwords: typed twice in the page, hashed by the password feature, never sent back.
  app.get(`${API}/passwords`, async () => data.passwordStatus());
  app.put<{ Body: { password: unknown; confirm: unknown; profile?: string | null } }>(`${API}/passwords`, { schema: { body: passwordBody } },
    async (req) => data.setPassword(req.body.profile ?? null, req.body.password, req.body.confirm, session(req).actor));
  app.delete<{ Querystring: { profile?: string } }>(`${API}/passwords`, { schema: { querystring: profileQuery } }, async (req, reply) => {
    await data.clearPassword(req.query.profile ?? null, session(req).actor);
    return reply.code(204).send();
  });
  app.delete<{ Params: { client: string } }>(`${API}/passwords/lockouts/:client`, { schema: { params: clientParams } },
    async (req) => data.liftLockout(req.params.client, session(req).actor));

  app.get(`${API}/boots`, async () => ({ machines: service.machines(), lastId: service.feed.lastId, now: new Date().toISOString() }));
  app.get(`${API}/boots/stream`, async (req, reply) => streamBoots(req, reply, {
    feed: service.feed,
    alive: async () => (await sessions.get(session(req).id)) !== undefined,
    onRevoke: (fn) => sessions.onRevoke(session(req).id, fn),
  }));
}

class ConsoleRefusalBody extends Error {
  readonly statusCode = 400;
  readonly code = 'ERR_VALIDATION';
  constructor() {
    super('send the CSV file itself as the body (Content-Type text/csv)');
  }
}
