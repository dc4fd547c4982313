/**
 * The HTTP server: boot files and scripts, liveness and readiness, metrics, and the admin API
 * (registered by the composition root). Built without listening, so tests use `app.inject()`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { bootRoutes, type BootRoutesOptions } from './boot-routes.js';

export interface AppOptions extends BootRoutesOptions {
  logger: Logger;
  metrics: Metrics;
  /** Readiness checks: each returns null when fine or a short reason. */
  ready: () => Promise<Record<string, string | null>>;
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  metricsToken?: string | null;
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
    const checks = await opts.ready();
    const failing = Object.entries(checks).filter(([, v]) => v !== null);
    return reply.code(failing.length === 0 ? 200 : 503).send({ ready: failing.length === 0, checks });
  });
  app.get('/metrics', async (req, reply) => {
    if (opts.metricsToken && req.headers.authorization !== `Bearer ${opts.metricsToken}`) {
      return reply.code(401).send({ error: 'unauthorized' });
    }
    return reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  await app.register(bootRoutes, opts);
  return app;
}
