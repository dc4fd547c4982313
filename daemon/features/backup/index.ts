/**
 * Backup and restore of the store: POST /store/backup on the admin API (an online backup, streamed),
 * `bootgate store backup FILE` and `bootgate store restore FILE`.
 */
import type { Feature } from '../feature.js';
import { backupRoutes } from './api.js';
import { createStoreCommand } from './cli.js';

export const backup: Feature = {
  name: 'backup',
  commands: (io) => [createStoreCommand(io)],
  attach: (ctx) => ({ routes: backupRoutes(ctx.store) }),
};
