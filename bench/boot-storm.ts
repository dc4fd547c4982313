/**
 * A boot storm end to end: 100 and 500 simulated UEFI machines (bench/boot-storm-client.ts: distinct
 * MACs and addresses, DISCOVER, 4011, a 1 MiB boot program by TFTP at windowsize 4, iPXE's DISCOVER,
 * the script and a 30 MiB kernel + initrd by HTTP) against Bootgate and against dnsmasq (proxy + TFTP)
 * with nginx serving the same files, in the same run, alternating which goes first. Prints the time
 * until the last machine has everything, the per-machine p50/p99, each server's CPU seconds (threads and
 * child processes included: nginx's worker does its sending) against the generator's own, so a run says
 * which side set its pace, and Bootgate's ratio to the anchor (target: at most 0.8x on the time to the
 * last machine and on p99).
 *
 *   npm run build && node dist/bench/boot-storm.js [--machines 100,500] [--reps 2] [--spread-ms 1000]
 *   BENCH_PIN=0: no CPU pinning; BENCH_SENDFILE=0: Bootgate writes bodies through Node (http.sendfile off);
 *   BENCH_CPU_PROF=1 / BENCH_GEN_PROF=1: V8 profiles of Bootgate / of the generator; BENCH_PERF=1: perf
 *   record of Bootgate; KEEP=1: keep the work directory (logs).
 *
 * Network safety: a server and a client namespace joined by one veth pair that never exists in the
 * root namespace, 10.89.0.0/16 only; both are removed at the end, whatever happens; only processes this
 * script started are stopped, by PID. Every run is bounded by the generator's deadline.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { MachineResult } from './boot-storm-client.js';
import { median, percentile } from './lib/dhcp-stats.js';
import { STORM_PREFIX, STORM_SERVER, stormAddress } from './lib/storm-machines.js';

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '100,500' },
    reps: { type: 'string', default: '2' },
    'spread-ms': { type: 'string', default: '1000' },
    'kernel-mib': { type: 'string', default: '25' },
    'initrd-mib': { type: 'string', default: '5' },
    servers: { type: 'string', default: 'bootgate,dnsmasq+nginx' },
  },
});
const sizes = values.machines.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0 && n <= 2000);
const reps = Math.max(1, Math.min(5, Number(values.reps) || 1));
const spreadMs = Number(values['spread-ms']);
const HTTP_PORT = 8080;
/**
 * BENCH_PIN=1 (the default with 2+ CPUs): the generator on CPU 0, the server (all its threads and
 * processes) on CPU 1, as if each had its own machine; then a server's CPU per boot decides its speed
 * instead of how much CPU it leaves the generator. BENCH_PIN=0 lets them share every CPU.
 */
const PIN = (process.env.BENCH_PIN ?? (cpus().length >= 2 ? '1' : '0')) === '1';
const GEN_CPU = PIN ? ['taskset', '-c', '0'] : [];
const SRV_CPU = PIN ? ['taskset', '-c', '1'] : [];
const ALL_SERVERS = ['bootgate', 'dnsmasq+nginx'] as const;
type Server = (typeof ALL_SERVERS)[number];
const SERVERS = ALL_SERVERS.filter((s) => values.servers.split(',').includes(s));

if (process.getuid?.() !== 0) {
  console.error('run as root: the bench creates network namespaces');
  process.exit(2);
}
for (const program of ['ip', 'dnsmasq', 'nginx']) {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
  } catch {
    console.error(`missing program: ${program} (Debian packages iproute2, dnsmasq, nginx)`);
    process.exit(2);
  }
}
const repo = resolve('.');
const cli = join(repo, 'dist/daemon/bootgate.js');
const generator = join(repo, 'dist/bench/boot-storm-client.js');
if (!existsSync(cli) || !existsSync(generator)) {
  console.error('build first: npm run build');
  process.exit(2);
}

const tag = `bgst${process.pid % 100000}`;
const NSS = `${tag}s`;
const NSC = `${tag}c`;
const VS = `${tag}a`;
const VC = `${tag}b`;
const work = mkdtempSync(join(tmpdir(), 'bg-bench-storm-'));
const root = join(work, 'root');
const started = new Set<ChildProcess>();

function sh(argv: string[], input?: string): string {
  return execFileSync(argv[0] ?? 'true', argv.slice(1), { encoding: 'utf8', input, timeout: 60_000 });
}

function teardown(): void {
  for (const p of started) {
    if (p.exitCode === null && p.pid !== undefined) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
  for (const ns of [NSS, NSC]) {
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* not there */ }
  }
}
process.on('exit', teardown);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

