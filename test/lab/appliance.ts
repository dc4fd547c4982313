/**
 * The appliance in the lab's app namespace: Bootgate's own daemon (the system under test) or, as an
 * anchor, dnsmasq in proxy mode with busybox httpd, the way the firmware fixtures were captured.
 *
 * Both serve the same boot root: iPXE from the distribution (undionly.kpxe, ipxe.efi, snponly.efi),
 * the lab kernel and initramfs, and boot.ipxe. A BIOS client's NIC ROM is iPXE and gets the script at
 * once; an OVMF client gets ipxe.efi by TFTP first, which then asks again as iPXE.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Lab } from './netns.js';
import { HANG_MS, pollUntil, waitForText, type Tracked } from './procs.js';
import type { LabAssets } from './assets.js';

export type Transport = 'tftp' | 'http';

export const IPXE_DIR = '/usr/lib/ipxe';
export const IPXE_FILES = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'] as const;
export const LAB_HTTP_PORT = 8080;
/** iPXE's name for the initrd; the EFI stub finds it by the `initrd=` argument. */
const INITRD_NAME = 'initrd.img';

export interface Appliance {
  readonly kind: 'bootgate' | 'dnsmasq';
  readonly process: Tracked;
  readonly root: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * An iPXE script that fetches kernel and initramfs from `base` (e.g. `tftp://${next-server}`,
 * `{{http}}` for Bootgate to render, or a literal URL) and boots with the console on ttyS0.
 * panic=-1 makes a broken initramfs reboot at once, which -no-reboot turns into QEMU exiting.
 */
export function labScript(base: string): string {
  return [
    '#!ipxe',
    `echo bootgate-lab: \${mac} \${uuid} kernel from ${base}`,
    `kernel ${base}/vmlinuz initrd=${INITRD_NAME} console=ttyS0 panic=-1`,
    `initrd ${base}/${INITRD_NAME}`,
    'boot',
    '',
  ].join('\n');
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** Builds the boot root in <lab.dir>/<name>: iPXE binaries, kernel, initramfs and boot.ipxe. */
export function buildBootRoot(lab: Pick<Lab, 'dir'>, assets: LabAssets, script: string, name = 'root'): string {
  const root = join(lab.dir, name);
  mkdirSync(root, { recursive: true });
  for (const f of IPXE_FILES) {
    const src = join(IPXE_DIR, f);
    if (!existsSync(src)) throw new Error(`${src} is missing: install the Debian package ipxe`);
    copyFileSync(src, join(root, f));
  }
  // Copies, not symlinks: a TFTP root rightly refuses links that point outside it.
  linkOrCopy(assets.kernel, join(root, 'vmlinuz'));
  linkOrCopy(assets.initrd, join(root, INITRD_NAME));
  writeFileSync(join(root, 'boot.ipxe'), script);
  return root;
}

/**
 * Resolves when the app namespace has the UDP and TCP ports listening, else throws with the log. With
 * `readyLine`, first waits for the process to log it (it logs that once its sockets are open), so the
 * sockets are looked at when they should be there rather than polled for while the process starts.
 * Ends on the process's exit too; boundMs is the safety net for a process that hangs.
 */
export async function waitListening(lab: Lab, proc: Tracked, udp: number[], tcp: number[], readyLine?: RegExp, boundMs = HANG_MS): Promise<void> {
  const bound = (out: string, port: number): boolean => new RegExp(`:${port}\\s`).test(out);
  const fail = (why: string): Error => new Error(`${proc.name} ${why}:\n${lab.readLog(proc).slice(-4000)}`);
  const started = Date.now();
  if (readyLine) {
    const line = await waitForText(proc.logPath, readyLine, proc, boundMs);
    if (line === false) throw fail(`exited (${JSON.stringify(proc.exitInfo)}) before logging ${readyLine}`);
    if (line === undefined) throw fail(`did not log ${readyLine} within ${boundMs} ms`);
  }
  const ok = await pollUntil(async () => {
    if (proc.exitInfo) return false;
    const u = (await lab.run(['ss', '-H', '-lun'], lab.appNs)).stdout;
    const t = (await lab.run(['ss', '-H', '-ltn'], lab.appNs)).stdout;
    return udp.every((p) => bound(u, p)) && tcp.every((p) => bound(t, p)) ? true : undefined;
  }, Math.max(0, boundMs - (Date.now() - started)), 200);
  if (ok !== true) {
    throw fail(proc.exitInfo ? `exited (${JSON.stringify(proc.exitInfo)})` : `did not listen on udp ${udp.join(',')} tcp ${tcp.join(',')} within ${boundMs} ms`);
  }
}

export interface StandInOptions {
  root: string;
  /** How iPXE clients fetch boot.ipxe (the script itself decides how the kernel is fetched). */
  scriptTransport: Transport;
  /** The HTTP server beside dnsmasq: busybox httpd (how the fixtures were captured) or nginx (sendfile). */
  httpd?: 'busybox' | 'nginx';
}

/** nginx serving `root` on addr:port with sendfile, in the foreground, its files in `dir`. */
function nginxArgv(dir: string, root: string, addr: string, port: number): string[] {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, [
    'user root root;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'nginx-error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  sendfile on; tcp_nopush on; tcp_nodelay on;',
    `  client_body_temp_path ${dir}/nginx-body; proxy_temp_path ${dir}/nginx-proxy;`,
    `  fastcgi_temp_path ${dir}/nginx-fcgi; uwsgi_temp_path ${dir}/nginx-uwsgi; scgi_temp_path ${dir}/nginx-scgi;`,
    '  default_type application/octet-stream;',
    `  server { listen ${addr}:${port}; root ${root}; }`,
    '}',
    '',
  ].join('\n'));
  return ['nginx', '-c', conf, '-e', join(dir, 'nginx-error.log'), '-g', 'daemon off;'];
}

/**
 * dnsmasq 2.90 in proxy mode plus busybox httpd: the anchor the fixtures were captured with.
 * Proxy mode needs the server address on dhcp-boot, or the offer carries siaddr 0 and iPXE says
 * "Nothing to boot" (firmware-lab.md).
 */
export async function startDnsmasqProxy(lab: Lab, opts: StandInOptions): Promise<Appliance> {
  const srv = lab.appAddress;
  const scriptFile = opts.scriptTransport === 'http' ? `http://${srv}:${LAB_HTTP_PORT}/boot.ipxe` : 'boot.ipxe';
  const dnsmasq = lab.spawn('app-dnsmasq', [
    'dnsmasq', '--conf-file=/dev/null', '--keep-in-foreground', '--log-facility=-', '--log-dhcp',
    '--port=0', `--interface=${lab.appIface}`, '--bind-interfaces', '--pid-file=', '--user=root',
    `--dhcp-range=${srv.replace(/\.\d+$/, '.0')},proxy`,
    '--enable-tftp', `--tftp-root=${opts.root}`,
    '--dhcp-userclass=set:ipxe,iPXE',
    // Option 93: 7 and 9 are both x64 UEFI (RFC 4578 swapped them; firmware uses 7).
    '--dhcp-match=set:efi64,option:client-arch,7', '--dhcp-match=set:efi64,option:client-arch,9',
    `--dhcp-boot=tag:ipxe,${scriptFile},,${srv}`,
    // UEFI firmware ignores a proxy offer's boot file and asks the 4011 boot service, which dnsmasq
    // runs only when a pxe-service is configured (protocol-notes.md, firmware quirks).
    `--pxe-service=tag:!ipxe,X86-64_EFI,Bootgate lab,ipxe.efi,${srv}`,
    `--dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,${srv}`,
  ], lab.appNs);
  const httpd = opts.httpd === 'nginx'
    ? lab.spawn('app-nginx', nginxArgv(lab.dir, opts.root, srv, LAB_HTTP_PORT), lab.appNs)
    : lab.spawn('app-httpd', ['busybox', 'httpd', '-f', '-p', `${srv}:${LAB_HTTP_PORT}`, '-h', opts.root], lab.appNs);
  const stop = async (): Promise<void> => {
    await lab.stop(dnsmasq);
    await lab.stop(httpd);
  };
  try {
    // dnsmasq names its TFTP root once its DHCP and TFTP sockets are open; the HTTP servers log nothing.
    await waitListening(lab, dnsmasq, [67, 4011, 69], [], /TFTP root is /);
    await waitListening(lab, httpd, [], [LAB_HTTP_PORT]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { kind: 'dnsmasq', process: dnsmasq, root: opts.root, log: () => lab.readLog(dnsmasq), stop };
}

/** dist/daemon/bootgate.js in this checkout (or BOOTGATE_CLI). */
export function bootgateCli(): string {
  if (process.env.BOOTGATE_CLI) return resolve(process.env.BOOTGATE_CLI);
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root above test/lab');
    dir = up;
  }
  return join(dir, 'dist', 'daemon', 'bootgate.js');
}

export interface BootgateOptions {
  root: string;
  /** The profile's inline iPXE template (labScript output, with {{http}} etc. for Bootgate to render). */
  ipxeScript: string;
  scriptTransport: Transport;
  /** Extra top-level config keys merged over the lab defaults (e.g. a policy). */
  extraConfig?: Record<string, unknown>;
  /** UEFI x64 boot program; ipxe.efi by default (snponly.efi also works with OVMF's SNP). */
  efiBootFile?: string;
}

/** The YAML config the lab hands `bootgate serve`. */
export function bootgateConfig(lab: Pick<Lab, 'dir' | 'appIface'>, opts: BootgateOptions): Record<string, unknown> {
  return {
    root: opts.root,
    server: { interfaces: [lab.appIface] },
    http: { port: LAB_HTTP_PORT },
    store: { path: join(lab.dir, 'bootgate.db') },
    log: { level: 'debug' },
    ipxe: { scriptTransport: opts.scriptTransport },
    policy: { unknown: { action: 'boot', profile: 'lab' } },
    profiles: {
      lab: {
        description: 'firmware lab: Linux kernel + marker initramfs',
        bootFiles: { bios: 'undionly.kpxe', 'efi-x64': opts.efiBootFile ?? 'ipxe.efi' },
        ipxeScript: opts.ipxeScript,
      },
    },
    ...opts.extraConfig,
  };
}

/** Starts `node dist/daemon/bootgate.js serve --config <yaml>` in the app namespace and waits until it listens. */
export async function startBootgate(lab: Lab, opts: BootgateOptions): Promise<Appliance> {
  const cli = bootgateCli();
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npx tsc -p tsconfig.json)`);
  const configPath = join(lab.dir, 'bootgate.yaml');
  writeFileSync(configPath, stringify(bootgateConfig(lab, opts)));
  const proc = lab.spawn('bootgate', [process.execPath, cli, 'serve', '--config', configPath], lab.appNs);
  try {
    // "bootgate ready" comes after every socket is open (daemon/main.ts); the ports are then checked.
    await waitListening(lab, proc, [67, 4011, 69], [LAB_HTTP_PORT], /"msg":"bootgate ready"/);
  } catch (err) {
    await lab.stop(proc);
    throw err;
  }
  return { kind: 'bootgate', process: proc, root: opts.root, log: () => lab.readLog(proc), stop: () => lab.stop(proc) };
}

export type ApplianceKind = Appliance['kind'];

/** The lab's read-write admin token (what `adminTokensFile` writes). */
export const LAB_ADMIN_TOKEN = 'lab-admin-token-5b5b5b5b5b5b5b5b';

/** Writes the lab's admin tokens file and returns its path (for `admin.tokensFile`). */
export function adminTokensFile(lab: Pick<Lab, 'dir'>): string {
  const path = join(lab.dir, 'admin-tokens');
  writeFileSync(path, `${LAB_ADMIN_TOKEN}\n`);
  return path;
}

export type AdminApi = (method: string, path: string, body?: unknown) => Promise<{ status: number; json: unknown }>;

/** The admin API of the lab's Bootgate, called with curl from inside the appliance's namespace. */
export function adminApi(lab: Lab, token = LAB_ADMIN_TOKEN): AdminApi {
  return async (method, path, body) => {
    const argv = ['curl', '-sS', '-m', '10', '-X', method, '-H', `authorization: Bearer ${token}`, '-w', '\n%{http_code}'];
    if (body !== undefined) argv.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
    argv.push(`http://${lab.appAddress}:${LAB_HTTP_PORT}/api/v1${path}`);
    const out = (await lab.run(argv, lab.appNs)).stdout;
    const at = out.lastIndexOf('\n');
    return { status: Number(out.slice(at + 1)), json: out.slice(0, at) ? JSON.parse(out.slice(0, at)) : null };
  };
}

