/**
 * The console: a web page on the admin listener where an admin signs in with an admin token, watches
 * every machine's boot live, approves pending machines, imports the supplier's CSV with a preview and
 * reads the audit trail. attach() builds the live boot feed (fed by every decision, the TFTP progress,
 * finished transfers and the audit trail) and returns `mount`, the one function that puts /console/
 * and its API on a fastify instance.
 */
import type { FastifyInstance } from 'fastify';
import { FailureLimiter, TokenStore, adminTokensFile } from '../../http/admin/auth.js';
import { serviceOf, type AttachedFeature, type Feature, type TransferEnd } from '../feature.js';
import { consoleRoutes } from './api.js';
import { createConsoleCommand } from './cli.js';
import { BootFeed, liveTransfers, ProgressTracker } from './live.js';
import { createConsoleMetrics } from './metrics.js';
import { consoleAuditService, consoleDataService, ConsoleService, consoleSessionsService } from './service.js';
import { SessionStore } from './sessions.js';
import { ConsoleStore } from './store.js';

/** A boot with no step for this long stands out on the Boots-now page. */
export const STUCK_SECONDS = 60;
/** How often TFTP progress and the audit trail are read into the feed. */
const POLL_MS = 1000;

export interface AttachedConsole extends AttachedFeature {
  mount: (app: FastifyInstance) => Promise<void>;
  feed: BootFeed;
}

export const consoleFeature: Feature<AttachedConsole> = {
  name: 'console',
  configProblems: (cfg) => {
    const { cert, key } = cfg.admin.tls;
    return { errors: (cert === null) !== (key === null) ? ['admin.tls.cert and admin.tls.key go together: set both or neither'] : [], warnings: [] };
  },
  commands: (io) => [createConsoleCommand(io)],
  services: [consoleAuditService, consoleDataService, consoleSessionsService],
  attach: (ctx) => {
    const now = ctx.now ?? Date.now;
    const feed = new BootFeed(now);
    // On the shared store the session rows and the pages' work run on the service host's thread.
    const sessions = new SessionStore(ctx.store, now, undefined, serviceOf(ctx, consoleSessionsService));
    const cfg = ctx.config();
    // The same tokens and the same lockout rule as the admin API (10 failures a minute per address).
    // The file is the API's (admin.tokensFile, else the one the first start writes beside the store).
    const file = adminTokensFile(cfg);
    const tokens = new TokenStore(file?.path ?? null, process.env.BOOTGATE_ADMIN_TOKEN, ctx.logger, now, file?.configured === false);
    const limiter = new FailureLimiter(10, 60_000, now);
    const service = new ConsoleService(serviceOf(ctx, consoleDataService), ctx.store, tokens, limiter, sessions, feed);
    // Every feed subscriber is a Boots-now page's stream.
    const metrics = createConsoleMetrics(ctx.registry, { sessions: () => sessions.size(), streams: () => feed.subscribers });

    let auditCursor = new ConsoleStore(ctx.store).lastAuditId();
    // On the shared store the audit trail is read on the service host's thread: a slow database delays the feed, never the doors.
    const audit = serviceOf(ctx, consoleAuditService);
    let reading = false;
    const progress = new ProgressTracker();
    const failed = (err: unknown) => ctx.logger.warn({ err: (err as Error).message }, 'console feed: reading progress or audit events failed');
    const poll = () => {
      try {
        for (const e of progress.step(liveTransfers(ctx.sessions()), now(), ctx.macOfIp)) feed.publish(e);
      } catch (err) {
        failed(err);
      }
      if (reading) return;
      reading = true;
      audit.auditAfter(auditCursor).then(({ events, next }) => {
        auditCursor = next;
        for (const a of events) {
          feed.publish({
            kind: a.type === 'boot-once' ? 'boot-once' : a.type === 'password' ? 'password' : 'admin', at: a.at,
            mac: a.mac, ip: a.ip, door: a.door, decision: a.decision, reason: a.reason, profile: a.profile, computer: a.computer, detail: a.detail,
          });
        }
      }, failed).finally(() => { reading = false; });
    };
    const timer = setInterval(poll, POLL_MS);
    timer.unref();

    return {
      feed,
      observe: (client, decision) => {
        feed.publishDecision(client, decision);
      },
      transferred: (ev: TransferEnd) => {
        feed.publish({
          kind: 'transfer', mac: ctx.macOfIp(ev.clientIp) ?? null, ip: ev.clientIp, door: ev.door, file: ev.path, bytes: ev.bytes,
          detail: ev.result, rate: ev.seconds !== undefined && ev.seconds > 0 ? Math.round(ev.bytes / ev.seconds) : null,
        });
      },
      mount: async (app) => {
        await app.register(async (scope) => consoleRoutes(scope, {
          service, sessions, logger: ctx.logger,
          metrics,
          stuckSeconds: () => STUCK_SECONDS,
        }));
      },
      // A reload may name another registry file: read it again on the next look-up.
      reconfigure: () => {
        service.data.resetVendors().catch(failed);
      },
      close: () => clearInterval(timer),
    };
  },
};