function setUp(maxMachines: number): void {
  teardown();
  sh(['ip', 'netns', 'add', NSS]);
  sh(['ip', 'netns', 'add', NSC]);
  sh(['ip', '-n', NSS, 'link', 'add', VS, 'type', 'veth', 'peer', 'name', VC, 'netns', NSC]);
  for (const ns of [NSS, NSC]) {
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    // No IPv6 chatter on the link. (Neighbour table limits are the host's: 500 entries fit the defaults.)
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  sh(['ip', '-n', NSS, 'addr', 'add', `${STORM_SERVER}/${STORM_PREFIX}`, 'dev', VS]);
  const batch: string[] = [];
  for (let i = 0; i < maxMachines; i++) batch.push(`addr add ${stormAddress(i)}/${STORM_PREFIX} dev ${VC}`);
  sh(['ip', '-n', NSC, '-batch', '-'], `${batch.join('\n')}\n`);
  sh(['ip', '-n', NSS, 'link', 'set', VS, 'up']);
  sh(['ip', '-n', NSC, 'link', 'set', VC, 'up']);
  // 255.255.255.255 leaves by the default route: the veth.
  sh(['ip', '-n', NSC, 'route', 'add', 'default', 'dev', VC]);
}

function makeRoot(): { nbpSha: string; httpBytes: number } {
  mkdirSync(root, { recursive: true });
  const nbp = randomBytes(1 << 20);
  writeFileSync(join(root, 'ipxe.efi'), nbp);
  const kernel = Number(values['kernel-mib']) << 20;
  const initrd = Number(values['initrd-mib']) << 20;
  writeFileSync(join(root, 'vmlinuz'), randomBytes(kernel));
  writeFileSync(join(root, 'initrd.img'), randomBytes(initrd));
  writeFileSync(join(root, 'boot.ipxe'), script(`http://${STORM_SERVER}:${HTTP_PORT}`));
  const nbpSha = execFileSync('sha256sum', [join(root, 'ipxe.efi')], { encoding: 'utf8' }).split(' ')[0] ?? '';
  return { nbpSha, httpBytes: kernel + initrd };
}

function script(base: string): string {
  return ['#!ipxe', `kernel ${base}/vmlinuz initrd=initrd.img`, `initrd ${base}/initrd.img`, 'boot', ''].join('\n');
}

function startIn(ns: string, name: string, argv: string[]): ChildProcess {
  // The log file is the process's own stdout and stderr: nothing is lost when it is killed.
  const log = openSync(join(work, `${name}.log`), 'a');
  const p = spawn('ip', ['netns', 'exec', ns, ...SRV_CPU, ...argv], { stdio: ['ignore', log, log] });
  closeSync(log);
  started.add(p);
  return p;
}

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.pid === undefined) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  process.kill(p.pid, 'SIGTERM');
  const killer = setTimeout(() => { if (p.pid !== undefined) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
  await exited;
  clearTimeout(killer);
  started.delete(p);
}

/** Resolves when every port listens in the server namespace (polled: servers log their readiness differently). */
async function listening(udp: number[], tcp: number[], proc: ChildProcess, name: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`${name} exited: ${readFileSync(join(work, `${name}.log`), 'utf8').slice(-2000)}`);
    const u = sh(['ip', 'netns', 'exec', NSS, 'ss', '-Hlun']);
    const t = sh(['ip', 'netns', 'exec', NSS, 'ss', '-Hltn']);
    if (udp.every((p) => new RegExp(`:${p}\\s`).test(u)) && tcp.every((p) => new RegExp(`:${p}\\s`).test(t))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not listen within 60 s`);
}

/** A process and its descendants (nginx's master forks the worker that serves). */
function tree(pid: number): number[] {
  const out = [pid];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) {
        if (c !== '') out.push(...tree(Number(c)));
      }
    }
  } catch { /* gone */ }
  return out;
}

/**
 * user and system CPU seconds of a process, its threads and its live children (from /proc; the netns exec
 * wrapper execs): without the children, nginx's worker, which does all the sending, would not count.
 */
function cpuTimes(p: ChildProcess): { user: number; sys: number } {
  if (p.pid === undefined) return { user: NaN, sys: NaN };
  let user = 0;
  let sys = 0;
  for (const pid of tree(p.pid)) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      user += Number(f[11]) / 100;
      sys += Number(f[12]) / 100;
    } catch { /* gone */ }
  }
  return { user, sys };
}
/** Each thread's name and user+system CPU seconds since start, busiest first: which thread is the limit. */
function threadTimes(p: ChildProcess): string {
  try {
    const rows = tree(p.pid ?? 0).flatMap((pid) => readdirSync(`/proc/${pid}/task`).map((tid) => ({ pid, tid }))).map(({ pid, tid }) => {
      const raw = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
      const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      return { name, user: Number(f[11]) / 100, sys: Number(f[12]) / 100 };
    }).filter((r) => r.user + r.sys >= 0.05).sort((a, b) => b.user + b.sys - a.user - a.sys);
    return rows.map((r) => `${r.name} ${r.user.toFixed(1)}u+${r.sys.toFixed(1)}s`).join(', ');
  } catch {
    return '?';
  }
}
function cpuSeconds(p: ChildProcess): number {
  const t = cpuTimes(p);
  return t.user + t.sys;
}

async function startServer(server: Server): Promise<ChildProcess[]> {
  if (server === 'bootgate') {
    const cfg = {
      root,
      server: { interfaces: [VS] },
      // BENCH_SENDFILE=0: bodies written through Node (the memory cache) instead of sendfile(2), to compare.
      http: { port: HTTP_PORT, sendfile: process.env.BENCH_SENDFILE !== '0' },
      store: { path: join(work, `bootgate-${Date.now()}.db`) },
      // Every machine of the storm at once, as dnsmasq's --tftp-max below.
      tftp: { sessionsMax: 4000 },
      ipxe: { scriptTransport: 'http' },
      policy: { unknown: { action: 'boot', profile: 'storm' } },
      profiles: {
        storm: {
          bootFiles: { bios: 'ipxe.efi', 'efi-x64': 'ipxe.efi' },
          ipxeScript: script('{{http}}'),
        },
      },
    };
    const path = join(work, 'bootgate.yaml');
    writeFileSync(path, stringify(cfg));
    // BENCH_CPU_PROF=1: V8 profiles of every thread in bench/results/storm-cpuprof (bench/dhcp-cpuprofile.ts reads them).
    const prof = process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${resolve('bench/results/storm-cpuprof')}`] : [];
    // BENCH_PERF=1: `perf record` of the daemon (JIT symbols from --perf-basic-prof) in bench/results/storm-perf.data.
    const perf = process.env.BENCH_PERF === '1' ? ['perf', 'record', '-F', '1999', '-g', '-o', resolve('bench/results/storm-perf.data'), '--'] : [];
    const perfMap = perf.length > 0 ? ['--perf-basic-prof'] : [];
    const p = startIn(NSS, 'bootgate', [...perf, process.execPath, ...prof, ...perfMap, cli, 'serve', '--config', path]);
    await listening([67, 4011, 69], [HTTP_PORT], p, 'bootgate');
    return [p];
  }
  const nginxConf = join(work, 'nginx.conf');
  writeFileSync(nginxConf, [
    'user root root;', 'worker_processes 1;', `pid ${join(work, 'nginx.pid')};`, `error_log ${join(work, 'nginx-error.log')} warn;`,
    'events { worker_connections 4096; }',
    'http {', '  access_log off;', '  sendfile on; tcp_nopush on; tcp_nodelay on;',
    `  client_body_temp_path ${work}/nb; proxy_temp_path ${work}/np; fastcgi_temp_path ${work}/nf; uwsgi_temp_path ${work}/nu; scgi_temp_path ${work}/ns;`,
    '  default_type application/octet-stream;', `  server { listen ${STORM_SERVER}:${HTTP_PORT}; root ${root}; }`, '}', '',
  ].join('\n'));
  const dnsmasq = startIn(NSS, 'dnsmasq', [
    'dnsmasq', '--conf-file=/dev/null', '--keep-in-foreground', '--log-facility=-', '--port=0',
    `--interface=${VS}`, '--bind-interfaces', '--pid-file=', '--user=root',
    `--dhcp-range=10.89.0.0,proxy,255.255.0.0`, '--enable-tftp', `--tftp-root=${root}`,
    // dnsmasq's default of 50 concurrent TFTP transfers would refuse most of a storm; an admin raises it.
    '--tftp-max=4000', '--dhcp-userclass=set:ipxe,iPXE',
    '--dhcp-match=set:efi64,option:client-arch,7', '--dhcp-match=set:efi64,option:client-arch,9',
    `--dhcp-boot=tag:ipxe,http://${STORM_SERVER}:${HTTP_PORT}/boot.ipxe,,${STORM_SERVER}`,
    `--pxe-service=tag:!ipxe,X86-64_EFI,Boot storm,ipxe.efi,${STORM_SERVER}`,
  ]);
  const nginx = startIn(NSS, 'nginx', ['nginx', '-c', nginxConf, '-e', join(work, 'nginx-error.log'), '-g', 'daemon off;']);
  await listening([67, 4011, 69], [], dnsmasq, 'dnsmasq');
  await listening([], [HTTP_PORT], nginx, 'nginx');
  return [dnsmasq, nginx];
}