/** Sets a boot password with the CLI against the lab's store (`profile` null: the global one). */
export function setBootPassword(lab: Pick<Lab, 'dir'>, profile: string | null, password: string): void {
  const argv = [bootgateCli(), 'password', 'set', ...(profile ? ['--profile', profile] : []), '--config', join(lab.dir, 'bootgate.yaml')];
  const set = spawnSync(process.execPath, argv, { input: `${password}\n`, encoding: 'utf8', timeout: 30_000 });
  if (set.status !== 0) throw new Error(`bootgate password set failed (${set.status ?? set.signal}): ${set.stderr}`);
}

/**
 * The lab's standard appliance for one transport: boot root + script + daemon. For Bootgate the
 * script uses its rendered {{tftp}} / {{http}} base URLs; for the dnsmasq anchor the literal
 * address. Not `${next-server}`: iPXE resolves that to the site DHCP server's siaddr whenever the
 * site server sets one (dnsmasq does), not to the proxy's.
 */
export async function startLabAppliance(
  lab: Lab, assets: LabAssets, kind: ApplianceKind, transport: Transport, httpd?: StandInOptions['httpd'],
): Promise<Appliance> {
  const name = `root-${kind}-${transport}`;
  if (kind === 'dnsmasq') {
    const base = transport === 'http' ? `http://${lab.appAddress}:${LAB_HTTP_PORT}` : `tftp://${lab.appAddress}`;
    const root = buildBootRoot(lab, assets, labScript(base), name);
    return startDnsmasqProxy(lab, { root, scriptTransport: transport, httpd });
  }
  const script = labScript(transport === 'http' ? '{{http}}' : '{{tftp}}');
  const root = buildBootRoot(lab, assets, script, name);
  return startBootgate(lab, { root, ipxeScript: script, scriptTransport: transport });
}

