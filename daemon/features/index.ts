/**
 * Every feature an admin manages, in one list: the composition root attaches them, the executable
 * registers their commands, the admin API serves their routes.
 */
import type { BootgateConfig } from '../config/schema.js';
import { appliances } from './appliances/index.js';
import { backup } from './backup/index.js';
import { consoleFeature } from './console/index.js';
import { events } from './events/index.js';
import type { ConfigProblems, Feature } from './feature.js';
import { images } from './images/index.js';
import { inventory } from './inventory/index.js';
import { password } from './password/index.js';
import { rollout } from './rollout/index.js';
import { secureboot } from './secureboot/index.js';
import { settings } from './settings/index.js';
import { status } from './status/index.js';
import { tokens } from './tokens/index.js';

export { appliances, backup, consoleFeature, events, images, inventory, password, rollout, secureboot, settings, status, tokens };

/**
 * The features that live on the store alone. Rollout, password, appliances and the console are attached by
 * name: the root also uses what they return (the live gate, the password gate, the heartbeat, the console's mount).
 */
export const STORE_FEATURES: readonly Feature[] = [inventory, status, events, settings, images, backup, secureboot];

/** Every feature; tokens has nothing to attach (its file is read by the admin API frame). */
export const FEATURES: readonly Feature[] = [...STORE_FEATURES, rollout, password, appliances, consoleFeature, tokens];

/** Config checks beyond the schema from every feature. */
export function featureConfigProblems(cfg: BootgateConfig): ConfigProblems {
  const all = FEATURES.map((f) => f.configProblems?.(cfg) ?? { errors: [], warnings: [] });
  return { errors: all.flatMap((p) => p.errors), warnings: all.flatMap((p) => p.warnings) };
}
