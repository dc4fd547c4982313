/**
 * Real firmware, power-on to the lab's Linux marker: Bootgate against a dnsmasq proxy + nginx stand-in
 * serving the same boot root, in the same run, for SeaBIOS (its NIC ROM is iPXE) and OVMF (PXE loads
 * ipxe.efi by TFTP, which then asks again as iPXE), with the kernel and initrd by TFTP and by HTTP.
 * Runs alternate between the two appliances so a machine getting busier hurts both alike.
 *
 * A packet capture on the lab's bridge says where the seconds go, per boot:
 *   firmware   power-on to the firmware's first DHCP DISCOVER (the same code for both appliances)
 *   pxe+nbp    that DISCOVER to iPXE's own DISCOVER (OVMF: proxy offer, 4011, ipxe.efi by TFTP; BIOS: 0)
 *   ipxe-dhcp  iPXE's DISCOVER to its request for the script (iPXE's DHCP, its wait for proxy offers)
 *   script     the script request to the kernel request
 *   download   the kernel request to the last byte the appliance sent the machine (kernel + initrd)
 *   linux      that last byte to the marker on the serial console (the same kernel for both)
 * Medians per cell; the ratio is Bootgate's total over the stand-in's (target: at most 1.00).
 *
 *   npm run build && node dist/bench/firmware-boot.js [--reps 3] [--firmware bios,uefi] [--transport tftp,http]
 *
 * Network safety: everything runs in the lab's own namespaces (test/lab/netns.ts), removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './lib/dhcp-stats.js';
import { ensureAssets } from '../test/lab/assets.js';
import { startLabAppliance, type ApplianceKind, type Transport } from '../test/lab/appliance.js';
import { createLab } from '../test/lab/netns.js';
import { missingPrerequisites } from '../test/lab/prereq.js';
import { bootClient, type Firmware } from '../test/lab/qemu.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    firmware: { type: 'string', default: 'bios,uefi' },
    transport: { type: 'string', default: 'tftp,http' },
    timeout: { type: 'string', default: '240' },
  },
});
const reps = Math.max(1, Math.min(10, Number(values.reps) || 3));
const firmwares = values.firmware.split(',') as Firmware[];
const transports = values.transport.split(',') as Transport[];
const kinds: ApplianceKind[] = ['bootgate', 'dnsmasq'];
const PHASES = ['firmware', 'pxe+nbp', 'ipxe-dhcp', 'script', 'download', 'linux'] as const;
type Phase = (typeof PHASES)[number];

const missing = missingPrerequisites({ bootgate: true, capture: true });
for (const program of ['nginx', 'tshark']) {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
  } catch {
    missing.push(`${program} (Debian package ${program === 'nginx' ? 'nginx' : 'tshark'})`);
  }
}
if (missing.length > 0) {
  console.error(`missing prerequisites:\n  ${missing.join('\n  ')}`);
  process.exit(2);
}

interface Boot {
  firmware: Firmware;
  transport: Transport;
  kind: ApplianceKind;
  mac: string;
  start: number;
  end: number;
  ok: boolean;
}

interface Frame {
  t: number;
  ethSrc: string;
  ethDst: string;
  ipSrc: string;
  dhcpType: string;
  userClass: string;
  tftpOpcode: string;
  tftpFile: string;
  httpUri: string;
  tcpLen: number;
}

/** One line per frame of the capture, the fields this bench reads, by tshark's own dissectors. */
function readCapture(path: string): Frame[] {
  const fields = ['frame.time_epoch', 'eth.src', 'eth.dst', 'ip.src', 'dhcp.option.dhcp', 'dhcp.option.user_class.text',
    'tftp.opcode', 'tftp.source_file', 'http.request.uri', 'tcp.len'];
  const out = execFileSync('tshark', ['-r', path, '-n', '-T', 'fields', '-E', 'separator=\t', ...fields.flatMap((f) => ['-e', f])],
    { maxBuffer: 1 << 30, encoding: 'utf8', timeout: 300_000 });
  return out.split('\n').filter((l) => l !== '').map((l) => {
    const c = l.split('\t');
    return {
      t: Number(c[0]), ethSrc: c[1] ?? '', ethDst: c[2] ?? '', ipSrc: c[3] ?? '', dhcpType: c[4] ?? '',
      userClass: c[5] ?? '', tftpOpcode: c[6] ?? '', tftpFile: c[7] ?? '', httpUri: c[8] ?? '', tcpLen: Number(c[9] || 0),
    };
  });
}

