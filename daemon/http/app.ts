/**
 * The HTTP server: boot files and scripts, liveness and readiness, metrics, and the admin API
 * (registered by the composition root) unless they have a listener of their own (admin-app.ts).
 * Built without listening, so tests use `app.inject()`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { bootRoutes, type BootRoutesOptions } from './boot-routes.js';
import { healthRoutes, metricsRoute } from './admin-app.js';
import { homePage, type Readiness } from './home.js';

export interface AppOptions extends BootRoutesOptions {
  logger: Logger;
  metrics: Metrics;
  /** Readiness checks ('ok' or a short reason each) and the boot files profiles miss. */
  ready: () => Promise<Readiness>;
  /** Shown on `/`. */
  version: string;
  /** Whether `/api/v1` is registered (the `/` page links its OpenAPI document). */
  adminApi: boolean;
  /**
   * Where the admin listener is when it is not this one (`admin.port`): /metrics is then served there,
   * not here, and the `/` page says so. Absent: /metrics is served here.
   */
  adminElsewhere?: string;
  /** When it returns a token, /metrics requires `Authorization: Bearer <token>` (read per scrape: reloads apply). */
  metricsToken?: () => string | null;
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
  await app.register(healthRoutes, opts);
  app.get('/', async (_req, reply) => {
    const r = await opts.ready();
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(homePage(r, { version: opts.version, adminApi: opts.adminApi, adminElsewhere: opts.adminElsewhere }));
  });
  if (opts.adminElsewhere === undefined) await app.register(metricsRoute, opts);
  await app.register(bootRoutes, opts);
  return app;
}
