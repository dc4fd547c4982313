/**
 * The big DHCP decoder fuzz run (`npm run fuzz`): 1,000,000 inputs by default, random buffers of 0..1500
 * bytes, random buffers behind a valid header, and structure-aware mutations of the firmware packets.
 *
 * Every input must decode or throw DecodeError. A decode slower than 50 ms is re-timed and counted as a
 * hang if it is slow again (one slow timing can be a GC pause on a shared machine). A decode that never
 * returns cannot be timed from inside, so the run happens in a worker and the main thread is a watchdog:
 * if progress stops for 5 s it kills the worker and saves the input under test/fixtures/dhcp/.
 * Exits 1 on any uncaught error, hang or round-trip mismatch; 2 when the time limit stops it early.
 *
 * Options: --count N (1000000), --seed S (20241121), --max-seconds T (300).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DecodeError } from '../../daemon/protocol/errors.js';
import { DhcpOption } from '../../daemon/protocol/dhcp/constants.js';
import { chaddrFromMac, decodeDhcp, encodeDhcp, type DhcpPacket } from '../../daemon/protocol/dhcp/packet.js';
import { decodePxeOptions, decodeTlv } from '../../daemon/protocol/dhcp/vendor-options.js';
import { FIXTURES_DIR, allFixturePackets, samePacket } from './dhcp-corpus.js';
import { mulberry32, mutate, randomBytes, randomDhcpLike, type Rng } from './dhcp-mutate.js';

const HANG_MS = 50;
const WATCHDOG_MS = 5000;
const MAX_INPUT = 4096;
/** Shared layout: [0] inputs done, [1] length of the input being decoded; then the input bytes. */
const HEADER_INTS = 2;

interface Settings {
  count: number;
  seed: number;
  maxSeconds: number;
}

