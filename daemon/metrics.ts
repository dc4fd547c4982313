/**
 * The metric catalogue (README "Metrics"): one registry per daemon, no global state, every metric
 * here is incremented somewhere. Names follow bootgate_<area>_<what>_<unit>; no label carries a MAC,
 * IP or file name, so cardinality stays bounded.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(registry: Registry = new Registry(), version = '0.0.0') {
  const m = {
    registry,
    dhcpPackets: new Counter({
      name: 'bootgate_dhcp_packets_total',
      help: 'DHCP/PXE packets received, by port (67 or 4011), message type and result (answered, ignored, delayed, malformed, dropped)',
      labelNames: ['port', 'type', 'result'] as const,
      registers: [registry],
    }),
    dhcpReplySeconds: new Histogram({
      name: 'bootgate_dhcp_reply_duration_seconds',
      help: 'Time from receiving a DHCP/PXE request to sending its reply (excluding a configured response delay)',
      labelNames: ['port'] as const,
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers: [registry],
    }),
    dhcpOffersHeld: new Counter({
      name: 'bootgate_dhcp_offers_held_total',
      help: 'Proxy offers held before sending, by reason (response-delay: server.responseDelaySeconds; coexist-delay: an unknown client under server.coexist delay)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    decisions: new Counter({
      name: 'bootgate_decisions_total',
      help: 'Policy decisions, by door, decision kind, reason and client architecture',
      labelNames: ['door', 'decision', 'reason', 'arch'] as const,
      registers: [registry],
    }),
    tftpTransfers: new Counter({
      name: 'bootgate_tftp_transfers_total',
      help: 'TFTP transfers ended, by result (ok, probe, error, timeout, aborted)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    tftpBytes: new Counter({
      name: 'bootgate_tftp_bytes_total',
      help: 'TFTP payload bytes sent (first transmissions only)',
      registers: [registry],
    }),
    tftpRetransmits: new Counter({
      name: 'bootgate_tftp_retransmits_total',
      help: 'TFTP DATA packets sent again after loss or timeout',
      registers: [registry],
    }),
    tftpDuration: new Histogram({
      name: 'bootgate_tftp_transfer_duration_seconds',
      help: 'Duration of completed TFTP transfers',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    tftpActive: new Gauge({
      name: 'bootgate_tftp_active_sessions',
      help: 'TFTP transfers in progress',
      registers: [registry],
    }),
    tftpRefused: new Counter({
      name: 'bootgate_tftp_refused_total',
      help: 'TFTP requests refused, by reason (not-found, access, write, limit-total, limit-client, bad-option, policy, malformed); limit-client ones are answered with an error packet',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    httpTransfers: new Counter({
      name: 'bootgate_http_transfers_total',
      help: 'HTTP boot file and script responses, by kind (file, script) and result (ok, not-found, refused, error)',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    httpBytes: new Counter({
      name: 'bootgate_http_bytes_total',
      help: 'HTTP boot file bytes sent',
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'bootgate_http_transfer_duration_seconds',
      help: 'Duration of HTTP boot file responses',
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers: [registry],
    }),
    httpSendfileFallbacks: new Counter({
      name: 'bootgate_http_sendfile_fallbacks_total',
      help: 'HTTP boot file bodies written through Node because sendfile could not take them (http.sendfile on)',
      registers: [registry],
    }),
    httpActive: new Gauge({
      name: 'bootgate_http_active_transfers',
      help: 'HTTP boot file responses in progress',
      registers: [registry],
    }),
    configReloads: new Counter({
      name: 'bootgate_config_reloads_total',
      help: 'Configuration reloads (SIGHUP or API), by result (ok, failed)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    ready: new Gauge({
      name: 'bootgate_ready',
      help: '1 when sockets are bound, the boot root is readable, the store is open and the profile unknown machines get has its files (what /readyz says), else 0',
      registers: [registry],
    }),
    profileMissingFiles: new Gauge({
      name: 'bootgate_profile_missing_files',
      help: 'Files a profile names (boot file per architecture, template, boot-once marker) that are not in the boot root, by profile; checked at start, on reload and on /readyz',
      labelNames: ['profile'] as const,
      registers: [registry],
    }),
    buildInfo: new Gauge({
      name: 'bootgate_build_info',
      help: 'Always 1; labels carry the version and Node.js version',
      labelNames: ['version', 'node'] as const,
      registers: [registry],
    }),
  };
  m.buildInfo.set({ version, node: process.version }, 1);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Process metrics (CPU, memory, event loop lag) on the same registry; the daemon calls it once. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: 'bootgate_' });
}