interface RunSummary {
  server: Server;
  machines: number;
  ok: number;
  errors: string[];
  lastMs: number;
  p50Ms: number;
  p99Ms: number;
  phases: Record<string, number>;
  cpuS: number;
  /** The generator's own CPU seconds and wall seconds. */
  genCpuS: number;
  genWallS: number;
  nbpWindow: number;
}

/** Nearest-rank percentile of sorted values; NaN when there are none. */
function pct(sorted: number[], q: number): number {
  return percentile(sorted, q) ?? NaN;
}

async function runOnce(server: Server, machines: number, expect: { nbpSha: string; httpBytes: number }): Promise<RunSummary> {
  const procs = await startServer(server);
  const cpu0 = procs.reduce((s, p) => s + cpuSeconds(p), 0);
  let cpu1: number;
  let out = '';
  try {
    // BENCH_GEN_PROF=1: V8 profiles of the generator in bench/results/storm-gen-cpuprof (is it the limit, and on what?).
    const genProf = process.env.BENCH_GEN_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${resolve('bench/results/storm-gen-cpuprof')}`, `--cpu-prof-name=${server}-${machines}-${Date.now()}.cpuprofile`] : [];
    const gen = spawn('ip', ['netns', 'exec', NSC, ...GEN_CPU, process.execPath, ...genProf, generator, '--machines', String(machines),
      '--server', STORM_SERVER, '--root', root, '--spread-ms', String(spreadMs), '--deadline-ms', '600000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.add(gen);
    gen.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    await new Promise<void>((r) => gen.once('exit', () => r()));
    started.delete(gen);
  } finally {
    cpu1 = procs.reduce((s, p) => s + cpuSeconds(p), 0);
    for (const p of procs) {
      const t = cpuTimes(p);
      console.log(`  ${server} pid ${p.pid}: user ${t.user.toFixed(1)} s, system ${t.sys.toFixed(1)} s (since start); threads: ${threadTimes(p)}`);
    }
    for (const p of procs) await stopProc(p);
  }
  const doc = JSON.parse(out || '{}') as { machines?: MachineResult[]; error?: string; cpuS?: number; wallS?: number };
  if (!doc.machines) throw new Error(`generator: ${doc.error ?? 'no output'}`);
  const errors: string[] = [];
  const good = doc.machines.filter((m) => {
    if (!m.ok) errors.push(`#${m.index}: ${m.error ?? '?'}`);
    else if (m.nbpSha256 !== expect.nbpSha) errors.push(`#${m.index}: boot program checksum differs`);
    else if (m.httpBytes !== expect.httpBytes) errors.push(`#${m.index}: ${m.httpBytes} HTTP bytes, expected ${expect.httpBytes}`);
    else return true;
    return false;
  });
  const durations = good.map((m) => (m.done ?? 0) - m.start).sort((a, b) => a - b);
  const first = Math.min(...doc.machines.map((m) => m.start));
  // The slowest machine's milestones (ms from its start), to tell a straggler's stuck phase from a slow storm.
  const slowest = [...good].sort((a, b) => ((b.done ?? 0) - b.start) - ((a.done ?? 0) - a.start))[0];
  if (slowest) {
    const at = (t?: number): string => (t === undefined ? '?' : ((t - slowest.start) / 1000).toFixed(2));
    console.log(`  slowest #${slowest.index}: offer ${at(slowest.offer)}, 4011 ${at(slowest.bootAck)}, tftp ${at(slowest.nbp)}, ipxe-dhcp ${at(slowest.ipxeOffer)}, script ${at(slowest.script)}, done ${at(slowest.done)} s`);
  }
  const phase = (a: keyof MachineResult, b: keyof MachineResult): number => {
    const xs = good.map((m) => Number(m[b]) - Number(m[a])).sort((x, y) => x - y);
    return pct(xs, 0.5);
  };
  return {
    server, machines, ok: good.length, errors,
    lastMs: good.length === doc.machines.length ? Math.max(...good.map((m) => m.done ?? 0)) - first : NaN,
    p50Ms: pct(durations, 0.5), p99Ms: pct(durations, 0.99),
    phases: { dhcp: phase('start', 'offer'), '4011': phase('offer', 'bootAck'), tftp: phase('bootAck', 'nbp'), 'ipxe-dhcp': phase('nbp', 'ipxeOffer'), script: phase('ipxeOffer', 'script'), 'kernel+initrd': phase('script', 'done') },
    cpuS: cpu1 - cpu0,
    genCpuS: doc.cpuS ?? NaN,
    genWallS: doc.wallS ?? NaN,
    nbpWindow: good[0]?.nbpWindow ?? NaN,
  };
}

