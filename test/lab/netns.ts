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
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  killTrackedSync,
  pollUntil,
  runCommand,
  runCommandSync,
  spawnTracked,
  stopTracked,
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
 * Deletes lab namespaces left behind by a lab process that no longer exists (a test killed hard).
 * Only names of this harness's form whose creating PID is dead are touched.
 */
export async function sweepStaleLabs(): Promise<string[]> {
  const { stdout } = await runCommand(['ip', 'netns', 'list']);
  const removed: string[] = [];
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^bgl(\d+)x[0-9a-f]+-(site|app|sw)$/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    if (runCommandSync(['ip', 'netns', 'del', name])) removed.push(name);
  }
  return removed;
}

function siteDnsmasqArgs(dir: string, routerAdverts: boolean): string[] {
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

/** Builds the lab and starts the site DHCP server. Throws (after cleaning up) when any step fails. */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  if (process.getuid?.() !== 0) throw new Error('the firmware lab needs root (network namespaces, taps)');
  installExitHook();
  await sweepStaleLabs();
  const id = `${LAB_PREFIX}${process.pid}x${randomBytes(3).toString('hex')}`;
  const ns = { site: `${id}-site`, app: `${id}-app`, sw: `${id}-sw` };
  const dir = mkdtempSync(join(tmpdir(), `${id}-`));
  const procs = new Set<Tracked>();
  const routerAdverts = opts.routerAdverts ?? true;
  let tapCount = 0;
  let destroyed = false;

  const run: Lab['run'] = (argv, inNs, timeoutMs) => runCommand(nsExec(inNs, argv), { timeoutMs: timeoutMs ?? 30_000 });
  const spawnIn: Lab['spawn'] = (name, argv, inNs) => {
    if (destroyed) throw new Error(`lab ${id} is destroyed`);
    const p = spawnTracked(name, nsExec(inNs, argv), join(dir, `${name}.log`));
    procs.add(p);
    return p;
  };
  const syncCleanup = (): void => {
    for (const p of procs) killTrackedSync(p);
    for (const name of [ns.site, ns.app, ns.sw]) runCommandSync(['ip', 'netns', 'del', name]);
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  const hook = { sync: syncCleanup };
  liveLabs.add(hook);

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await Promise.all([...procs].map((p) => stopTracked(p)));
    procs.clear();
    for (const name of [ns.site, ns.app, ns.sw]) runCommandSync(['ip', 'netns', 'del', name]);
    liveLabs.delete(hook);
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    await buildTopology(ns, routerAdverts, run);
    if (opts.capturePath) {
      const cap = spawnIn('capture', ['tshark', '-q', '-n', '-i', BRIDGE, '-w', opts.capturePath], ns.sw);
      // tshark needs a moment to open the interface; packets before that are lost, not harmful.
      await pollUntil(() => (existsSync(opts.capturePath as string) || cap.exitInfo ? true : undefined), 10_000);
    }
    const siteDhcp = spawnIn('site-dnsmasq', siteDnsmasqArgs(dir, routerAdverts), ns.site);
    const ready = await pollUntil(() => {
      if (siteDhcp.exitInfo) return false;
      return /DHCP, IP range/.test(readText(siteDhcp.logPath)) ? true : undefined;
    }, 10_000);
    if (ready !== true) throw new Error(`site dnsmasq did not start:\n${readText(siteDhcp.logPath)}`);

    return {
      id,
      dir,
      siteNs: ns.site,
      appNs: ns.app,
      swNs: ns.sw,
      appIface: LAB_IFACE,
      appAddress: APP_ADDRESS,
      siteAddress: SITE_ADDRESS,
      siteDhcp,
      run,
      spawn: spawnIn,
      stop: async (p) => {
        await stopTracked(p);
        procs.delete(p);
      },
      addTap: async () => {
        tapCount += 1;
        const tap = `tap${tapCount}`;
        await run(['ip', '-n', ns.sw, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
        await run(['ip', '-n', ns.sw, 'link', 'set', tap, 'master', BRIDGE, 'up']);
        return tap;
      },
      removeTap: async (tap) => {
        await run(['ip', '-n', ns.sw, 'link', 'del', tap]);
      },
      readLog: (p) => readText(p.logPath),
      destroy,
    };
  } catch (err) {
    await destroy();
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

/** Writes a file into the lab directory and returns its path. */
export function writeLabFile(lab: Pick<Lab, 'dir'>, name: string, text: string): string {
  const path = join(lab.dir, name);
  writeFileSync(path, text);
  return path;
}