/** Seconds per phase for one boot, or null when the capture lacks one of its milestones. */
function phases(boot: Boot, frames: Frame[], appAddress: string): Record<Phase, number> | null {
  const mine = frames.filter((f) => f.t >= boot.start && f.t <= boot.end && (f.ethSrc === boot.mac || f.ethDst === boot.mac));
  const from = mine.filter((f) => f.ethSrc === boot.mac);
  const discover = from.find((f) => f.dhcpType === '1');
  // iPXE names itself in option 77 (user class).
  const ipxe = from.find((f) => f.dhcpType === '1' && /iPXE/.test(f.userClass));
  if (!discover || !ipxe) return null;
  const requests = from.filter((f) => f.t >= ipxe.t && (f.tftpOpcode === '1' || f.httpUri !== ''));
  const script = requests[0];
  const kernel = requests.find((f) => /vmlinuz/.test(f.tftpFile + f.httpUri));
  // The last file byte: a TFTP DATA packet or a TCP segment with payload (not a late ACK or FIN).
  const last = mine.filter((f) => f.ipSrc === appAddress && f.ethDst === boot.mac && (f.tftpOpcode === '3' || f.tcpLen > 0)).at(-1);
  if (!script || !kernel || !last) return null;
  return {
    firmware: discover.t - boot.start,
    'pxe+nbp': ipxe.t - discover.t,
    'ipxe-dhcp': script.t - ipxe.t,
    script: kernel.t - script.t,
    download: last.t - kernel.t,
    linux: boot.end - last.t,
  };
}


const t0 = Date.now();
const load0 = loadavg();
const work = mkdtempSync(join(tmpdir(), 'bg-bench-fw-'));
const capturePath = join(work, 'boots.pcap');
const assets = await ensureAssets();
const lab = await createLab({ capturePath });
const boots: Boot[] = [];
const appAddress = lab.appAddress;
try {
  for (let rep = 1; rep <= reps; rep++) {
    for (const transport of transports) {
      // Alternate which appliance goes first, so neither always gets the warmer or the cooler machine.
      for (const kind of rep % 2 === 1 ? kinds : [...kinds].reverse()) {
        const app = await startLabAppliance(lab, assets, kind, transport, 'nginx');
        try {
          for (const firmware of firmwares) {
            const r = await bootClient(lab, { firmware, timeoutMs: Number(values.timeout) * 1000 });
            const start = Date.now() - r.durationMs;
            // bootClient measures from QEMU's start; the capture's clock is the same wall clock.
            const ok = r.marker?.mac === r.mac;
            boots.push({ firmware, transport, kind, mac: r.mac, start: start / 1000, end: (start + r.durationMs) / 1000, ok });
            console.log(`rep ${rep} ${firmware} ${transport} ${kind}: ${ok ? `${(r.durationMs / 1000).toFixed(1)} s` : `FAILED${r.timedOut ? ' (timed out)' : ''}`}`);
          }
        } finally {
          await app.stop();
        }
      }
    }
  }
} finally {
  await lab.destroy();
}

const frames = readCapture(capturePath);
const lines: string[] = [];
const say = (s = ''): void => {
  lines.push(s);
  console.log(s);
};
say(`# Firmware boot: power-on to the Linux marker, Bootgate vs dnsmasq proxy + nginx`);
say();
say(`${new Date(t0).toISOString()}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, QEMU under TCG, load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${reps} boot(s) per cell, medians in seconds.`);
say();
say(`| firmware | transport | appliance | ok | total | ${PHASES.join(' | ')} |`);
say(`|---|---|---|---|---|${PHASES.map(() => '---').join('|')}|`);
const verdicts: string[] = [];
let failed = 0;
for (const firmware of firmwares) {
  for (const transport of transports) {
    const totals = new Map<ApplianceKind, number>();
    for (const kind of kinds) {
      const cell = boots.filter((b) => b.firmware === firmware && b.transport === transport && b.kind === kind);
      const good = cell.filter((b) => b.ok);
      failed += cell.length - good.length;
      const split = good.map((b) => phases(b, frames, appAddress)).filter((p): p is Record<Phase, number> => p !== null);
      const total = median(good.map((b) => b.end - b.start));
      totals.set(kind, total);
      const cols = PHASES.map((p) => (split.length > 0 ? median(split.map((s) => s[p])).toFixed(2) : '?'));
      say(`| ${firmware} | ${transport} | ${kind === 'dnsmasq' ? 'dnsmasq+nginx' : kind} | ${good.length}/${cell.length} | ${total.toFixed(2)} | ${cols.join(' | ')} |`);
    }
    const ratio = (totals.get('bootgate') ?? NaN) / (totals.get('dnsmasq') ?? NaN);
    verdicts.push(`- ${firmware} by ${transport}: Bootgate/stand-in ${ratio.toFixed(2)}x: ${ratio <= 1 ? 'MET' : 'NOT MET'} (target at most 1.00x)`);
  }
}
say();
for (const v of verdicts) say(v);
say();
say(`${boots.length} boots, ${failed} failed, ${((Date.now() - t0) / 1000).toFixed(0)} s in all.`);
const resultsDir = resolve('bench/results');
mkdirSync(resultsDir, { recursive: true });
const report = join(resultsDir, `firmware-${new Date(t0).toISOString().replace(/[:T]/g, '-').slice(0, 19)}.md`);
writeFileSync(report, `${lines.join('\n')}\n`);
console.log(`report: ${report}`);
if (process.env.KEEP === "1") console.log(`capture kept: ${capturePath}`);
else rmSync(work, { recursive: true, force: true });
process.exitCode = failed === 0 ? 0 : 1;
