/**
 * The namespace lab (see /work/shared/firmware-lab.md): three network namespaces joined by one bridge.
 *
 *   site  (10.77.0.1/24, fd77::1/64)  dnsmasq: addresses only, no PXE options, IPv6 router adverts
 *   app   (10.77.0.2/24)              the appliance under test (Bootgate, or dnsmasq in proxy mode)
 *   sw    bridge br0 + one veth per namespace + one tap per QEMU client (QEMU runs in here)
 *
 * Nothing is created in the root namespace: every veth is created inside `sw` with its peer moved
 * straight into its namespace, so interface names never collide with the host or with other labs,
 * and DHCP/TFTP broadcasts cannot leave the bridge. Namespace names are `bgl<pid>x<random>-<role>`,
 * unique per run. `destroy()` stops every child by PID and deletes the namespaces; an exit hook does
 * the same synchronously if the process ends without calling it.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  HANG_MS,
  killTrackedSync,
  pollUntil,
  runCommand,
  runCommandSync,
  spawnTracked,
  stopTracked,
  waitForText,
  type RunResult,
  type Tracked,
} from './procs.js';

export const LAB_PREFIX = 'bgl';
/** Interface name of the lab link inside the site and app namespaces. */
export const LAB_IFACE = 'lab0';
export const SITE_ADDRESS = '10.77.0.1';
export const APP_ADDRESS = '10.77.0.2';
const PREFIX_LEN = 24;
const SITE_ADDRESS6 = 'fd77::1';
const BRIDGE = 'br0';

export interface LabOptions {
  /**
   * Site dnsmasq also sends IPv6 router adverts (default true). Without them iPXE waits about 16 s
   * for IPv6 autoconfiguration before it gives up on IPv6 (firmware-lab.md, timings).
   */
  routerAdverts?: boolean;
  /** Write a pcap of everything on the bridge (tshark in the switch namespace) to this path. */
  capturePath?: string;
  /** Keep the lab's temporary directory (logs, configs) after destroy(), for debugging. */
  keepDir?: boolean;
  /**
   * The next-server (siaddr) the site DHCP server puts in its ACK, as a site does for Debian's signed
   * network GRUB, which reads only the ACK (README, Secure Boot). Default: dnsmasq's own address.
   */
  siteNextServer?: string;
}

export interface Lab {
  readonly id: string;
  /** Temporary directory for logs, configs, serial logs and firmware variable stores. */
  readonly dir: string;
  readonly siteNs: string;
  readonly appNs: string;
  readonly swNs: string;
  readonly appIface: string;
  readonly appAddress: string;
  readonly siteAddress: string;
  /** Runs a bounded command, inside a namespace when ns is given. */
  run(argv: readonly string[], ns?: string, timeoutMs?: number): Promise<RunResult>;
  /** Starts a tracked long-running process (inside ns when given); its output goes to <dir>/<name>.log. */
  spawn(name: string, argv: readonly string[], ns?: string): Tracked;
  /** Stops one tracked process (SIGTERM, then SIGKILL) and forgets it. */
  stop(p: Tracked): Promise<void>;
  /** Creates a tap on the bridge in the switch namespace and returns its name. */
  addTap(): Promise<string>;
  removeTap(name: string): Promise<void>;
  /** Reads a tracked process's log (empty string when there is none yet). */
  readLog(p: Tracked): string;
  readonly siteDhcp: Tracked;
  destroy(): Promise<void>;
}

const liveLabs = new Set<{ sync: () => void }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.sync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const lab of liveLabs) lab.sync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
  }
}

