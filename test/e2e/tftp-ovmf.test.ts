/**
 * Real firmware against the TFTP engine: OVMF's own PXE client (EDK2, under QEMU with TCG) asks
 * `tsize=0 blksize=1468 windowsize=4`, ends that probe with error 8, then fetches its boot program with
 * windowsize 4. dnsmasq in the same namespace only hands out the address and the boot file name; the
 * TFTP server is Bootgate's (bench/tftp-server.js). Run twice: a clean link and 5% random loss on the
 * server's side (nftables numgen, per packet: segmentation off). The boot program is iPXE's ipxe.efi;
 * the test ends once the server has logged a complete transfer of it (every byte, the file's size).
 *
 * One namespace holds a bridge (10.77.0.1 dnsmasq, 10.77.0.2 Bootgate) and QEMU's tap; it is created
 * and removed here, and nothing touches a real interface. Needs root, qemu-system-x86_64, OVMF, dnsmasq.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const serverScript = join(repo, 'dist', 'bench', 'tftp-server.js');
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';
const IPXE_EFI = '/usr/lib/ipxe/ipxe.efi';

interface Ended { file: string; result: string; bytes: number; size: number }

async function sh(script: string): Promise<void> {
  await run('bash', ['-c', `set -e; ${script}`], { timeout: 30_000 });
}

async function stop(p: ChildProcess | null): Promise<void> {
  if (p === null || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

/** Safety net for one wait (a server's start line, the boot program's transfer): only a hang takes this long. */
const HANG_MS = 8 * 60_000;

/** Resolves when `child` writes a line matching re to `stream`; rejects when it exits first or boundMs passes. */
function lineFrom(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, what: string, boundMs = HANG_MS): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no ${re} within ${boundMs} ms:\n${seen.slice(-2000)}`)), boundMs);
    timer.unref();
    child[stream]?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (re.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before ${re}:\n${seen.slice(-2000)}`));
    });
  });
}

/** Boots OVMF once against the engine; resolves with the transfers the server logged. */
async function bootOnce(ns: string, dir: string, loss: number): Promise<Ended[]> {
  const procs: ChildProcess[] = [];
  const ended: Ended[] = [];
  try {
    await sh(`ip netns exec ${ns} nft delete table inet bgovmf 2>/dev/null || true`);
    if (loss > 0) {
      // Only the TFTP server's packets (source 10.77.0.2): DHCP is left alone.
      await sh(`ip netns exec ${ns} nft -f - <<'EOF'
table inet bgovmf {
  chain out {
    type filter hook output priority 0; policy accept;
    ip saddr 10.77.0.2 meta l4proto udp numgen random mod 100 < ${loss} drop
  }
}
EOF`);
    }
    const dnsmasq = spawn('ip', ['netns', 'exec', ns, 'dnsmasq', '--keep-in-foreground', '--log-facility=-', '--port=0', '--interface=br0',
      '--bind-interfaces', '--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,1h', '--dhcp-boot=ipxe.efi,,10.77.0.2', '--no-ping',
      '--conf-file=/dev/null', `--dhcp-leasefile=${join(dir, 'leases')}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--user=root'], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(dnsmasq);
    const dhcpUp = lineFrom(dnsmasq, 'stderr', /DHCP, IP range/, 'dnsmasq');
    const server = spawn('ip', ['netns', 'exec', ns, process.execPath, serverScript, '--root', dir, '--address', '10.77.0.2', '--port', '69',
      '--log-level', 'info', ...(loss > 0 ? ['--no-gso'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(server);
    const serverUp = lineFrom(server, 'stdout', /^listening \d+$/m, 'the TFTP server');
    let sawProgram: () => void = () => undefined;
    const program = new Promise<void>((r) => (sawProgram = r));
    let buffered = '';
    server.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (;;) {
        const nl = buffered.indexOf('\n');
        if (nl < 0) break;
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.includes('tftp transfer ended')) continue;
        const j = JSON.parse(line) as Ended;
        ended.push(j);
        if (j.result === 'ok' && j.file === 'ipxe.efi') sawProgram();
      }
    });
    // The firmware starts once both servers are up: on a busy machine node takes seconds to start, and
    // OVMF's own TFTP retries give up long before a late server would answer.
    await Promise.all([dhcpUp, serverUp]);
    copyFileSync(OVMF_VARS, join(dir, 'vars.fd'));
    const qemu = spawn('ip', ['netns', 'exec', ns, 'qemu-system-x86_64', '-machine', 'q35', '-m', '512', '-nographic', '-no-reboot',
      '-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${join(dir, 'vars.fd')}`,
      '-netdev', 'tap,id=n0,ifname=bgovtap0,script=no,downscript=no', '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:77:00:42,romfile=',
      '-boot', 'n', '-serial', `file:${join(dir, 'serial.log')}`, '-monitor', 'none'], { stdio: 'ignore' });
    procs.push(qemu);
    // The server's log line is the event; HANG_MS only ends a firmware that hangs.
    const timeout = new Promise<void>((_r, rej) => setTimeout(() => rej(new Error(`no intact ipxe.efi transfer within ${HANG_MS} ms; transfers: ${JSON.stringify(ended)}`)), HANG_MS).unref());
    await Promise.race([program, timeout]);
    return ended;
  } finally {
    for (const p of procs.reverse()) await stop(p);
    await sh(`ip netns exec ${ns} nft delete table inet bgovmf 2>/dev/null || true`);
  }
}

test('OVMF PXE fetches its boot program from the engine (tsize probe, windowsize 4), clean and at 5% loss', { timeout: 3 * HANG_MS }, async (t) => {
  for (const f of [OVMF_CODE, OVMF_VARS, IPXE_EFI, serverScript]) assert.ok(existsSync(f), `missing ${f}`);
  assert.equal(process.getuid?.(), 0, 'needs root (network namespaces, tap)');
  const dir = mkdtempSync(join(tmpdir(), 'bg-tftp-ovmf-'));
  copyFileSync(IPXE_EFI, join(dir, 'ipxe.efi'));
  const size = readFileSync(join(dir, 'ipxe.efi')).length;
  const ns = `bgovmf${process.pid % 100000}`;
  try {
    await sh(`ip netns add ${ns}
      ip -n ${ns} link set lo up
      ip -n ${ns} link add br0 type bridge
      ip -n ${ns} addr add 10.77.0.1/24 dev br0
      ip -n ${ns} addr add 10.77.0.2/24 dev br0
      ip -n ${ns} tuntap add dev bgovtap0 mode tap
      ip -n ${ns} link set bgovtap0 master br0
      ip -n ${ns} link set bgovtap0 up
      ip -n ${ns} link set br0 up`);
    for (const loss of [0, 5]) {
      const ended = await bootOnce(ns, dir, loss);
      t.diagnostic(`loss ${loss}%: ${JSON.stringify(ended.map((e) => [e.file, e.result, e.bytes]))}`);
      const ok = ended.find((e) => e.file === 'ipxe.efi' && e.result === 'ok');
      assert.ok(ok, `loss ${loss}%: the firmware fetched ipxe.efi`);
      assert.equal(ok.bytes, size);
      // EDK2 asks the size first and ends that request with error 8: logged as a probe, not a failure.
      assert.ok(ended.some((e) => e.file === 'ipxe.efi' && e.result === 'probe'), `loss ${loss}%: tsize probe seen`);
    }
  } finally {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
