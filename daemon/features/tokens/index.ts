/**
 * Admin API tokens on the appliance's host: the read-write token the first start writes beside the
 * store, `bootgate token new` and `bootgate token path`. The API reads the same file (http/admin/auth.ts);
 * nothing of this feature runs inside the daemon but the first-start token (bootstrapAdminToken).
 */
import type { Feature } from '../feature.js';
import { createTokenCommand } from './cli.js';

export { bootstrapAdminToken } from './service.js';

export const tokens: Feature = {
  name: 'tokens',
  commands: (io) => [createTokenCommand(io)],
  attach: () => ({}),
};
