/**
 * Turns bench/tftp-bench.sh's results (TSV: scenario, case, server, value, note) into the markdown
 * table with the ratios against the targets. A value is MB/s, or `fail:...` when a download
 * failed its sha256 check or timed out (then `<x` is an upper bound on that server's rate).
 */
import { readFileSync } from 'node:fs';

interface Row { scenario: string; kase: string; server: string; value: string; note: string }

const [file, started, machine] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: tftp-report RESULTS.tsv [START] [MACHINE]\n');
  process.exit(2);
}
const rows: Row[] = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => {
  const [scenario = '', kase = '', server = '', value = '', note = ''] = l.split('\t');
  return { scenario, kase, server, value, note };
});

/** MB/s as a number; a failed run counts as its upper bound (`fail:<x` or `fail:n/m:x`). */
function rate(v: string | undefined): { mbps: number; failed: boolean } | null {
  if (v === undefined || v === '' || v === 'n/a') return null;
  if (!v.startsWith('fail')) return { mbps: Number(v), failed: false };
  const m = /([0-9.]+)$/.exec(v);
  return m ? { mbps: Number(m[1]), failed: true } : null;
}

function cell(v: string | undefined): string {
  if (v === undefined) return '-';
  if (v.startsWith('fail:<')) return `timeout/failed (< ${v.slice(6)})`;
  if (v.startsWith('fail:')) return `${v.split(':')[2] ?? '?'} (failed: ${v.split(':')[1] ?? '?'})`;
  return v;
}

/** Bootgate's rate over an anchor's, or null; when the anchor failed its rate is an upper bound, so the ratio a lower one. */
function quotient(a: string | undefined, b: string | undefined): { r: number; bound: string } | null {
  const x = rate(a);
  const y = rate(b);
  if (x === null || y === null || y.mbps === 0 || x.failed) return null;
  return { r: x.mbps / y.mbps, bound: y.failed ? '>= ' : '' };
}

function ratio(a: string | undefined, b: string | undefined, target: number): string {
  const q = quotient(a, b);
  if (q === null) return 'n/a';
  return `${q.bound}${q.r.toFixed(2)}x (target ${target}x: ${q.r >= target ? 'met' : 'NOT met'})`;
}

/** A ratio with no target (scenario 6). */
function plain(a: string | undefined, b: string | undefined): string {
  const q = quotient(a, b);
  return q === null ? 'n/a' : `${q.bound}${q.r.toFixed(2)}x`;
}

const get = (s: string, k: string, server: string) => rows.find((r) => r.scenario === s && r.kase === k && r.server === server);
const cases = (s: string) => [...new Set(rows.filter((r) => r.scenario === s).map((r) => r.kase))];

const out: string[] = [];
out.push(`### TFTP benchmark, ${started ?? new Date().toISOString()}`);
out.push('');
out.push(`Machine: ${machine ?? 'unknown'}. Veth pair between two network namespaces; client atftp 0.8.0 (blksize 1428,`);
out.push('windowsize 16) unless stated (scenario 6: tftp-hpa\'s client, 512-byte blocks; curl, blksize 1428; scenario 7: lock-step, no windowsize), every download');
out.push('sha256-checked. MB/s = 10^6 bytes per second.');
out.push('');
out.push('| scenario | case | Bootgate | atftpd | tftpd-hpa | dnsmasq | ratio | ratio |');
out.push('|---|---|---|---|---|---|---|---|');
for (const k of cases('1')) {
  const v = (srv: string) => get('1', k, srv)?.value;
  out.push(`| 1 single stream | ${k} | ${cell(v('bootgate'))} | ${cell(v('atftpd'))} | ${cell(v('hpa'))} | ${cell(v('dnsmasq'))} | vs atftpd ${ratio(v('bootgate'), v('atftpd'), 1.2)} | vs hpa ${ratio(v('bootgate'), v('hpa'), 4)} |`);
}
for (const k of cases('2')) {
  const v = (srv: string) => get('2', k, srv)?.value;
  out.push(`| 2 concurrent (aggregate) | ${k} | ${cell(v('bootgate'))} | ${cell(v('atftpd'))} | ${cell(v('hpa'))} | ${cell(v('dnsmasq'))} | vs atftpd ${ratio(v('bootgate'), v('atftpd'), 1.1)} | |`);
}
for (const k of cases('3')) {
  const v = (srv: string) => get('3', k, srv)?.value;
  out.push(`| 3 random loss | ${k} | ${cell(v('bootgate'))} | ${cell(v('atftpd'))} | - | - | vs atftpd ${ratio(v('bootgate'), v('atftpd'), 3)} | |`);
}
const s4 = cases('4');
const ref = s4.find((k) => k.startsWith('1428'));
const big = s4.find((k) => k.startsWith('8192'));
if (big !== undefined) {
  out.push(`| 4 blksize 8192 / window 16 | ${big} | ${cell(get('4', big, 'bootgate')?.value)} | ${cell(get('4', big, 'atftpd')?.value)} | - | - | vs own 1428/16 (${cell(ref ? get('4', ref, 'bootgate')?.value : undefined)}) ${ratio(get('4', big, 'bootgate')?.value, ref ? get('4', ref, 'bootgate')?.value : undefined, 0.5)} | |`);
}
for (const k of cases('6')) {
  // Lock-step clients (no windowsize): every server waits for each ACK, so these show per-packet latency.
  const v = (srv: string) => get('6', k, srv)?.value;
  out.push(`| 6 other clients | ${k} | ${cell(v('bootgate'))} | ${cell(v('atftpd'))} | ${cell(v('hpa'))} | ${cell(v('dnsmasq'))} | vs atftpd ${plain(v('bootgate'), v('atftpd'))} | vs hpa ${plain(v('bootgate'), v('hpa'))} |`);
}
for (const k of cases('7')) {
  // Lock-step clients without windowsize (GRUB, PXELINUX, iPXE, U-Boot, shim): median of the rounds.
  const v = (srv: string) => get('7', k, srv)?.value;
  const nosync = v('bootgate-nosync');
  const own = nosync === undefined ? cell(v('bootgate')) : `${cell(v('bootgate'))} (event-loop path: ${cell(nosync)})`;
  out.push(`| 7 lock-step (median) | ${k} | ${own} | ${cell(v('atftpd'))} | ${cell(v('hpa'))} | - | vs atftpd ${ratio(v('bootgate'), v('atftpd'), 1.2)} | vs hpa ${ratio(v('bootgate'), v('hpa'), 1.2)} |`);
}
for (const k of cases('5')) {
  const r = get('5', k, 'bootgate');
  const above = Number(/above: (-?\d+)/.exec(r?.note ?? '')?.[1] ?? NaN);
  const verdict = Number.isFinite(above) ? `target <= 150 MB above: ${above * 1.048576 <= 150 ? 'met' : 'NOT met'}` : '';
  out.push(`| 5 peak RSS | ${k} | ${cell(r?.value)} MB/s aggregate; ${r?.note ?? ''} | - | - | - | ${verdict} | |`);
}
const runs = rows.filter((r) => r.scenario === '7' && r.note !== '');
if (runs.length > 0) {
  out.push('');
  out.push('Scenario 7 runs (seconds per round, servers taking turns within each round):');
  out.push('');
  for (const r of runs) out.push(`- ${r.kase}, ${r.server}: ${r.note.replace(/^runs \(s\): */, '')}`);
}
process.stdout.write(out.join('\n') + '\n');