interface DecisionLine {
  msg?: string;
  mac?: string;
  decision?: string;
  door?: string;
  reason?: string;
  file?: string;
}

function normMac(mac: string): string {
  return mac.toLowerCase().replace(/-/g, ':');
}

/**
 * What the appliance's log says it did for one MAC: Bootgate's pino `decision` lines (fixed keys
 * mac, door, decision, reason, file), or dnsmasq's proxy lines. `booted` is true when it decided
 * to boot that client.
 */
export function applianceEvidence(app: Appliance, mac: string): { booted: boolean; summary: string[] } {
  const log = app.log();
  if (app.kind === 'dnsmasq') {
    const lines = log.split('\n').filter((l) => l.toLowerCase().includes(`pxe(`) && l.toLowerCase().includes(normMac(mac)));
    return { booted: lines.length > 0, summary: lines.map((l) => l.replace(/^dnsmasq-dhcp\[\d+\]: /, '')) };
  }
  const decisions: DecisionLine[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as DecisionLine;
      if (rec.msg === 'decision' && typeof rec.mac === 'string' && normMac(rec.mac) === normMac(mac)) decisions.push(rec);
    } catch {
      // a non-JSON line (e.g. a stack trace) is not a decision
    }
  }
  return {
    booted: decisions.some((d) => d.decision === 'boot'),
    summary: decisions.map((d) => `${d.door ?? '?'}:${d.decision ?? '?'}:${d.reason ?? '?'}${d.file ? `:${d.file}` : ''}`),
  };
}
