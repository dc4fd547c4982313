/**
 * Turns one run of bench/dhcp-bench.sh (a directory of raw outputs) into the comparison table:
 * Bootgate against dnsmasq, with the ratio Bootgate/dnsmasq and the targets. Prints it and
 * writes it as Markdown.
 *
 *   node dist/bench/dhcp-report.js --raw bench/results/dhcp-<date> --out bench/results/dhcp-<date>.md
 *
 * Raw directory: meta.txt (key=value), status-<server>.txt, storm-<server>.json,
 * perfdhcp-<server>-<rate>.txt and perfdhcp-<server>-<rate>-timers.txt.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parsePerfdhcp, parsePerfdhcpTimers, type PerfdhcpRun } from './lib/dhcp-perfdhcp.js';
import type { LatencySummary } from './lib/dhcp-stats.js';
import type { StormResult } from './dhcp-storm.js';

/** Below this share of the requested rate, perfdhcp itself could not keep up (CPU shared with the server). */
const GENERATOR_SHORTFALL = 0.9;

/** The targets. */
const TARGET = { stormAnsweredPct: 100, stormP99Ms: 10, maxDropsPct: 1 } as const;

/**
 * Datagrams dropped at a full socket receive queue (the server's side and the load generator's), and the
 * CPU time the server process spent during the step (null for raw outputs from before it was recorded).
 */
interface QueueDrops { appliance: number; client: number; cpu: { userMs: number; sysMs: number } | null }

interface RateResult {
  rate: number;
  /** The best of the repeated runs (fewest drops, then lowest mean delay). */
  run: PerfdhcpRun | null;
  /** Drops % of the other runs, to show how much the shared machine moved the result. */
  otherDropsPct: number[];
  timers: LatencySummary | null;
  queue: QueueDrops | null;
  error: string | null;
}

interface ServerResult {
  key: string;
  title: string;
  status: string;
  storm: StormResult | null;
  stormQueue: QueueDrops | null;
  rates: RateResult[];
}

