/**
 * Where the daemon's time went during the DHCP benchmark: reads V8 .cpuprofile files written by
 * `node --cpu-prof` (BENCH_CPU_PROF=1 bench/dhcp-bench.sh) and prints self time by file and the
 * top functions. No flame graph needed to tell "the codec" from "the logger" from "sqlite".
 *
 *   node dist/bench/dhcp-cpuprofile.js [--skip-seconds S] bench/results/dhcp-<date>/cpuprof/*.cpuprofile
 *
 * --skip-seconds leaves out each profile's first S seconds (start-up and warm-up), so the summary is
 * the measured load alone.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

function isProfile(v: unknown): v is CpuProfile {
  const p = v as Partial<CpuProfile> | null;
  return p !== null && typeof p === 'object' && Array.isArray(p.nodes) && Array.isArray(p.samples) && Array.isArray(p.timeDeltas);
}

/** A short place name: project-relative path, a package name, or V8's pseudo-frames like (garbage collector). */
function place(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg?.[1]) return `npm:${pkg[1]}`;
  if (path.startsWith('node:')) return path;
  return relative(process.cwd(), path);
}

function addTo(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

interface Tally { byPlace: Map<string, number>; byFunction: Map<string, number>; total: number }

function tallyProfile(file: string, t: Tally, skipUs: number): void {
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isProfile(raw)) throw new Error('not a V8 .cpuprofile');
  const byId = new Map(raw.nodes.map((n) => [n.id, n]));
  let clock = 0;
  raw.samples.forEach((id, i) => {
    // timeDeltas[i] is the time before sample i; attribute it to that sample's (self) frame.
    const us = raw.timeDeltas[i] ?? 0;
    clock += us;
    if (clock < skipUs) return;
    const node = byId.get(id);
    if (!node || us <= 0) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = place(url, functionName);
    t.total += us;
    addTo(t.byPlace, where, us);
    addTo(t.byFunction, `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`, us);
  });
}

function report(label: string, { byPlace, byFunction, total }: Tally, top: number): string[] {
  const pct = (us: number): string => `${((100 * us) / (total || 1)).toFixed(1).padStart(5)}%`;
  const msText = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const busy = total - (byPlace.get('(idle)') ?? 0);
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `${label}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (not idle)`,
    'self time by file:',
    ...sorted(byPlace).map(([k, v]) => `  ${msText(v)} ${pct(v)}  ${k}`),
    `top ${top} functions by self time:`,
    ...sorted(byFunction).map(([k, v]) => `  ${msText(v)} ${pct(v)}  ${k}`),
  ];
}

const { values, positionals: files } = parseArgs({ options: { 'skip-seconds': { type: 'string', default: '0' } }, allowPositionals: true });
const skipSeconds = Number(values['skip-seconds']);
if (!Number.isFinite(skipSeconds) || skipSeconds < 0) throw new Error('--skip-seconds: expected a number >= 0');
if (files.length === 0) {
  process.stderr.write('usage: dhcp-cpuprofile.js [--skip-seconds S] <file.cpuprofile>...\n');
  process.exitCode = 1;
}
// One summary over all profiles given (the bench restarts the daemon at every step).
const tally: Tally = { byPlace: new Map(), byFunction: new Map(), total: 0 };
let read = 0;
for (const f of files) {
  try {
    tallyProfile(f, tally, skipSeconds * 1e6);
    read++;
  } catch (err) {
    process.stderr.write(`${f}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
if (read > 0) process.stdout.write(report(`${read} profile(s)`, tally, 20).join('\n') + '\n');
