/**
 * The admin API, a fastify plugin the composition root registers under /api/v1:
 *   app.register(adminApi, { prefix: '/api/v1', backend, store, cfg, logger, sessions })
 * Bearer-token auth on every route but the OpenAPI document; 401 without a valid token, 403 for a
 * read-only token on a change, 429 after repeated failures from one address. Bodies and query strings
 * are schema-validated with exact 400s. Routes call the same AdminService as the CLI.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { BootgateConfig } from '../../config/schema.js';
import { AdminService } from '../../features/inventory/service.js';
import type { Logger } from '../../log.js';
import type { StoreBackend } from '../../store/backend.js';
import type { Store } from '../../store/db.js';
import { FailureLimiter, TokenStore, type TokenInfo } from './auth.js';
import { computerRoutes } from '../../features/inventory/api.js';
import { adminErrorHandler, errorBody, makeAjv } from './errors.js';
import { pendingRoutes } from '../../features/inventory/pending-api.js';
import { statusRoutes } from '../../features/status/api.js';

export interface AdminApiOptions {
  /** The running daemon's backend: its config() follows reloads. */
  backend: Pick<StoreBackend, 'config'>;
  store: Store;
  cfg: BootgateConfig;
  logger: Logger;
  /** Live TFTP/HTTP transfers, from the doors. */
  sessions?: () => unknown[];
  /** Where BOOTGATE_ADMIN_TOKEN is read from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** Failed authentications per address allowed per window before 429 (default 10 per 60 s). */
  authFailuresMax?: number;
  authFailureWindowMs?: number;
  /** More route plugins behind the same auth, validators and error shape (e.g. the password feature.s routes). */
  plugins?: Array<FastifyPluginAsync<{ actor: (req: FastifyRequest) => string }>>;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const OPENAPI_PATH = '/openapi.json';

export async function adminApi(app: FastifyInstance, opts: AdminApiOptions): Promise<void> {
  const now = opts.now ?? Date.now;
  const logger = opts.logger;
  const tokens = new TokenStore(opts.cfg.admin.tokensFile, (opts.env ?? process.env).BOOTGATE_ADMIN_TOKEN, logger, now);
  const limiter = new FailureLimiter(opts.authFailuresMax ?? 10, opts.authFailureWindowMs ?? 60_000, now);
  const service = new AdminService(opts.store, () => opts.backend.config(), now);
  const callers = new WeakMap<FastifyRequest, TokenInfo>();
  const actor = (req: FastifyRequest) => callers.get(req)?.actor ?? 'api';

  const bodyAjv = makeAjv(false);
  const queryAjv = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema));
  app.setErrorHandler(adminErrorHandler(logger));
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody(404, 'ERR_NOT_FOUND', `no admin route ${req.method} ${req.url.split('?')[0]}`)));

  await app.register(swagger, {
    // Own decorator name, so a swagger document the daemon may publish elsewhere does not clash.
    decorator: 'adminOpenapi',
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Bootgate admin API', version: '1', description: 'Inventory, approvals, boot-once, settings and audit events of a Bootgate appliance.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if ((req.routeOptions.url ?? '').endsWith(OPENAPI_PATH)) return;
    const wait = limiter.blockedFor(req.ip);
    if (wait > 0) {
      const secs = Math.ceil(wait / 1000);
      return reply.code(429).header('retry-after', String(secs))
        .send(errorBody(429, 'ERR_AUTH_LIMIT', `too many failed authentications from ${req.ip}; try again in ${secs} s`));
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m?.[1]) {
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody(401, 'ERR_AUTH', 'missing bearer token (Authorization: Bearer <token>)'));
    }
    const info = tokens.lookup(m[1]);
    if (!info) {
      limiter.fail(req.ip);
      logger.warn({ client: req.ip, url: req.url }, 'admin API: invalid token');
      return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send(errorBody(401, 'ERR_AUTH', 'invalid token'));
    }
    if (info.readOnly && !READ_METHODS.has(req.method)) {
      return reply.code(403).send(errorBody(403, 'ERR_READ_ONLY', 'this token is read-only; changes need a read-write token'));
    }
    callers.set(req, info);
  }
  app.addHook('onRequest', authenticate);

  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => (app as unknown as { adminOpenapi: () => unknown }).adminOpenapi());
  const deps = { service, actor, sessions: opts.sessions };
  await app.register(computerRoutes, deps);
  await app.register(pendingRoutes, deps);
  await app.register(statusRoutes, deps);
  for (const plugin of opts.plugins ?? []) await app.register(plugin, { actor });
}
