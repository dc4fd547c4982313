/**
 * Boot storm load generator (a benchmark, not a test): N simulated UEFI machines, each with its own
 * MAC, SMBIOS GUID and IPv4 address, each doing what OVMF then iPXE do on a PXE boot:
 *   1. DHCPDISCOVER (PXEClient, arch 7) broadcast, wait for the proxy offer;
 *   2. DHCPREQUEST to the boot server on 4011 from its address, take the boot file from the ACK;
 *   3. that boot program by TFTP at blksize 1468, windowsize 4 (as OVMF asks);
 *   4. iPXE's own DISCOVER (user class "iPXE"), the script URL from the offer;
 *   5. the script by HTTP, then the kernel and the initrd it names, one after the other.
 * Prints one JSON document: per machine its milestones (ms since the generator started) or its error.
 *
 * Only run it inside the benchmark's client namespace (bench/boot-storm.ts): it broadcasts DHCP.
 * Bounded: at most 2,000 machines, three tries per DHCP step, bounded TFTP retries, a deadline.
 *
 *   node dist/bench/boot-storm-client.js --machines 100 --server 10.89.0.1 --spread-ms 1000
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodePxeBootRequest, encodePxeDiscover, PxeArch, readReply, type ReplySummary, type SimulatedClient } from './lib/dhcp-packet.js';
import { stormMachine } from './lib/storm-machines.js';
import { StormHttpClient } from './lib/http-client.js';
import { tftpGet } from './lib/tftp-client.js';

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '100' },
    server: { type: 'string', default: '10.89.0.1' },
    'spread-ms': { type: 'string', default: '1000' },
    'deadline-ms': { type: 'string', default: '600000' },
    // The served tree: what arrives by HTTP is checked against these files (absent: byte counts only).
    root: { type: 'string' },
  },
});
const machines = Math.max(1, Math.min(2000, Number(values.machines)));
const server = values.server;
const spreadMs = Math.max(0, Math.min(10_000, Number(values['spread-ms'])));
const deadlineMs = Math.max(1000, Math.min(1_800_000, Number(values['deadline-ms'])));
const expected = new Map<string, Buffer | undefined>();
/** The file a URL names in --root, read once and shared by every machine. */
function expectedFile(url: string): Buffer | undefined {
  if (values.root === undefined) return undefined;
  const path = new URL(url).pathname;
  if (!expected.has(path)) expected.set(path, readFileSync(join(values.root, decodeURIComponent(path))));
  return expected.get(path);
}
const DHCP_TRIES = [4000, 8000, 16000]; // OVMF's DISCOVER timeouts

export interface MachineResult {
  index: number;
  ok: boolean;
  error?: string;
  start: number;
  offer?: number;
  bootAck?: number;
  nbp?: number;
  ipxeOffer?: number;
  script?: number;
  done?: number;
  nbpBytes?: number;
  nbpSha256?: string;
  nbpWindow?: number;
  httpBytes?: number;
}

const t0 = performance.now();
const now = (): number => performance.now() - t0;

/** Replies by xid, from the broadcast socket and the per-machine 4011 sockets alike. */
const waiting = new Map<number, (r: ReplySummary) => void>();
function dispatch(msg: Buffer): void {
  const r = readReply(msg);
  if (!r) return;
  const w = waiting.get(r.xid);
  if (w) w(r);
}

function openBroadcast(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    s.once('error', reject);
    s.bind(68, '0.0.0.0', () => {
      s.setBroadcast(true);
      try { s.setRecvBufferSize(8 * 1024 * 1024); } catch { /* capped by rmem_max */ }
      s.on('message', dispatch);
      resolve(s);
    });
  });
}

/** Sends `msg` up to three times (OVMF's timeouts) until a reply of `type` for `xid` arrives. */
async function exchange(send: () => void, xid: number, type: number): Promise<ReplySummary> {
  try {
    for (const wait of DHCP_TRIES) {
      const r = await new Promise<ReplySummary | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), wait);
        waiting.set(xid, (reply) => {
          if (reply.messageType !== type) return;
          clearTimeout(timer);
          resolve(reply);
        });
        send();
      });
      if (r) return r;
    }
  } finally {
    waiting.delete(xid);
  }
  throw new Error(`no DHCP message type ${type} for xid ${xid.toString(16)} after ${DHCP_TRIES.length} tries`);
}

