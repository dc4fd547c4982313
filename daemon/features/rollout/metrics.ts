/**
 * Rollout metrics, per profile and group (groups are admin-defined roles, a few dozen at most, so the
 * label set stays small): machines admitted, done and failed, whether the group is halted, and the
 * deployment results reported. The gauges are set from the store each time the plan is rebuilt or a
 * result or halt is recorded, so they survive a restart.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export function createRolloutMetrics(registry: Registry) {
  const labelNames = ['profile', 'group'] as const;
  return {
    admitted: new Gauge({
      name: 'bootgate_rollout_admitted_machines', help: 'Machines admitted to a profile\'s rollout so far, by profile and group', labelNames, registers: [registry],
    }),
    done: new Gauge({
      name: 'bootgate_rollout_done_machines', help: 'Machines of a rollout whose latest deployment result is done', labelNames, registers: [registry],
    }),
    failed: new Gauge({
      name: 'bootgate_rollout_failed_machines', help: 'Machines of a rollout whose latest deployment result is failed', labelNames, registers: [registry],
    }),
    halted: new Gauge({
      name: 'bootgate_rollout_halted_groups', help: '1 while a group\'s rollout is halted (by hand or by the failure threshold), else 0', labelNames, registers: [registry],
    }),
    results: new Counter({
      name: 'bootgate_rollout_results_total', help: 'Deployment results reported, by profile and status (done, failed)', labelNames: ['profile', 'status'] as const, registers: [registry],
    }),
  };
}

export type RolloutMetrics = ReturnType<typeof createRolloutMetrics>;