function nsExec(ns: string | undefined, argv: readonly string[]): string[] {
  return ns === undefined ? [...argv] : ['ip', 'netns', 'exec', ns, ...argv];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes lab namespaces left behind by a lab process that no longer exists (a test killed with
 * SIGKILL, where no exit hook runs). Only names of this harness's form whose creating PID is dead
 * are touched.
 */
export async function sweepStaleLabs(): Promise<string[]> {
  const { stdout } = await runCommand(['ip', 'netns', 'list']);
  const removed: string[] = [];
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    // site/app/sw: this lab; host/c1/c2: the two-subnet host of test/e2e/subnets-host.test.ts.
    const m = /^bgl(\d+)x[0-9a-f]+-(site|app|sw|host|c1|c2)$/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    // Processes still inside were started by that dead lab (QEMU, dnsmasq, the appliance): end them
    // by PID, or a stale VM or DHCP server would live on in an unnamed namespace.
    const pids = await runCommand(['ip', 'netns', 'pids', name]).then((r) => r.stdout, () => '');
    for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (runCommandSync(['ip', 'netns', 'del', name])) removed.push(name);
  }
  for (const entry of readdirSync(tmpdir())) {
    const m = /^bgl(\d+)x[0-9a-f]+-\w+$/.exec(entry);
    // A directory kept on purpose (keepDir) stays until its owner removes it.
    if (!m || pidAlive(Number(m[1])) || existsSync(join(tmpdir(), entry, 'KEEP'))) continue;
    rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    removed.push(join(tmpdir(), entry));
  }
  return removed;
}

function siteDnsmasqArgs(dir: string, routerAdverts: boolean, nextServer?: string): string[] {
  const args = [
    'dnsmasq',
    '--conf-file=/dev/null',
    '--keep-in-foreground',
    '--log-facility=-',
    '--log-dhcp',
    '--port=0', // no DNS: the site server here only hands out addresses
    `--interface=${LAB_IFACE}`,
    '--bind-interfaces',
    `--dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,10m`,
    '--no-ping', // ICMP probes of each offered address would add seconds per client
    '--dhcp-authoritative',
    `--dhcp-leasefile=${join(dir, 'site.leases')}`,
    '--pid-file=',
    '--user=root',
  ];
  // dnsmasq's name for the BOOTP siaddr field; no boot file, so PXE firmware still waits for the proxy.
  if (nextServer) args.push(`--dhcp-option=option:server-ip-address,${nextServer}`);
  if (routerAdverts) {
    // Stateless RAs (no M/O flags) let iPXE finish IPv6 autoconfiguration at once instead of
    // waiting ~16 s for an advert that never comes.
    args.push('--enable-ra', `--dhcp-range=fd77::,ra-only,64`);
  }
  return args;
}

