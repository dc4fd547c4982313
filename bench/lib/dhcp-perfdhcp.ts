/**
 * Reading perfdhcp's (Kea 2.x) text report. perfdhcp prints min/avg/max/std of the delay but no
 * percentiles; with `-x t` it also prints one `sent / received: S / R` line per successful exchange,
 * from which p50/p99 are computed here.
 */
import { summarize, type LatencySummary } from './dhcp-stats.js';

export interface PerfdhcpRun {
  requestedRate: number;
  /** DISCOVERs perfdhcp actually sent per second of the test period (-p). */
  sentPerSecond: number;
  sent: number;
  received: number;
  drops: number;
  dropsPct: number;
  orphans: number;
  malformed: number;
  minMs: number;
  avgMs: number;
  maxMs: number;
  stdMs: number;
  /**
   * OFFERs received per second of the test period. (perfdhcp's own "Rate:" line is the same count
   * divided by its wall time, which includes the -W wait after the last DISCOVER.)
   */
  offersPerSecond: number;
}

export class PerfdhcpParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PerfdhcpParseError';
  }
}

function field(text: string, pattern: RegExp, what: string, source: string): number {
  const m = pattern.exec(text);
  const raw = m?.[1];
  const n = raw === undefined ? NaN : Number(raw);
  if (!Number.isFinite(n)) throw new PerfdhcpParseError(`${source}: no "${what}" line in perfdhcp's output`);
  return n;
}

/** Parses one perfdhcp -i run (DISCOVER-OFFER statistics). Throws PerfdhcpParseError naming the missing line. */
export function parsePerfdhcp(text: string, requestedRate: number, periodSeconds: number, source: string): PerfdhcpRun {
  const stats = text.indexOf('***Statistics for: DISCOVER-OFFER***');
  if (stats < 0) throw new PerfdhcpParseError(`${source}: no DISCOVER-OFFER statistics (did perfdhcp run with -i and finish?)`);
  const body = text.slice(stats);
  const sent = field(body, /^sent packets: (\d+)/m, 'sent packets', source);
  const received = field(body, /^received packets: (\d+)/m, 'received packets', source);
  const drops = Math.max(0, sent - received);
  return {
    requestedRate,
    sentPerSecond: sent / periodSeconds,
    sent,
    received,
    drops,
    dropsPct: sent > 0 ? (100 * drops) / sent : 100,
    orphans: field(body, /^orphans: (\d+)/m, 'orphans', source),
    malformed: field(text, /^Malformed packets: (\d+)/m, 'Malformed packets', source),
    minMs: field(body, /^min delay: ([0-9.]+) ms/m, 'min delay', source),
    avgMs: field(body, /^avg delay: ([0-9.]+) ms/m, 'avg delay', source),
    maxMs: field(body, /^max delay: ([0-9.]+) ms/m, 'max delay', source),
    stdMs: field(body, /^std deviation: ([0-9.]+) ms/m, 'std deviation', source),
    offersPerSecond: received / periodSeconds,
  };
}

/** Per-exchange delays from `-x t` output ("sent / received: 000000.000133 / 000000.000421", seconds). */
export function parsePerfdhcpTimers(text: string): LatencySummary {
  const samples: number[] = [];
  const line = /^sent \/ received: ([0-9.]+) \/ ([0-9.]+)$/gm;
  for (let m = line.exec(text); m !== null; m = line.exec(text)) {
    const sent = Number(m[1]);
    const received = Number(m[2]);
    if (Number.isFinite(sent) && Number.isFinite(received) && received >= sent) samples.push((received - sent) * 1000);
  }
  return summarize(samples);
}