function ipText(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The URLs an iPXE script's `kernel` and `initrd` lines fetch. */
function scriptUrls(script: string): string[] {
  const urls: string[] = [];
  for (const line of script.split('\n')) {
    const m = /^\s*(kernel|initrd|chain|imgfetch)\s+(?:--\S+\s+)*(http:\/\/\S+)/.exec(line);
    if (m?.[2]) urls.push(m[2]);
  }
  return urls;
}

async function bootOne(index: number, bcast: Socket): Promise<MachineResult> {
  const m = stormMachine(index);
  const res: MachineResult = { index, ok: false, start: now() };
  let http: StormHttpClient | null = null;
  const pxe: SimulatedClient = { mac: m.mac, xid: m.xid, arch: PxeArch.efiX64, guid: m.guid };
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, m.address, () => resolve());
    });
    sock.on('message', dispatch);
    const discover = encodePxeDiscover(pxe);
    await exchange(() => bcast.send(discover, 67, '255.255.255.255'), pxe.xid, 2);
    res.offer = now();
    const request = encodePxeBootRequest({ ...pxe, xid: pxe.xid ^ 0x5a5a5a5a }, m.addressNumber);
    const ack = await exchange(() => sock.send(request, 4011, server), pxe.xid ^ 0x5a5a5a5a, 5);
    res.bootAck = now();
    if (ack.file === '') throw new Error('the boot server\'s ACK names no boot file');
    const tftpServer = ack.siaddr !== 0 ? ipText(ack.siaddr) : server;
    const nbp = await tftpGet({ server: tftpServer, localAddress: m.address, file: ack.file, blksize: 1468, windowsize: 4, timeoutMs: 1000, maxTries: 8 });
    res.nbp = now();
    res.nbpBytes = nbp.bytes;
    res.nbpSha256 = nbp.sha256;
    res.nbpWindow = nbp.windowsize;
    const ipxe: SimulatedClient = { ...pxe, xid: pxe.xid ^ 0x00ff00ff, userClass: 'iPXE' };
    const ipxeDiscover = encodePxeDiscover(ipxe);
    const offer = await exchange(() => bcast.send(ipxeDiscover, 67, '255.255.255.255'), ipxe.xid, 2);
    res.ipxeOffer = now();
    if (!offer.file.startsWith('http://')) throw new Error(`iPXE's offer names ${JSON.stringify(offer.file)}, not an HTTP script`);
    const scriptUrl = new URL(offer.file);
    // One keep-alive connection for the script, the kernel and the initrd, as iPXE.
    http = new StormHttpClient(scriptUrl.hostname, Number(scriptUrl.port || 80), m.address);
    const script = (await http.get(scriptUrl.pathname, { keep: true })).body?.toString('utf8') ?? '';
    res.script = now();
    const urls = scriptUrls(script);
    if (urls.length === 0) throw new Error(`the script fetches nothing by HTTP:\n${script.slice(0, 300)}`);
    let bytes = 0;
    for (const url of urls) {
      const u = new URL(url);
      if (u.host !== scriptUrl.host) throw new Error(`the script fetches from another server: ${url}`);
      bytes += (await http.get(u.pathname, { expect: expectedFile(url) })).bytes;
    }
    res.httpBytes = bytes;
    res.done = now();
    res.ok = true;
  } catch (err) {
    res.error = (err as Error).message;
  } finally {
    sock.close();
    http?.close();
  }
  return res;
}

const bcast = await openBroadcast();
const deadline = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ error: `deadline of ${deadlineMs} ms passed` })}\n`);
  process.exit(3);
}, deadlineMs);
const runs: Promise<MachineResult>[] = [];
for (let i = 0; i < machines; i++) {
  const at = machines === 1 ? 0 : (spreadMs * i) / (machines - 1);
  runs.push(new Promise((resolve) => setTimeout(() => resolve(bootOne(i, bcast)), at)));
}
const results = await Promise.all(runs);
clearTimeout(deadline);
bcast.close();
// The generator's own CPU (user + system seconds): when it nears the wall time of the storm on its pinned
// CPU, the generator, not the server, sets the pace.
const usage = process.cpuUsage();
process.stdout.write(`${JSON.stringify({ machines: results, cpuS: (usage.user + usage.system) / 1e6, userS: usage.user / 1e6, wallS: now() / 1000 })}\n`);
