/**
 * Every feature an admin manages, for the composition root (attach) and the executable (commands).
 */
import { password } from './password/index.js';
import { rollout } from './rollout/index.js';
import type { BootgateConfig } from '../config/schema.js';
import type { ConfigProblems } from './feature.js';

export { password, rollout };

/** Config checks beyond the schema from every feature. */
export function featureConfigProblems(cfg: BootgateConfig): ConfigProblems {
  const all = [rollout, password].map((f) => f.configProblems?.(cfg) ?? { errors: [], warnings: [] });
  return { errors: all.flatMap((p) => p.errors), warnings: all.flatMap((p) => p.warnings) };
}

/** Every feature's `bootgate` subcommands. */
export function featureCommands() {
  return [rollout, password].flatMap((f) => f.commands());
}
