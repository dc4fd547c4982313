/**
 * The admin listener: the one fastify instance the admin API, /metrics and the health endpoints are
 * registered on when `admin.port` gives them their own address and port (a management network), apart
 * from the boot listener the machines on the boot subnet reach. It serves HTTPS (the certificate of
 * http/tls.ts), so tokens, passwords and the console's session cookie never cross a network in clear
 * text. The composition root creates it here and registers the admin API and anything else an admin
 * uses on it. Built without listening, so tests use `app.inject()`.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { isReady, type Readiness } from './home.js';

export interface MonitoringOptions {
  metrics: Metrics;
  /** When it returns a token, /metrics requires `Authorization: Bearer <token>` (read per scrape: reloads apply). */
  metricsToken?: () => string | null;
  /** Readiness checks ('ok' or a short reason each) and the boot files profiles miss. */
  ready: () => Promise<Readiness>;
}

export interface AdminAppOptions extends MonitoringOptions {
  logger: Logger;
  /** The certificate and key the listener serves HTTPS with; absent: plain HTTP (tests with inject()). */
  https?: { cert: string; key: string } | undefined;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** GET /metrics, behind the metrics token when one is configured. */
export const metricsRoute: FastifyPluginAsync<MonitoringOptions> = async (app, opts) => {
  app.get('/metrics', async (req, reply) => {
    const token = opts.metricsToken?.() ?? null;
    if (token !== null && !sameToken(req.headers.authorization ?? '', `Bearer ${token}`)) {
      return reply.code(401).send({ error: 'unauthorized' });
    }
    return reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
};

/** GET /healthz and /readyz (always open: a load balancer or an orchestrator asks them). */
export const healthRoutes: FastifyPluginAsync<MonitoringOptions> = async (app, opts) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await opts.ready();
    const ready = isReady(r);
    return reply.code(ready ? 200 : 503).send({ ready, checks: r.checks, missingFiles: r.missingFiles });
  });
};

/** The admin listener's app: health, readiness and metrics; the admin API is registered on it by the caller. */
export async function buildAdminApp(opts: AdminAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger and fastify's FastifyBaseLogger differ only in generic parameters.
    loggerInstance: opts.logger.child({ door: 'admin' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 4 * 1024 * 1024,
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key } } : {}),
  }) as unknown as FastifyInstance;
  await app.register(healthRoutes, opts);
  await app.register(metricsRoute, opts);
  return app;
}
