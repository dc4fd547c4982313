/**
 * Boot storm load generator (a benchmark, not a test): N simulated PXE clients, each with its own MAC,
 * xid and SMBIOS GUID, each broadcasting one DHCPDISCOVER from port 68 within a short window, as a
 * room of machines powered on together does. Proxy OFFERs are received on port 68, matched by xid and
 * checked (see offerProblem). Prints answered %, offers/s and latency percentiles, and writes JSON.
 *
 * Only run it inside the benchmark's network namespace (bench/dhcp-bench.sh): it broadcasts DHCP.
 * Everything is bounded: at most 10,000 clients, one DISCOVER each, no retransmission, and a fixed
 * wait after the last one.
 *
 *   node dist/bench/dhcp-storm.js --label dnsmasq --clients 1000 --spread-ms 1000 --wait-ms 3000 --json out.json
 */
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { encodePxeDiscover, offerProblem, PxeArch, readReply, type SimulatedClient } from './lib/dhcp-packet.js';
import { summarize, type LatencySummary } from './lib/dhcp-stats.js';

interface StormOptions {
  label: string;
  clients: number;
  spreadMs: number;
  waitMs: number;
  biosEvery: number;
  target: string;
  serverPort: number;
  clientPort: number;
  seed: number;
  json: string | null;
}

export interface StormResult {
  label: string;
  clients: number;
  biosClients: number;
  spreadMs: number;
  /** Time from the first to the last DISCOVER actually sent. */
  sendWindowMs: number;
  sendErrors: number;
  answered: number;
  answeredPct: number;
  /** Offers for an xid already answered (e.g. a server answering twice). */
  duplicates: number;
  /** Replies whose xid is none of ours (another sender on the link). */
  unknownXid: number;
  malformed: number;
  invalid: Record<string, number>;
  /** Answered offers divided by the time from the first DISCOVER to the last offer. */
  offersPerSecond: number;
  latencyMs: LatencySummary;
}

const LIMITS = { clients: 10_000, spreadMs: 10_000, waitMs: 30_000 } as const;

