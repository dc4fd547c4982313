/**
 * UEFI Secure Boot machines. Attached, the feature puts into every policy snapshot which machines run
 * Secure Boot (marked by an admin, or noticed when their firmware refused an unsigned program), watches
 * offers, transfers, requests and DHCPv6 Solicits for such refusals (watch.ts), and serves /secure-boot
 * on the admin API.
 */
import type { AuditEventInput } from '../../store/audit.js';
import { type Feature, serviceOf } from '../feature.js';
import { secureBootRoutes } from './api.js';
import { createSecureBootCommand } from './cli.js';
import { createSecureBootMetrics } from './metrics.js';
import { SecureBootAdmin, secureBootService } from './service.js';
import { SecureBootMarks } from './marks.js';
import type { SecureBootRow } from './store.js';
import { RefusalWatch } from './watch.js';

export { SecureBootAdmin, type SecureBootDto } from './service.js';
export { RefusalWatch } from './watch.js';

export const secureboot: Feature = {
  name: 'secure-boot',
  commands: (io) => [createSecureBootCommand(io)],
  services: [secureBootService],
  attach(ctx) {
    const now = ctx.now ?? Date.now;
    const admin = new SecureBootAdmin(ctx.store, now);
    const service = serviceOf(ctx, secureBootService);
    const metrics = createSecureBootMetrics(ctx.registry);
    // One object for every snapshot.
    const marks = new SecureBootMarks({ store: ctx.store, repo: admin.repo, load: () => service.macs(), logger: ctx.logger });
    const record = (row: SecureBootRow, event: AuditEventInput) => {
      const written = service.noticeRefusal(row, event);
      marks.add(row.mac, written);
      return written;
    };
    const watch = new RefusalWatch({ record, config: ctx.config, logger: ctx.logger, metrics, now, macOfGuid: ctx.macOfGuid });
    // The GRUB-silence hint is checked every few seconds (timer unref'd: it never keeps the process up).
    const sweeper = setInterval(() => watch.sweep(), 10_000);
    sweeper.unref();
    return {
      snapshot: { secureBoot: () => marks },
      close: () => {
        clearInterval(sweeper);
        marks.close();
      },
      precede: (client, context) => watch.request(client, context),
      observe: (client, decision) => watch.decided(client, decision),
      served: (mac, path) => watch.served(mac, path),
      dhcpv6: (msg, from) => {
        watch.dhcpv6(msg, from);
      },
      routes: secureBootRoutes(service),
    };
  },
};