interface Report {
  total: number;
  ok: number;
  byCode: Record<string, number>;
  byKind: Record<string, { ok: number; rejected: number }>;
  uncaught: number;
  uncaughtExamples: { message: string; hex: string }[];
  hangs: number;
  hangExamples: string[];
  retimed: number;
  mismatches: number;
  mismatchExamples: string[];
  vendorOk: number;
  vendorRejected: number;
  slowestMs: number;
  seconds: number;
  stoppedByTime: boolean;
}

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a non-negative number`);
  return value;
}

/* ------------------------------------------------------------------ seeds */

/** Packets the captures do not contain: overloaded fields, RFC 3396 long options, a relay, many options. */
function syntheticSeeds(): Buffer[] {
  const base: DhcpPacket = {
    op: 1, htype: 1, hlen: 6, hops: 1, xid: 0x01020304, secs: 3, flags: 0x8000,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '10.88.0.1',
    chaddr: chaddrFromMac('02:00:00:00:00:01'), sname: '', file: '',
    options: new Map([
      [DhcpOption.MESSAGE_TYPE, Buffer.from([1])],
      [DhcpOption.CLIENT_SYSTEM_ARCH, Buffer.from([0, 7, 0, 9])],
      [DhcpOption.USER_CLASS, Buffer.alloc(600, 0x41)],
      [DhcpOption.VENDOR_SPECIFIC, Buffer.from([6, 1, 8, 8, 7, 0x80, 0, 1, 10, 0, 0, 1, 9, 5, 0x80, 0, 2, 0x4f, 0x4b, 71, 4, 0x80, 0, 0, 0, 255])],
    ]),
  };
  const long = encodeDhcp(base);
  const overloaded = Buffer.from(encodeDhcp({ ...base, options: new Map([[DhcpOption.MESSAGE_TYPE, Buffer.from([3])]]) }));
  // Hand-made overload 3: option 52 in options, more options in file and sname, one code split over all three.
  overloaded.set([53, 1, 3, 52, 1, 3, 60, 3, 0x50, 0x58, 0x45, 255], 240);
  overloaded.set([60, 6, 0x43, 0x6c, 0x69, 0x65, 0x6e, 0x74, 67, 4, 0x61, 0x2e, 0x65, 0x66, 255], 108);
  overloaded.set([12, 4, 0x68, 0x6f, 0x73, 0x74, 66, 1, 0x78, 255], 44);
  return [long, overloaded];
}

/* ----------------------------------------------------------------- worker */

type Kind = 'random' | 'dhcp-like' | 'mutated';

function nextInput(rng: Rng, seeds: Buffer[]): { kind: Kind; input: Buffer } {
  const r = rng.int(20);
  if (r < 5) return { kind: 'random', input: randomBytes(rng, rng.int(1501)) };
  if (r < 8) return { kind: 'dhcp-like', input: randomDhcpLike(rng, 1500) };
  return { kind: 'mutated', input: mutate(seeds, rng).input.subarray(0, MAX_INPUT) };
}

/** Option 43 as PXE sub-options and option 175 as TLVs: DecodeError is fine, anything else propagates. */
function checkVendor(p: DhcpPacket, report: Report): void {
  for (const [code, decode] of [
    [DhcpOption.VENDOR_SPECIFIC, decodePxeOptions],
    [DhcpOption.IPXE_ENCAP, (b: Buffer) => decodeTlv(b, DhcpOption.IPXE_ENCAP)],
  ] as const) {
    const block = p.options.get(code);
    if (block === undefined) continue;
    try {
      decode(block);
      report.vendorOk += 1;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      report.vendorRejected += 1;
    }
  }
}

/** decode(encode(p)) must give p back (minus option 52, which encode never writes). */
function roundTrips(p: DhcpPacket): boolean {
  const expected = { ...p, options: new Map([...p.options].filter(([code]) => code !== DhcpOption.OVERLOAD)) };
  return samePacket(decodeDhcp(encodeDhcp(p)), expected);
}

/** One input: returns the milliseconds the decode (and its checks) took. */
function runOne(input: Buffer, kind: Kind, report: Report): number {
  const started = performance.now();
  const tally = (report.byKind[kind] ??= { ok: 0, rejected: 0 });
  try {
    const p = decodeDhcp(input);
    report.ok += 1;
    tally.ok += 1;
    checkVendor(p, report);
    if (!roundTrips(p)) {
      report.mismatches += 1;
      if (report.mismatchExamples.length < 5) report.mismatchExamples.push(input.toString('hex'));
    }
  } catch (e) {
    if (e instanceof DecodeError) {
      report.byCode[e.code] = (report.byCode[e.code] ?? 0) + 1;
      tally.rejected += 1;
    } else {
      report.uncaught += 1;
      if (report.uncaughtExamples.length < 5) {
        report.uncaughtExamples.push({ message: String(e), hex: input.toString('hex') });
      }
    }
  }
  return performance.now() - started;
}

function workerMain(settings: Settings, shared: SharedArrayBuffer): void {
  const progress = new Int32Array(shared, 0, HEADER_INTS);
  const current = new Uint8Array(shared, HEADER_INTS * 4);
  const seeds = [...allFixturePackets().map((p) => p.payload), ...syntheticSeeds()];
  const rng = mulberry32(settings.seed);
  const report: Report = {
    total: 0, ok: 0, byCode: {}, byKind: {}, uncaught: 0, uncaughtExamples: [], hangs: 0, hangExamples: [],
    retimed: 0, mismatches: 0, mismatchExamples: [], vendorOk: 0, vendorRejected: 0, slowestMs: 0, seconds: 0,
    stoppedByTime: false,
  };
  const started = performance.now();
  const deadline = started + settings.maxSeconds * 1000;
  parentPort?.postMessage({ type: 'start', seeds: seeds.length });
  for (let i = 0; i < settings.count; i += 1) {
    const { kind, input } = nextInput(rng, seeds);
    current.set(input);
    Atomics.store(progress, 1, input.length);
    let ms = runOne(input, kind, report);
    if (ms > HANG_MS) {
      report.retimed += 1;
      const scratch: Report = { ...report, byCode: {}, byKind: {}, uncaughtExamples: [], mismatchExamples: [] };
      ms = Math.min(ms, runOne(input, kind, scratch));
      if (ms > HANG_MS) {
        report.hangs += 1;
        if (report.hangExamples.length < 5) report.hangExamples.push(input.toString('hex'));
      }
    }
    report.slowestMs = Math.max(report.slowestMs, ms);
    report.total += 1;
    Atomics.store(progress, 0, report.total);
    if (report.total % 100_000 === 0) {
      parentPort?.postMessage({ type: 'progress', done: report.total, seconds: (performance.now() - started) / 1000 });
      if (performance.now() > deadline) {
        report.stoppedByTime = true;
        break;
      }
    }
  }
  report.seconds = (performance.now() - started) / 1000;
  parentPort?.postMessage({ type: 'done', report });
}

/* ------------------------------------------------------------ main thread */

function saveRepro(name: string, bytes: Uint8Array): string {
  const dir = `${FIXTURES_DIR}dhcp/`;
  mkdirSync(dir, { recursive: true });
  const path = `${dir}${name}`;
  writeFileSync(path, bytes);
  return path;
}

function printReport(r: Report, settings: Settings): number {
  const line = (label: string, value: string | number): void => console.log(`${label.padEnd(28)}${value}`);
  line('total', r.total);
  line('decoded ok', r.ok);
  line('DecodeError', Object.values(r.byCode).reduce((a, b) => a + b, 0));
  for (const [code, n] of Object.entries(r.byCode).sort((a, b) => b[1] - a[1])) line(`  ${code}`, n);
  for (const [kind, t] of Object.entries(r.byKind)) line(`  ${kind} inputs`, `${t.ok + t.rejected} (decoded ${t.ok}, rejected ${t.rejected})`);
  line('uncaught', r.uncaught);
  line(`hangs (> ${HANG_MS} ms twice)`, `${r.hangs} (slow first timings re-timed: ${r.retimed})`);
  line('round-trip mismatches', r.mismatches);
  line('option 43/175 blocks', `decoded ${r.vendorOk}, DecodeError ${r.vendorRejected}`);
  line('slowest decode', `${r.slowestMs.toFixed(3)} ms`);
  line('elapsed', `${r.seconds.toFixed(1)} s`);
  line('inputs/s', Math.round(r.total / Math.max(r.seconds, 1e-9)));
  r.uncaughtExamples.forEach((x, i) => console.log(`uncaught ${x.message}: saved ${saveRepro(`uncaught-${settings.seed}-${i}.bin`, Buffer.from(x.hex, 'hex'))}`));
  r.hangExamples.forEach((hex, i) => console.log(`hang: saved ${saveRepro(`hang-${settings.seed}-${i}.bin`, Buffer.from(hex, 'hex'))}`));
  r.mismatchExamples.forEach((hex, i) => console.log(`round-trip mismatch: saved ${saveRepro(`mismatch-${settings.seed}-${i}.bin`, Buffer.from(hex, 'hex'))}`));
  if (r.uncaught > 0 || r.hangs > 0 || r.mismatches > 0) return 1;
  if (r.stoppedByTime) {
    console.log(`stopped by --max-seconds ${settings.maxSeconds} before ${settings.count} inputs`);
    return 2;
  }
  return 0;
}

function main(): void {
  const settings: Settings = { count: arg('count', 1_000_000), seed: arg('seed', 20241121), maxSeconds: arg('max-seconds', 300) };
  const shared = new SharedArrayBuffer(HEADER_INTS * 4 + MAX_INPUT);
  const progress = new Int32Array(shared, 0, HEADER_INTS);
  const worker = new Worker(new URL(import.meta.url), { workerData: { settings, shared } });
  let lastDone = -1;
  let lastChange = Date.now();
  let finished = false;
  const watchdog = setInterval(() => {
    const done = Atomics.load(progress, 0);
    if (done !== lastDone) {
      lastDone = done;
      lastChange = Date.now();
      return;
    }
    if (Date.now() - lastChange < WATCHDOG_MS) return;
    clearInterval(watchdog);
    finished = true;
    const length = Atomics.load(progress, 1);
    const input = new Uint8Array(shared, HEADER_INTS * 4, length).slice();
    void worker.terminate();
    console.log(`HANG: input ${done + 1} made no progress for ${WATCHDOG_MS / 1000} s; saved ${saveRepro(`hang-${settings.seed}-watchdog.bin`, input)}`);
    process.exitCode = 1;
  }, 250);
  worker.on('message', (m: { type: string; seeds?: number; done?: number; seconds?: number; report?: Report }) => {
    if (m.type === 'start') console.log(`dhcp-fuzz: seed ${settings.seed}, ${settings.count} inputs, ${m.seeds} seed packets, limit ${settings.maxSeconds} s`);
    if (m.type === 'progress') console.log(`  ${m.done} inputs, ${m.seconds?.toFixed(1)} s`);
    if (m.type === 'done' && m.report) {
      finished = true;
      clearInterval(watchdog);
      process.exitCode = printReport(m.report, settings);
    }
  });
  worker.on('error', (e) => {
    clearInterval(watchdog);
    console.log(`worker died: ${String(e)}`);
    process.exitCode = 1;
  });
  worker.on('exit', () => {
    clearInterval(watchdog);
    if (!finished) process.exitCode = 1;
  });
}

if (isMainThread) main();
else {
  const { settings, shared } = workerData as { settings: Settings; shared: SharedArrayBuffer };
  workerMain(settings, shared);
}
