/**
 * UEFI Secure Boot machines. Attached, the feature puts into every policy snapshot which machines run
 * Secure Boot (marked by an admin, or noticed when their firmware refused an unsigned program), watches
 * offers, transfers, requests and DHCPv6 Solicits for such refusals (watch.ts), and serves /secure-boot
 * on the admin API.
 */
import type { SecureBootFacts } from '../../policy/secure-boot.js';
import type { Feature } from '../feature.js';
import { secureBootRoutes } from './api.js';
import { createSecureBootCommand } from './cli.js';
import { createSecureBootMetrics } from './metrics.js';
import { SecureBootAdmin } from './service.js';
import { RefusalWatch } from './watch.js';

export { SecureBootAdmin, type SecureBootDto } from './service.js';
export { RefusalWatch } from './watch.js';

export const secureboot: Feature = {
  name: 'secure-boot',
  commands: (io) => [createSecureBootCommand(io)],
  attach(ctx) {
    const now = ctx.now ?? Date.now;
    const admin = new SecureBootAdmin(ctx.store, now);
    const metrics = createSecureBootMetrics(ctx.registry);
    const watch = new RefusalWatch({ store: ctx.store, repo: admin.repo, config: ctx.config, logger: ctx.logger, metrics, now, macOfGuid: ctx.macOfGuid });
    // One object for every snapshot: the table is read at each question, so marks from the CLI count at once.
    const facts: SecureBootFacts = {
      has: (mac) => {
        try {
          return ctx.store.isOpen && admin.repo.has(mac);
        } catch {
          return false;
        }
      },
    };
    // The GRUB-silence hint is checked every few seconds (timer unref'd: it never keeps the process up).
    const sweeper = setInterval(() => watch.sweep(), 10_000);
    sweeper.unref();
    return {
      snapshot: { secureBoot: () => facts },
      close: () => clearInterval(sweeper),
      precede: (client, context) => watch.request(client, context),
      observe: (client, decision) => watch.decided(client, decision),
      served: (mac, path) => watch.served(mac, path),
      dhcpv6: (msg, from) => {
        watch.dhcpv6(msg, from);
      },
      routes: secureBootRoutes(admin),
    };
  },
};
