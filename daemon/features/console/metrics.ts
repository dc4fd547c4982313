/**
 * Console metrics: sign-ins by result, requests refused by reason, sessions and live streams open.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export function createConsoleMetrics(registry: Registry, live: { sessions: () => Promise<number>; streams: () => number }) {
  return {
    signIns: new Counter({
      name: 'bootgate_console_sign_ins_total', help: 'Console sign-ins, by result (ok, refused: not an admin token, locked: too many failures from the address)',
      labelNames: ['result'] as const, registers: [registry],
    }),
    refusals: new Counter({
      name: 'bootgate_console_refusals_total', help: 'Console API requests refused, by reason (no-session, csrf, read-only)',
      labelNames: ['reason'] as const, registers: [registry],
    }),
    sessions: new Gauge({
      name: 'bootgate_console_sessions', help: 'Console sessions signed in and not expired', registers: [registry],
      async collect() {
        // Read when scraped; a store that cannot answer leaves the last value.
        try { this.set(await live.sessions()); } catch { /* kept */ }
      },
    }),
    streams: new Gauge({
      name: 'bootgate_console_streams', help: 'Boots-now pages connected to the live boot feed', registers: [registry],
      collect() { this.set(live.streams()); },
    }),
  };
}

export type ConsoleMetrics = ReturnType<typeof createConsoleMetrics>;