async function buildTopology(ns: { site: string; app: string; sw: string }, routerAdverts: boolean, run: Lab['run']): Promise<void> {
  for (const name of [ns.site, ns.app, ns.sw]) {
    await run(['ip', 'netns', 'add', name]);
    await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  }
  // Bridge netfilter would hand bridged frames to iptables; the lab wants a plain switch.
  await run(['sh', '-c', 'for f in /proc/sys/net/bridge/bridge-nf-call-*; do [ -e "$f" ] && echo 0 > "$f"; done; true'], ns.sw);
  await run(['ip', '-n', ns.sw, 'link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await run(['ip', '-n', ns.sw, 'link', 'set', BRIDGE, 'up']);
  const ends: Array<[string, string, string]> = [
    [ns.site, 'p-site', `${SITE_ADDRESS}/${PREFIX_LEN}`],
    [ns.app, 'p-app', `${APP_ADDRESS}/${PREFIX_LEN}`],
  ];
  for (const [peerNs, port, address] of ends) {
    await run(['ip', '-n', ns.sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', LAB_IFACE, 'netns', peerNs]);
    await run(['ip', '-n', ns.sw, 'link', 'set', port, 'master', BRIDGE, 'up']);
    // No duplicate address detection: the link-local address must be usable for RAs at once.
    await run(['sh', '-c', `echo 0 > /proc/sys/net/ipv6/conf/${LAB_IFACE}/accept_dad`], peerNs);
    await run(['ip', '-n', peerNs, 'addr', 'add', address, 'dev', LAB_IFACE]);
    await run(['ip', '-n', peerNs, 'link', 'set', LAB_IFACE, 'up']);
  }
  if (routerAdverts) await run(['ip', '-n', ns.site, 'addr', 'add', `${SITE_ADDRESS6}/64`, 'dev', LAB_IFACE, 'nodad']);
}

class NamespaceLab implements Lab {
  readonly siteNs: string;
  readonly appNs: string;
  readonly swNs: string;
  readonly appIface = LAB_IFACE;
  readonly appAddress = APP_ADDRESS;
  readonly siteAddress = SITE_ADDRESS;
  readonly dir: string;
  private readonly procs = new Set<Tracked>();
  private readonly hook = { sync: (): void => this.syncCleanup() };
  private site: Tracked | null = null;
  private tapCount = 0;
  private destroyed = false;

  constructor(
    readonly id: string,
    private readonly opts: LabOptions,
  ) {
    this.siteNs = `${id}-site`;
    this.appNs = `${id}-app`;
    this.swNs = `${id}-sw`;
    this.dir = mkdtempSync(join(tmpdir(), `${id}-`));
    if (opts.keepDir) writeFileSync(join(this.dir, 'KEEP'), 'kept by LabOptions.keepDir: remove this directory by hand\n');
    liveLabs.add(this.hook);
  }

  get siteDhcp(): Tracked {
    if (!this.site) throw new Error(`lab ${this.id}: the site DHCP server is not running`);
    return this.site;
  }

  /** Topology, optional capture, site DHCP server. */
  async start(): Promise<void> {
    const routerAdverts = this.opts.routerAdverts ?? true;
    await buildTopology({ site: this.siteNs, app: this.appNs, sw: this.swNs }, routerAdverts, (a, ns) => this.run(a, ns));
    const capturePath = this.opts.capturePath;
    if (capturePath) {
      const cap = this.spawn('capture', ['tshark', '-q', '-n', '-i', BRIDGE, '-w', capturePath], this.swNs);
      // tshark needs a moment to open the interface; packets before that are lost, not harmful.
      await pollUntil(() => (existsSync(capturePath) || cap.exitInfo ? true : undefined), 10_000);
    }
    const site = this.spawn('site-dnsmasq', siteDnsmasqArgs(this.dir, routerAdverts, this.opts.siteNextServer), this.siteNs);
    // Its startup line, or its exit; HANG_MS only catches a dnsmasq that hangs.
    const ready = await waitForText(site.logPath, /DHCP, IP range/, site);
    if (!ready) throw new Error(`site dnsmasq did not start (${site.exitInfo ? `exited ${JSON.stringify(site.exitInfo)}` : `no "DHCP, IP range" within ${HANG_MS} ms`}):\n${readText(site.logPath)}`);
    this.site = site;
  }

  run(argv: readonly string[], ns?: string, timeoutMs?: number): Promise<RunResult> {
    return runCommand(nsExec(ns, argv), { timeoutMs: timeoutMs ?? 30_000 });
  }

  spawn(name: string, argv: readonly string[], ns?: string): Tracked {
    if (this.destroyed) throw new Error(`lab ${this.id} is destroyed`);
    const p = spawnTracked(name, nsExec(ns, argv), join(this.dir, `${name}.log`));
    this.procs.add(p);
    return p;
  }

  async stop(p: Tracked): Promise<void> {
    await stopTracked(p);
    this.procs.delete(p);
  }

  async addTap(): Promise<string> {
    this.tapCount += 1;
    const tap = `tap${this.tapCount}`;
    await this.run(['ip', '-n', this.swNs, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    await this.run(['ip', '-n', this.swNs, 'link', 'set', tap, 'master', BRIDGE, 'up']);
    return tap;
  }

  async removeTap(tap: string): Promise<void> {
    await this.run(['ip', '-n', this.swNs, 'link', 'del', tap]);
  }

  readLog(p: Tracked): string {
    return readText(p.logPath);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.procs].map((p) => stopTracked(p)));
    this.procs.clear();
    this.removeNamespaces();
    liveLabs.delete(this.hook);
  }

  /** From the process exit hook: no awaiting possible, so SIGKILL by PID and delete at once. */
  private syncCleanup(): void {
    for (const p of this.procs) killTrackedSync(p);
    this.removeNamespaces();
  }

  private removeNamespaces(): void {
    for (const name of [this.siteNs, this.appNs, this.swNs]) runCommandSync(['ip', 'netns', 'del', name]);
    if (!this.opts.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Builds the lab and starts the site DHCP server. Throws (after cleaning up) when any step fails. */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  if (process.getuid?.() !== 0) throw new Error('the firmware lab needs root (network namespaces, taps)');
  installExitHook();
  await sweepStaleLabs();
  const lab = new NamespaceLab(`${LAB_PREFIX}${process.pid}x${randomBytes(3).toString('hex')}`, opts);
  try {
    await lab.start();
    return lab;
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