const t0 = Date.now();
const load0 = loadavg();
const expect = makeRoot();
setUp(Math.max(...sizes));
const runs: RunSummary[] = [];
try {
  for (let rep = 1; rep <= reps; rep++) {
    for (const n of sizes) {
      for (const server of rep % 2 === 1 ? SERVERS : [...SERVERS].reverse()) {
        const r = await runOnce(server, n, expect);
        runs.push(r);
        console.log(`rep ${rep} ${n} machines ${server}: ${r.ok}/${n} ok, last at ${(r.lastMs / 1000).toFixed(2)} s, p99 ${(r.p99Ms / 1000).toFixed(2)} s, server CPU ${r.cpuS.toFixed(1)} s, generator CPU ${r.genCpuS.toFixed(1)} s of ${r.genWallS.toFixed(1)} s${r.errors.length ? `; ${r.errors.slice(0, 3).join('; ')}` : ''}`);
      }
    }
  }
} finally {
  teardown();
}

const lines: string[] = [];
const say = (s = ''): void => { lines.push(s); console.log(s); };
const s = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a');
say('# Boot storm: simulated UEFI machines, DISCOVER to kernel + initrd');
say();
say(`${new Date(t0).toISOString()}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}. Each machine: 1 MiB boot program by TFTP (blksize 1468, windowsize 4), then ${values['kernel-mib']} + ${values['initrd-mib']} MiB by HTTP; DISCOVERs spread over ${spreadMs} ms; ${PIN ? 'generator on CPU 0, server on CPU 1' : 'unpinned'}; ${reps} run(s) per cell, medians; times in seconds.`);
say();
const phaseNames = ['dhcp', '4011', 'tftp', 'ipxe-dhcp', 'script', 'kernel+initrd'];
say(`| machines | server | ok | last machine done | p50 | p99 | server CPU s | generator CPU s | TFTP window | ${phaseNames.map((p) => `${p} (p50)`).join(' | ')} |`);
say(`|---:|---|---:|---:|---:|---:|---:|---:|---:|${phaseNames.map(() => '---:').join('|')}|`);
const verdicts: string[] = [];
for (const n of sizes) {
  const byServer = new Map<Server, { last: number; p99: number }>();
  for (const server of SERVERS) {
    const rs = runs.filter((r) => r.server === server && r.machines === n);
    const last = median(rs.map((r) => r.lastMs));
    const p99 = median(rs.map((r) => r.p99Ms));
    byServer.set(server, { last, p99 });
    say(`| ${n} | ${server} | ${rs.map((r) => r.ok).join(', ')} | ${s(last)} | ${s(median(rs.map((r) => r.p50Ms)))} | ${s(p99)} | ${median(rs.map((r) => r.cpuS)).toFixed(1)} | ${median(rs.map((r) => r.genCpuS)).toFixed(1)} | ${rs[0]?.nbpWindow ?? '?'} | ${phaseNames.map((p) => s(median(rs.map((r) => r.phases[p] ?? NaN)))).join(' | ')} |`);
  }
  const b = byServer.get('bootgate');
  const a = byServer.get('dnsmasq+nginx');
  if (b && a) {
    const rl = b.last / a.last;
    const rp = b.p99 / a.p99;
    verdicts.push(`- ${n} machines: last machine ${rl.toFixed(2)}x, p99 ${rp.toFixed(2)}x dnsmasq+nginx: ${rl <= 0.8 && rp <= 0.8 ? 'MET' : 'NOT MET'} (target at most 0.80x)`);
  }
}
say();
for (const v of verdicts) say(v);
const failures = runs.flatMap((r) => r.errors.map((e) => `${r.server} ${r.machines}: ${e}`));
if (failures.length > 0) {
  say();
  say(`${failures.length} machine(s) failed; first: ${failures.slice(0, 5).join(' | ')}`);
}
const resultsDir = resolve('bench/results');
mkdirSync(resultsDir, { recursive: true });
const report = join(resultsDir, `storm-${new Date(t0).toISOString().replace(/[:T]/g, '-').slice(0, 19)}.md`);
writeFileSync(report, `${lines.join('\n')}\n`);
console.log(`report: ${report}`);
if (process.env.KEEP !== '1') rmSync(work, { recursive: true, force: true });
else console.log(`work directory kept: ${work}`);
process.exitCode = failures.length === 0 ? 0 : 1;
