/**
 * Windows PE boot images: `bootgate image add|list|show|verify|remove` on the boot root's `images/`
 * folder. Profiles name an image (`image:`); the composition root resolves those names into boot
 * programs and option 252 when it prepares a configuration (profiles.ts).
 */
import type { Feature } from '../feature.js';
import { createImageCommand } from './cli.js';

export const images: Feature = {
  name: 'images',
  commands: (io) => [createImageCommand(io)],
  attach: () => ({}),
};
