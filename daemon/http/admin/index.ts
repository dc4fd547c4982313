/**
 * The frame every admin route runs in, a fastify plugin registered under /api/v1 with the features'
 * route plugins as a list (features/admin-api.ts gives it):
 *   app.register(adminApiFrame, { prefix: '/api/v1', cfg, logger, plugins: [inventoryRoutes(service), ...] })
 * Bearer-token auth on every route but the OpenAPI document; 401 without a valid token, 403 for a
 * read-only token on a change, 429 after repeated failures from one address. Bodies and query strings
 * are schema-validated with exact 400s; every error has one shape (errors.ts). It knows no feature.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { BootgateConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { FailureLimiter, TokenStore, type TokenInfo, type TokensFile } from './auth.js';
import { adminErrorHandler, errorBody, makeAjv } from './errors.js';

/** A feature's admin routes; the frame passes who is calling (for audit events). */
export type AdminRoutes = FastifyPluginAsync<{ actor: (req: FastifyRequest) => string }>;

export interface AdminApiOptions {
  /** The config the tokens file is read from. */
  cfg: BootgateConfig;
  logger: Logger;
  /** The tokens file (the daemon: adminTokensFile(cfg)); default: admin.tokensFile as configured. */
  tokensFile?: TokensFile | null;
  /** Where BOOTGATE_ADMIN_TOKEN is read from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** Failed authentications per address allowed per window before 429 (default 10 per 60 s). */
  authFailuresMax?: number;
  authFailureWindowMs?: number;
  /** The features' route plugins, all behind the same auth, validators and error shape. */
  plugins?: AdminRoutes[];
}

/** The OpenAPI document's title: how the CLI tells a Bootgate admin API from anything else on a port. */
export const ADMIN_API_TITLE = 'Bootgate admin API';
export const OPENAPI_PATH = '/openapi.json';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function adminApiFrame(app: FastifyInstance, opts: AdminApiOptions): Promise<void> {
  const now = opts.now ?? Date.now;
  const logger = opts.logger;
  const file = opts.tokensFile === undefined ? (opts.cfg.admin.tokensFile === null ? null : { path: opts.cfg.admin.tokensFile, configured: true }) : opts.tokensFile;
  const tokens = new TokenStore(file?.path ?? null, (opts.env ?? process.env).BOOTGATE_ADMIN_TOKEN, logger, now, file?.configured === false);
  const limiter = new FailureLimiter(opts.authFailuresMax ?? 10, opts.authFailureWindowMs ?? 60_000, now);
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
      info: { title: ADMIN_API_TITLE, version: '1', description: 'Inventory, approvals, boot-once, settings and audit events of a Bootgate appliance.' },
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
  for (const plugin of opts.plugins ?? []) await app.register(plugin, { actor });
}
