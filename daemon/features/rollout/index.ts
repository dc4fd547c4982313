/**
 * Ramped rollouts and maintenance windows. Attached, the feature puts its live gate into every policy
 * snapshot, serves /rollouts on the admin API and keeps its gauges; `bootgate rollout ...` are its
 * commands. Config checks beyond the schema: rolloutConfigProblems().
 */
import { type AttachedFeature, type Feature, serviceOf } from '../feature.js';
import { rolloutRoutes } from './api.js';
import { createRolloutCommand } from './cli.js';
import { rolloutConfigProblems } from './config.js';
import { createLiveRollouts, type LiveRollouts } from './live.js';
import { createRolloutMetrics } from './metrics.js';
import { rolloutService, rolloutServiceOn, type RolloutService } from './service.js';

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
  services: [rolloutService],
  attach(ctx) {
    const service = rolloutServiceOn(ctx);
    const remote = serviceOf(ctx, rolloutService);
    // On the shared store the gate's reads (and the day's admissions) run on the service host's thread.
    const live = createLiveRollouts(service, ctx.config, {
      now: ctx.now, logger: ctx.logger, metrics: createRolloutMetrics(ctx.registry),
      readInputs: ctx.store.shared ? (t) => remote.gateInputs(t) : undefined,
    });
    return {
      service,
      live,
      snapshot: { rollout: () => live.gate() },
      routes: rolloutRoutes(remote),
      reconfigure: () => live.reconfigure(),
      close: () => live.close(),
    };
  },
};
