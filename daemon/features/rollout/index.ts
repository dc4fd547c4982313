/**
 * Rollouts and maintenance windows for the composition root, in one call:
 *
 *   const rollouts = attachRollouts({ store, config: () => cfg, registry: metrics.registry, logger, onDone });
 *   const backend = rollouts.wrap(createStoreBackend(cfg, store, { logger, metrics }));
 *   adminApi plugins: [rollouts.routes]          CLI: yargs().command(createRolloutCommand())
 *   on reload: rollouts.reconfigure()            on close: rollouts.close() (before store.close())
 *
 * Config checks beyond the schema: `rolloutConfigProblems(cfg)` (add them to the daemon's own).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { BootgateConfig } from '../../config/schema.js';
import type { PolicyBackend } from '../../boot/gatekeeper.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/db.js';
import { rolloutRoutes } from './api.js';
import { rolloutConfigProblems } from './config.js';
import { createLiveRollouts, withRollouts, type LiveRollouts } from './live.js';
import { createRolloutMetrics } from './metrics.js';
import { RolloutService } from './service.js';
import { RolloutRepo } from './store.js';

export { rolloutConfigProblems } from './config.js';
export { createRolloutCommand } from './cli.js';
export { createRolloutMetrics } from './metrics.js';

export interface AttachOptions {
  store: Store;
  /** The running configuration (follows reloads). */
  config: () => BootgateConfig;
  registry?: Registry;
  logger?: Logger;
  now?: () => number;
  /** After a `done` result: consume the computer's required deployment (AdminService.deploymentDone). */
  onDone?: (computer: string, actor: string) => void;
}

export interface Rollouts {
  service: RolloutService;
  live: LiveRollouts;
  /** The policy backend with the rollout gate in its snapshot. */
  wrap<B extends PolicyBackend>(backend: B): B;
  /** Route plugin for adminApi (`plugins` option). */
  routes: FastifyPluginAsync<{ actor: (req: FastifyRequest) => string }>;
  reconfigure(): void;
  close(): void;
}

/** Opens (migrating) the rollout tables and builds service, live gate, routes and metrics. Throws on a bad config. */
export function attachRollouts(opts: AttachOptions): Rollouts {
  const problems = rolloutConfigProblems(opts.config());
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const service = new RolloutService(RolloutRepo.open(opts.store), opts.config, { now: opts.now, onDone: opts.onDone });
  const live = createLiveRollouts(service, opts.config, {
    now: opts.now, logger: opts.logger, metrics: opts.registry ? createRolloutMetrics(opts.registry) : undefined,
  });
  return {
    service,
    live,
    wrap: (backend) => withRollouts(backend, live),
    routes: rolloutRoutes(service),
    reconfigure: () => live.reconfigure(),
    close: () => live.close(),
  };
}
