/**
 * Ramped rollouts and maintenance windows. Attached, the feature puts its live gate into every policy
 * snapshot, serves /rollouts on the admin API and keeps its gauges; `bootgate rollout ...` are its
 * commands. Config checks beyond the schema: rolloutConfigProblems().
 */
import { InventoryService } from '../inventory/service.js';
import type { AttachedFeature, Feature } from '../feature.js';
import { rolloutRoutes } from './api.js';
import { createRolloutCommand } from './cli.js';
import { rolloutConfigProblems } from './config.js';
import { createLiveRollouts, type LiveRollouts } from './live.js';
import { createRolloutMetrics } from './metrics.js';
import { RolloutService } from './service.js';
import { RolloutRepo } from './store.js';

export { rolloutConfigProblems } from './config.js';
export { createRolloutCommand } from './cli.js';

export interface AttachedRollouts extends AttachedFeature {
  service: RolloutService;
  live: LiveRollouts;
}

export const rollout: Feature<AttachedRollouts> = {
  name: 'rollout',
  configProblems: (cfg) => ({ errors: rolloutConfigProblems(cfg), warnings: [] }),
  commands: (io) => [createRolloutCommand(io)],
  attach(ctx) {
    // A `done` result consumes the computer's required deployment, as `computers done` does.
    const service = new RolloutService(RolloutRepo.open(ctx.store), ctx.config, {
      now: ctx.now, onDone: (computer, actor) => new InventoryService(ctx.store, ctx.config).deploymentDone(computer, actor),
    });
    const live = createLiveRollouts(service, ctx.config, { now: ctx.now, logger: ctx.logger, metrics: createRolloutMetrics(ctx.registry) });
    return {
      service,
      live,
      snapshot: { rollout: () => live.gate() },
      routes: rolloutRoutes(service),
      reconfigure: () => live.reconfigure(),
      close: () => live.close(),
    };
  },
};