function readMeta(raw: string): Map<string, string> {
  const meta = new Map<string, string>();
  for (const line of readFileSync(join(raw, 'meta.txt'), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) meta.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return meta;
}

function readText(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

function readQueueDrops(path: string): QueueDrops | null {
  const text = readText(path);
  const a = text && /appliance_rcvbuf_errors=(\d+)/.exec(text)?.[1];
  const c = text && /client_rcvbuf_errors=(\d+)/.exec(text)?.[1];
  const u = text && /server_user_ms=(\d+)/.exec(text)?.[1];
  const k = text && /server_sys_ms=(\d+)/.exec(text)?.[1];
  const cpu = u && k ? { userMs: Number(u), sysMs: Number(k) } : null;
  return a && c ? { appliance: Number(a), client: Number(c), cpu } : null;
}

function loadRate(raw: string, key: string, rate: number, seconds: number, repeat: number): RateResult {
  const base = join(raw, `perfdhcp-${key}-${rate}`);
  const runs: Array<{ run: PerfdhcpRun; queue: QueueDrops | null }> = [];
  const errors: string[] = [];
  for (let rep = 1; rep <= repeat; rep++) {
    const file = `${base}-${rep}.txt`;
    const text = readText(file);
    if (text === null) continue;
    try {
      runs.push({ run: parsePerfdhcp(text, rate, seconds, file), queue: readQueueDrops(`${base}-${rep}-udp.txt`) });
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  const none = { rate, run: null, otherDropsPct: [], timers: null, queue: null };
  if (runs.length === 0) return { ...none, error: errors[0] ?? 'not run' };
  // Other work on a shared machine only ever makes a run worse, so the best run is the server's own limit.
  runs.sort((a, b) => a.run.dropsPct - b.run.dropsPct || a.run.avgMs - b.run.avgMs);
  const [best, ...rest] = runs as [typeof runs[number], ...typeof runs];
  const timerText = readText(`${base}-timers.txt`);
  const timers = timerText === null ? null : parsePerfdhcpTimers(timerText);
  return {
    rate,
    run: best.run,
    otherDropsPct: rest.map((r) => r.run.dropsPct),
    timers: timers && timers.count > 0 ? timers : null,
    queue: best.queue,
    error: errors[0] ?? null,
  };
}

function loadServer(raw: string, key: string, title: string, rates: number[], seconds: number, repeat: number): ServerResult {
  const stormText = readText(join(raw, `storm-${key}.json`));
  return {
    key,
    title,
    status: (readText(join(raw, `status-${key}.txt`)) ?? 'not run').trim(),
    storm: stormText === null ? null : (JSON.parse(stormText) as StormResult),
    stormQueue: readQueueDrops(join(raw, `storm-${key}-udp.txt`)),
    rates: rates.map((r) => loadRate(raw, key, r, seconds, repeat)),
  };
}

/** The highest tested rate whose drops stayed under 1% (null when none did). */
function highestCleanRate(s: ServerResult): number | null {
  const clean = s.rates.filter((r) => r.run !== null && r.run.dropsPct < TARGET.maxDropsPct).map((r) => r.rate);
  return clean.length > 0 ? Math.max(...clean) : null;
}

function peakOffers(s: ServerResult): number | null {
  const v = s.rates.flatMap((r) => (r.run ? [r.run.offersPerSecond] : []));
  return v.length > 0 ? Math.max(...v) : null;
}

function at(s: ServerResult, rate: number): RateResult | undefined {
  return s.rates.find((r) => r.rate === rate);
}

const fmt = {
  n: (v: number | null | undefined, digits = 0): string =>
    v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }),
  ms: (v: number | null | undefined): string => fmt.n(v, 3),
  ratio: (a: number | null | undefined, b: number | null | undefined): string =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`,
};

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

type Metric = [name: string, value: (s: ServerResult) => number | null | undefined, format: (v: number | null | undefined) => string, target: string];

function summaryTable(servers: ServerResult[], refRate: number): string[] {
  const metrics: Metric[] = [
    ['storm: answered %', (s) => s.storm?.answeredPct, (v) => fmt.n(v, 1), '100%'],
    ['storm: offers/s', (s) => s.storm?.offersPerSecond, (v) => fmt.n(v), ''],
    ['storm: p50 latency (ms)', (s) => s.storm?.latencyMs.p50, fmt.ms, ''],
    ['storm: p99 latency (ms)', (s) => s.storm?.latencyMs.p99, fmt.ms, `< ${TARGET.stormP99Ms} ms`],
    ['storm: max latency (ms)', (s) => s.storm?.latencyMs.max, fmt.ms, ''],
    ['perfdhcp: highest rate with < 1% drops (/s)', highestCleanRate, (v) => fmt.n(v), '>= dnsmasq'],
    ['perfdhcp: peak offers/s', peakOffers, (v) => fmt.n(v), ''],
    [`perfdhcp at ${fmt.n(refRate)}/s: drops %`, (s) => at(s, refRate)?.run?.dropsPct, (v) => fmt.n(v, 2), ''],
    [`perfdhcp at ${fmt.n(refRate)}/s: mean delay (ms)`, (s) => at(s, refRate)?.run?.avgMs, fmt.ms, ''],
    [`perfdhcp at ${fmt.n(refRate)}/s: p99 delay (ms, -x t run)`, (s) => at(s, refRate)?.timers?.p99, fmt.ms, ''],
  ];
  const d = servers.find((s) => s.key === 'dnsmasq'), b = servers.find((s) => s.key === 'bootgate');
  const withRatio = d !== undefined && b !== undefined;
  const head = ['metric', ...servers.map((s) => s.title), ...(withRatio ? ['Bootgate/dnsmasq'] : []), 'target'];
  return [
    row(head),
    row(head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '---:'))),
    ...metrics.map(([name, value, f, target]) => row([
      name,
      ...servers.map((s) => f(value(s))),
      ...(d !== undefined && b !== undefined ? [fmt.ratio(value(b), value(d))] : []),
      target,
    ])),
  ];
}

/** Server CPU time per DISCOVER perfdhcp sent, user + system, in microseconds (clock-tick resolution: 10 ms per step). */
function cpuPerDiscover(r: RateResult): string {
  const cpu = r.queue?.cpu;
  if (!cpu || !r.run || r.run.sent === 0) return '-';
  const per = (ms: number): number => (ms * 1000) / (r.run as PerfdhcpRun).sent;
  return `${fmt.n(per(cpu.userMs), 1)}+${fmt.n(per(cpu.sysMs), 1)}`;
}

/**
 * Server CPU time per OFFER it sent, user + system, in microseconds: the offers perfdhcp received plus those
 * the kernel dropped at perfdhcp's full socket queue. Unlike per DISCOVER sent, a server that lost
 * DISCOVERs at its own full queue (never read, never answered) does not look cheaper for it.
 */
function cpuPerAnswer(r: RateResult): string {
  const cpu = r.queue?.cpu;
  const answers = r.run && r.queue ? r.run.received + r.queue.client : 0;
  if (!cpu || answers === 0) return '-';
  return fmt.n(((cpu.userMs + cpu.sysMs) * 1000) / answers, 1);
}

function rateTable(servers: ServerResult[], rates: number[]): string[] {
  const d = servers.find((s) => s.key === 'dnsmasq');
  const head = ['rate/s', 'server', 'sent/s', 'drops %', 'other runs drops %', 'offers/s', 'mean ms', 'p99 ms', 'max ms', 'queue drops srv/gen', 'server CPU µs/DISCOVER user+sys', 'server CPU µs/answer', 'offers/s vs dnsmasq'];
  const out = [row(head), row(head.map((_, i) => (i === 1 ? '---' : '---:')))];
  for (const rate of rates) {
    for (const s of servers) {
      const r = at(s, rate);
      if (!r?.run) {
        out.push(row([fmt.n(rate), s.title, r?.error === 'not run' || !r ? 'not run' : 'error', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-']));
        continue;
      }
      const short = r.run.sentPerSecond < GENERATOR_SHORTFALL * rate ? '*' : '';
      const ref = d && s !== d ? at(d, rate)?.run?.offersPerSecond : undefined;
      out.push(row([
        fmt.n(rate), s.title, fmt.n(r.run.sentPerSecond) + short, fmt.n(r.run.dropsPct, 2),
        r.otherDropsPct.map((v) => fmt.n(v, 2)).join(', ') || '-', fmt.n(r.run.offersPerSecond),
        fmt.ms(r.run.avgMs), fmt.ms(r.timers?.p99), fmt.ms(r.run.maxMs),
        r.queue ? `${fmt.n(r.queue.appliance)}/${fmt.n(r.queue.client)}` : '-',
        cpuPerDiscover(r),
        cpuPerAnswer(r),
        ref === undefined ? '' : fmt.ratio(r.run.offersPerSecond, ref),
      ]));
    }
  }
  return out;
}

function verdicts(d: ServerResult, b: ServerResult): string[] {
  const pass = (ok: boolean | null): string => (ok === null ? 'NOT MEASURED' : ok ? 'PASS' : 'FAIL');
  const bs = b.storm;
  const clean = highestCleanRate(b), cleanRef = highestCleanRate(d);
  return [
    `- every storm DISCOVER answered: ${pass(bs ? bs.answered === bs.clients : null)}` +
      (bs ? ` (${bs.answered}/${bs.clients})` : ''),
    `- storm p99 < ${TARGET.stormP99Ms} ms: ${pass(bs?.latencyMs.p99 == null ? null : bs.latencyMs.p99 < TARGET.stormP99Ms)}` +
      (bs?.latencyMs.p99 != null ? ` (${fmt.ms(bs.latencyMs.p99)} ms)` : ''),
    `- highest < 1%-drop rate at least dnsmasq's: ${pass(b.status !== 'ok' || d.status !== 'ok' ? null : (clean ?? 0) >= (cleanRef ?? 0))}` +
      ` (Bootgate ${fmt.n(clean)}/s, dnsmasq ${fmt.n(cleanRef)}/s)`,
  ];
}

function problems(servers: ServerResult[]): string[] {
  const out: string[] = [];
  for (const s of servers) {
    if (s.status !== 'ok') out.push(`- ${s.title}: ${s.status}`);
    const st = s.storm;
    if (st) {
      const bad = Object.entries(st.invalid).map(([k, v]) => `${v} ${k}`);
      if (bad.length > 0) out.push(`- ${s.title} storm: invalid offers: ${bad.join(', ')}`);
      if (st.duplicates > 0) out.push(`- ${s.title} storm: ${st.duplicates} duplicate offers`);
      if (st.malformed > 0) out.push(`- ${s.title} storm: ${st.malformed} malformed replies`);
      if (st.sendErrors > 0) out.push(`- ${s.title} storm: ${st.sendErrors} send errors in the generator`);
      if (s.stormQueue && s.stormQueue.appliance + s.stormQueue.client > 0) {
        out.push(`- ${s.title} storm: socket queue drops ${s.stormQueue.appliance} at the server, ${s.stormQueue.client} at the generator`);
      }
    }
    for (const r of s.rates) {
      if (r.error !== null && r.error !== 'not run') out.push(`- ${s.title} perfdhcp ${r.rate}/s: ${r.error}`);
      if (r.run && r.run.malformed > 0) out.push(`- ${s.title} perfdhcp ${r.rate}/s: ${r.run.malformed} malformed replies`);
    }
  }
  return out;
}

function render(meta: Map<string, string>, servers: ServerResult[], rates: number[]): string {
  const m = (k: string): string => meta.get(k) ?? '?';
  const d = servers.find((s) => s.key === 'dnsmasq'), b = servers.find((s) => s.key === 'bootgate');
  const refRate = rates.includes(5000) ? 5000 : (rates[0] ?? 0);
  const out = [
    `# DHCP benchmark ${m('date')}`,
    '',
    `Lab: two network namespaces joined by one veth pair (client 10.88.0.10, appliance 10.88.0.2); ` +
      (m('pin') === '1'
        ? `${m('cpus')} CPUs; the load generators pinned to CPU 0 and the server (all its threads) to CPU 1 (BENCH_PIN=1)`
        : `${m('cpus')} CPUs shared by the load generator and the server, unpinned (BENCH_PIN=0)`) +
      `; load average (1/5/15 min) at start ${m('load')}, at the end ${m('load_end')}.`,
    `dnsmasq ${m('dnsmasq_version')} (proxy mode, --quiet-dhcp), perfdhcp ${m('perfdhcp_version')}, node ${m('node_version')}, ` +
      `Bootgate ${m('bootgate_commit')}.`,
    `Storm: ${m('storm_clients')} clients (one in 20 BIOS), one broadcast DISCOVER each from port 68 within 1 s. ` +
      `perfdhcp: \`-i\` (DISCOVER/OFFER), ${m('perfdhcp_clients')} clients, ${m('seconds')} s per rate, ` +
      `options 60/93/94/97 of an x64 UEFI PXE client; perfdhcp acts as a relay (giaddr set, replies unicast to it). ` +
      `Each rate ran ${m('repeat')} time(s) per server, servers taking turns; the table keeps each server's best run.`,
    (m('warmup') === '1'
      ? 'Every step starts the server afresh and warms it up with 1 s of perfdhcp at 2,000/s (other MACs) before measuring. '
      : 'Every step starts the server afresh and measures it cold (no warm-up). ') +
    `Drops, offers/s and mean delay come from a plain run; p99 from a second run with \`-x t\` ` +
      `(per-exchange timestamps), which itself slows perfdhcp, so read it as an upper bound.`,
    '',
  ];
  out.push('## Summary', '', ...summaryTable(servers, refRate), '');
  if (d && b) out.push('## Targets', '', ...verdicts(d, b), '');
  out.push('## perfdhcp by rate', '', ...rateTable(servers, rates), '',
    '"queue drops srv/gen": DISCOVERs the kernel dropped at the server\'s full socket queue / OFFERs dropped at ' +
    'the generator\'s (from /proc/net/snmp RcvbufErrors in each namespace).',
    '"server CPU": the server process\'s user and system CPU time during the run (/proc/<pid>/stat) divided by the ' +
    'DISCOVERs perfdhcp sent: what one answer costs, which the machine\'s other load does not change much. ' +
    '"µs/answer": the same CPU time divided by the OFFERs the server sent (received by perfdhcp or dropped at its ' +
    'queue): a server that left DISCOVERs unread in its own full queue answered fewer, and per DISCOVER sent looks cheaper than it is.',
    '',
    `\\* perfdhcp sent less than ${GENERATOR_SHORTFALL * 100}% of the requested rate: at that rate the generator ` +
    (m('pin') === '1' ? '(one CPU) ' : '(sharing the CPUs with the server) ') + 'is part of the limit.', '');
  const p = problems(servers);
  if (p.length > 0) out.push('## Problems seen', '', ...p, '');
  return out.join('\n');
}

function main(): void {
  const { values } = parseArgs({ options: { raw: { type: 'string' }, out: { type: 'string' } }, strict: true });
  if (!values.raw) throw new Error('--raw <directory of a bench/dhcp-bench.sh run> is required');
  const meta = readMeta(values.raw);
  const rates = (meta.get('rates') ?? '').split(/\s+/).filter(Boolean).map(Number);
  const titles: Record<string, string> = {
    dnsmasq: `dnsmasq ${meta.get('dnsmasq_version') ?? ''}`.trim(),
    bootgate: 'Bootgate',
    'bootgate-pg': 'Bootgate on PostgreSQL',
    'bootgate-pg-slow': `Bootgate on PostgreSQL answering ${meta.get('pg_delay_ms') ?? '?'} ms late`,
  };
  const seconds = Number(meta.get('seconds'));
  const repeat = Number(meta.get('repeat') ?? '1');
  if (!(seconds > 0)) throw new Error(`${values.raw}/meta.txt: no valid seconds= line`);
  const servers = (meta.get('servers') ?? '').split(/\s+/).filter(Boolean)
    .map((k) => loadServer(values.raw as string, k, titles[k] ?? k, rates, seconds, repeat));
  const text = render(meta, servers, rates);
  process.stdout.write(text + '\n');
  if (values.out) writeFileSync(values.out, text + '\n');
}

try {
  main();
} catch (err) {
  process.stderr.write(`dhcp-report: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