function intOption(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: expected an integer from ${min} to ${max}, found ${String(raw)}`);
  return n;
}

function parseOptions(argv: string[]): StormOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      label: { type: 'string', default: 'server' },
      clients: { type: 'string' },
      'spread-ms': { type: 'string' },
      'wait-ms': { type: 'string' },
      'bios-every': { type: 'string' },
      target: { type: 'string', default: '255.255.255.255' },
      'server-port': { type: 'string' },
      'client-port': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
    },
    strict: true,
  });
  return {
    label: values.label ?? 'server',
    clients: intOption(values, 'clients', 1000, 1, LIMITS.clients),
    spreadMs: intOption(values, 'spread-ms', 1000, 0, LIMITS.spreadMs),
    waitMs: intOption(values, 'wait-ms', 3000, 1, LIMITS.waitMs),
    biosEvery: intOption(values, 'bios-every', 20, 0, LIMITS.clients),
    target: values.target ?? '255.255.255.255',
    serverPort: intOption(values, 'server-port', 67, 1, 65535),
    clientPort: intOption(values, 'client-port', 68, 0, 65535),
    seed: intOption(values, 'seed', 1, 0, 0xffffffff),
    json: values.json ?? null,
  };
}

/** xorshift32: reproducible xids and GUIDs for a given seed. */
function random32(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

/** Locally administered MACs 02:b6:xx:xx:xx:xx (never a real vendor's), unique xids. */
function makeClients(o: StormOptions): SimulatedClient[] {
  const next = random32(o.seed);
  const xids = new Set<number>();
  const clients: SimulatedClient[] = [];
  for (let i = 0; i < o.clients; i++) {
    let xid = next();
    while (xids.has(xid)) xid = next();
    xids.add(xid);
    const mac = Buffer.from([0x02, 0xb6, (o.seed >>> 8) & 0xff, o.seed & 0xff, (i >>> 8) & 0xff, i & 0xff]);
    const guid = Buffer.alloc(16);
    for (let w = 0; w < 4; w++) guid.writeUInt32BE(next(), w * 4);
    const bios = o.biosEvery > 0 && i % o.biosEvery === o.biosEvery - 1;
    clients.push({ mac, xid, guid, arch: bios ? PxeArch.biosX86 : PxeArch.efiX64 });
  }
  return clients;
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function openSocket(o: StormOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: 'udp4' });
    sock.once('error', reject);
    sock.bind(o.clientPort, '0.0.0.0', () => {
      sock.off('error', reject);
      sock.setBroadcast(true);
      // A storm's offers arrive in bursts; a larger buffer keeps the generator from dropping them itself.
      try { sock.setRecvBufferSize(4 * 1024 * 1024); } catch { /* capped by net.core.rmem_max: keep the default */ }
      resolve(sock);
    });
  });
}

async function runStorm(o: StormOptions): Promise<StormResult> {
  const clients = makeClients(o);
  const byXid = new Map<number, number>(clients.map((c, i) => [c.xid, i]));
  const packets = clients.map(encodePxeDiscover);
  const sentAt = new Float64Array(clients.length).fill(NaN);
  const latency = new Float64Array(clients.length).fill(NaN);
  const invalid: Record<string, number> = {};
  let answered = 0, duplicates = 0, unknownXid = 0, malformed = 0, sendErrors = 0, lastOfferAt = NaN;

  const sock = await openSocket(o);
  sock.on('message', (msg) => {
    const at = nowMs();
    const r = readReply(msg);
    if (r === null) { malformed++; return; }
    const i = byXid.get(r.xid);
    const client = i === undefined ? undefined : clients[i];
    if (i === undefined || client === undefined) { unknownXid++; return; }
    const problem = offerProblem(r, client.mac);
    if (problem !== null) { invalid[problem] = (invalid[problem] ?? 0) + 1; return; }
    if (!Number.isNaN(latency[i] ?? NaN)) { duplicates++; return; }
    latency[i] = at - (sentAt[i] ?? at);
    answered++;
    lastOfferAt = at;
  });
  sock.on('error', () => { sendErrors++; });

  const start = nowMs();
  let next = 0;
  await new Promise<void>((resolve) => {
    // Client i is due at i/N of the spread; each tick sends every client that is due.
    const tick = (): void => {
      const elapsed = nowMs() - start;
      const due = o.spreadMs === 0 ? clients.length : Math.min(clients.length, Math.floor((elapsed / o.spreadMs) * clients.length) + 1);
      for (; next < due; next++) {
        const i = next;
        sentAt[i] = nowMs();
        sock.send(packets[i] as Buffer, o.serverPort, o.target, (err) => { if (err) sendErrors++; });
      }
      if (next < clients.length) setTimeout(tick, 1); else resolve();
    };
    tick();
  });
  const lastSend = nowMs();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (answered === clients.length || nowMs() - lastSend >= o.waitMs) { clearInterval(poll); resolve(); }
    }, 5);
  });
  sock.close();

  const samples = Array.from(latency).filter((v) => !Number.isNaN(v));
  const span = (lastOfferAt - start) / 1000;
  return {
    label: o.label,
    clients: clients.length,
    biosClients: clients.filter((c) => c.arch === PxeArch.biosX86).length,
    spreadMs: o.spreadMs,
    sendWindowMs: lastSend - start,
    sendErrors,
    answered,
    answeredPct: (100 * answered) / clients.length,
    duplicates,
    unknownXid,
    malformed,
    invalid,
    offersPerSecond: answered > 0 && span > 0 ? answered / span : 0,
    latencyMs: summarize(samples),
  };
}

function ms(v: number | null): string {
  return v === null ? '-' : v.toFixed(3);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const r = await runStorm(o);
  const bad = Object.entries(r.invalid).map(([k, v]) => `${v} ${k}`).join(', ');
  process.stdout.write(
    `storm ${r.label}: ${r.answered}/${r.clients} answered (${r.answeredPct.toFixed(1)}%), ` +
    `${r.biosClients} BIOS, sent in ${r.sendWindowMs.toFixed(0)} ms, ${r.offersPerSecond.toFixed(0)} offers/s, ` +
    `latency ms p50 ${ms(r.latencyMs.p50)} p99 ${ms(r.latencyMs.p99)} max ${ms(r.latencyMs.max)}` +
    `${r.duplicates ? `, ${r.duplicates} duplicate offers` : ''}${bad ? `, invalid: ${bad}` : ''}` +
    `${r.malformed ? `, ${r.malformed} malformed` : ''}${r.sendErrors ? `, ${r.sendErrors} send errors` : ''}\n`,
  );
  if (o.json !== null) writeFileSync(o.json, JSON.stringify(r, null, 2) + '\n');
  // Exit 3 tells the driver script the server never answered, so it can skip the longer runs.
  process.exitCode = r.answered === 0 ? 3 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`dhcp-storm: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
