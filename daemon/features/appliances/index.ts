/**
 * The fleet view: each appliance writes a heartbeat row to the store every HEARTBEAT_MS (through the
 * decision path's writer); GET /appliances, `bootgate appliances` and the console's Appliances page
 * read them. attach() counts this appliance's boot decisions; the composition root starts the
 * heartbeat once it knows its subnets and readiness.
 */
import { type AttachedFeature, type Feature, serviceOf } from '../feature.js';
import { appliancesRoutes } from './api.js';
import { createAppliancesCommand } from './cli.js';
import { BootCounter, Heartbeat, type HeartbeatSource } from './heartbeat.js';
import { AppliancesService, appliancesService, HEARTBEAT_MS } from './service.js';

export { AppliancesService, STALE_AFTER_MS, type ApplianceDto } from './service.js';

export interface AttachedAppliances extends AttachedFeature {
  service: AppliancesService;
  startHeartbeat: (source: HeartbeatSource, version: string) => void;
}

export const appliances: Feature<AttachedAppliances> = {
  name: 'appliances',
  commands: (io) => [createAppliancesCommand(io)],
  services: [appliancesService],
  attach: (ctx) => {
    const now = ctx.now ?? Date.now;
    const service = new AppliancesService(ctx.store, now);
    const boots = new BootCounter();
    let heartbeat: Heartbeat | null = null;
    return {
      service,
      routes: appliancesRoutes(serviceOf(ctx, appliancesService)),
      observe: (_client, decision) => {
        if (decision.kind === 'boot') boots.add(now());
      },
      startHeartbeat: (source, version) => {
        heartbeat?.stop();
        heartbeat = new Heartbeat({ name: ctx.store.serverName, version, intervalMs: HEARTBEAT_MS, now, logger: ctx.logger, boots });
        heartbeat.start(source);
      },
      close: () => heartbeat?.stop(),
    };
  },
};
