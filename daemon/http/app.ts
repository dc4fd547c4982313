/**
 * The HTTP server: boot files and scripts, liveness and readiness, metrics, and the admin API
 * (registered by the composition root). Built without listening, so tests use `app.inject()`.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { bootRoutes, type BootRoutesOptions } from './boot-routes.js';
import { homePage, isReady, type Readiness } from './home.js';

export interface AppOptions extends BootRoutesOptions {
  logger: Logger;
  metrics: Metrics;
  /** Readiness checks ('ok' or a short reason each) and the boot files profiles miss. */
  ready: () => Promise<Readiness>;
  /** Shown on `/`. */
  version: string;
  /** Whether `/api/v1` is registered (the `/` page links its OpenAPI document). */
  adminApi: boolean;
  /** When it returns a token, /metrics requires `Authorization: Bearer <token>` (read per scrape: reloads apply). */
  metricsToken?: () => string | null;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function buildHttpApp(opts: AppOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    // pino's Logger and fastify's FastifyBaseLogger differ only in generic parameters.
    loggerInstance: opts.logger.child({ door: 'http' }) as unknown as FastifyBaseLogger,
    // Boot clients fetch many files; the doors log decisions and transfers, not every request.
    logController: new LogController({ disableRequestLogging: true }),
    // iPXE and firmware send plain requests; keep-alive lets iPXE reuse the connection for kernel + initrd.
    keepAliveTimeout: 30_000,
    bodyLimit: 4 * 1024 * 1024,
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await opts.ready();
    const ready = isReady(r);
    return reply.code(ready ? 200 : 503).send({ ready, checks: r.checks, missingFiles: r.missingFiles });
  });
  app.get('/', async (_req, reply) => {
    const r = await opts.ready();
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(homePage(r, { version: opts.version, adminApi: opts.adminApi }));
  });
  app.get('/metrics', async (req, reply) => {
    const token = opts.metricsToken?.() ?? null;
    if (token !== null && !sameToken(req.headers.authorization ?? '', `Bearer ${token}`)) {
      return reply.code(401).send({ error: 'unauthorized' });
    }
    return reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  await app.register(bootRoutes, opts);
  return app;
}
