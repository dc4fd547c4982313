/**
 * The composition root: the one place that wires config, features, policy, doors, sockets, TFTP, HTTP
 * and metrics together. Everything below it is constructed here and nowhere else.
 */
import { access, constants as fsConstants } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BootContent } from './boot/content.js';
import { ClientDirectory } from './boot/clients.js';
import { countMissing, describeMissing, profileReadiness, templateProblems } from './boot/readiness.js';
import { Gatekeeper } from './boot/gatekeeper.js';
import { openDhcpv6Listener, type Dhcpv6Listener } from './net/dhcpv6.js';
import { configProblems, effectiveConfig } from './config/defaults.js';
import { WholeFileCache } from './files/whole-cache.js';
import type { BootgateConfig, ProfileConfig } from './config/schema.js';
import type { AttachedAppliances } from './features/appliances/index.js';
import type { AttachedConsole } from './features/console/index.js';
import type { AttachedFeature, FeatureContext, TransferEnd } from './features/feature.js';
import { STORE_FEATURES, appliances, consoleFeature, featureConfigProblems, password, rollout } from './features/index.js';
import { ServiceHost } from './features/remote.js';
import { bootstrapAdminToken } from './features/tokens/index.js';
import { resolveProfileImages } from './features/images/profiles.js';
import type { AttachedPasswords } from './features/password/index.js';
import { buildAdminApp } from './http/admin-app.js';
import { buildHttpApp } from './http/app.js';
import { adminApiFrame } from './http/admin/index.js';
import { readMetricsToken } from './http/metrics-token.js';
import { startSendfile } from './http/sendfile.js';
import { adminTls, selfSignedPaths, type TlsMaterial } from './http/tls.js';
import { createLogger, type Logger } from './log.js';
import { collectProcessMetrics, createMetrics, type Metrics } from './metrics.js';
import { openDhcpDoors } from './net/dhcp-doors.js';
import { deviceBoundFd, listenOnDevices } from './net/device-socket.js';
import { endpointSubnets, resolveEndpoints, type Endpoint, type UdpListener } from './net/udp.js';
import { DhcpDoor, type DoorSettings } from './pxe/door.js';
import { doorSettings } from './pxe/settings.js';
import { createStoreBackend, type SnapshotParts, type StoreBackend } from './store/backend.js';
import { Checkpointer } from './store/checkpointer.js';
import { openStore, type Store } from './store/db.js';
import type { TftpServer } from './tftp/server.js';

export { readMetricsToken } from './http/metrics-token.js';

export const VERSION = '0.1.0';

export interface Daemon {
  readonly config: BootgateConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly endpoints: Endpoint[];
  readonly ports: { dhcp: number[]; pxe: number[]; tftp: number | null; http: number | null; admin: number | null };
  readonly http: FastifyInstance | null;
  /** The admin listener (admin API, /metrics): its own app with admin.port, else the boot HTTP app. */
  readonly admin: FastifyInstance | null;
  /** Live TFTP transfers (admin API). */
  sessions(): unknown[];
  /**
   * Applies a new configuration without dropping transfers: policy, profiles, delays and scripts at
   * once; socket-level keys are reported as needing a restart. Throws (and keeps the old one) when invalid.
   */
  reload(next: BootgateConfig): { restartNeeded: string[] };
  /** Stops answering DHCP at once, lets transfers finish for up to graceMs, then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

async function rootProblem(cfg: BootgateConfig): Promise<string | null> {
  try {
    await access(cfg.root, fsConstants.R_OK | fsConstants.X_OK);
    return null;
  } catch (err) {
    return `boot root ${cfg.root}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`;
  }
}

/** What /readyz and `/` show: each check 'ok' or why not; the profile files counted on the way. */
async function readiness(core: Core): Promise<{ checks: Record<string, string>; missingFiles: string[] }> {
  const profiles = await profileReadiness(core.cfg);
  countMissing(core.metrics.profileMissingFiles, core.cfg.profiles, profiles.missing);
  const checks = {
    sockets: core.closed ? 'closed' : 'ok',
    root: (await rootProblem(core.cfg)) ?? 'ok',
    store: storeProblem(core) ?? 'ok',
    unknownProfile: profiles.unknownProfile,
  };
  return { checks, missingFiles: profiles.missing.map(describeMissing) };
}

/** At start and on reload: one warning per missing file (profile, arch, path), and the gauge. */
async function warnMissing(core: Core): Promise<boolean> {
  const r = await readiness(core);
  for (const m of r.missingFiles) core.logger.warn(m);
  return Object.values(r.checks).every((v) => v === 'ok');
}

/**
 * SQLite: the store answers a trivial query (open, not corrupted to the point of failing reads).
 * The shared store: the link's health (never a query on this path): degraded, with why, while away.
 */
function storeProblem(core: Core): string | null {
  const { store } = core;
  if (store.shared) return core.backend.health().problem;
  try {
    if (!store.db.open) return 'store closed';
    store.db.prepare('SELECT 1').get();
    return null;
  } catch (err) {
    return `store: ${(err as Error).message}`;
  }
}

/** Config keys that only take effect at start (sockets, ports): a reload that changes them says so. */
const RESTART_KEYS: Array<[string, (c: BootgateConfig) => unknown]> = [
  ['server.interfaces', (c) => c.server.interfaces.join(',')],
  ['server.bindAddress', (c) => c.server.bindAddress],
  ['server.dhcpPort', (c) => c.server.dhcpPort],
  ['server.pxePort', (c) => c.server.pxePort],
  ['tftp', (c) => JSON.stringify(c.tftp)],
  ['http', (c) => JSON.stringify(c.http)],
  ['admin.address', (c) => c.admin.address],
  ['admin.port', (c) => c.admin.port],
  // The certificate is read once at start (prepareAdminTls).
  ['admin.tls', (c) => JSON.stringify(c.admin.tls)],
  ['store.path', (c) => c.store.path],
  ['store.url', (c) => c.store.url],
  ['server.name', (c) => c.server.name],
];

export interface StartOptions {
  config: BootgateConfig;
  logger?: Logger;
}

function prepare(config: BootgateConfig): BootgateConfig {
  // Profiles naming an image get its boot programs and BCD here: a switch of image is this one swap.
  const resolved = resolveProfileImages(effectiveConfig({ ...config, root: resolvePath(config.root) }));
  const cfg = resolved.cfg;
  const problems = [...resolved.errors, ...configProblems(cfg), ...featureConfigProblems(cfg).errors, ...templateProblems(cfg)];
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return cfg;
}

/** When started as root with server.user set, give up root once every privileged port is bound. */
function dropPrivileges(cfg: BootgateConfig, logger: Logger): void {
  if (!cfg.server.user || typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  (process as unknown as { initgroups?: (u: string, g: string) => void }).initgroups?.(cfg.server.user, cfg.server.user);
  process.setgid?.(cfg.server.user);
  process.setuid?.(cfg.server.user);
  logger.info({ user: cfg.server.user, uid: process.getuid() }, 'dropped root privileges');
}


/** The shared PostgreSQL store when store.url is set, else the SQLite file. */
function openDaemonStore(cfg: BootgateConfig): Store {
  const serverName = cfg.server.name ?? hostname();
  if (cfg.store.url) return openStore(cfg.store.url, { serverName, passwordFile: cfg.store.passwordFile });
  if (cfg.store.path !== ':memory:') mkdirSync(dirname(resolvePath(cfg.store.path)), { recursive: true });
  return openStore(cfg.store.path, { serverName });
}

/** Every feature that follows transfers (the console's live feed) sees each end. */
function transferred(core: Core, ev: TransferEnd): void {
  for (const f of core.features) {
    try {
      f.transferred?.(ev);
    } catch (err) {
      core.logger.error({ err: (err as Error).message }, 'transfer observer failed');
    }
  }
}

/** A file served in full may be the completion marker that consumes a required deployment. */
function served(core: Core, clientIp: string, path: string): void {
  const mac = core.clients.macOfIp(clientIp);
  const profile = mac && core.clients.profileFor(mac);
  if (mac && profile) core.backend.markServed(mac, profile, path);
  if (mac) for (const f of core.features) f.served?.(mac, path);
}

/**
 * With server.interfaces named, TFTP and the boot HTTP listener are bound to those interfaces' devices and
 * addresses, as the DHCP sockets are: a request from another subnet never reaches them, and another
 * instance on another interface of the same host holds the same ports. Null: every address, as before.
 */
function deviceEndpoints(endpoints: Endpoint[], interfacesNamed: boolean): Array<{ device: string; address: string }> | null {
  if (!interfacesNamed || endpoints.some((e) => e.iface === null)) return null;
  return endpoints.map((e) => ({ device: e.iface as string, address: e.address }));
}

/**
 * DHCPv6 on the boot interfaces, heard and never answered (the Secure Boot refusal watch reads it). Only
 * when Bootgate answers on named interfaces; a port that cannot be had costs the signal, not the start.
 */
async function listenDhcpv6(core: Core, endpoints: Endpoint[]): Promise<Dhcpv6Listener | null> {
  const ifaces = endpoints.flatMap((e) => (e.iface ? [e.iface] : []));
  if (!core.cfg.server.dhcpv6Listen || ifaces.length === 0) return null;
  const log = core.logger.child({ door: 'dhcpv6' });
  try {
    const l = await openDhcpv6Listener({
      interfaces: ifaces,
      onMessage: (msg, from) => {
        for (const f of core.features) {
          try {
            f.dhcpv6?.(msg, from);
          } catch (err) {
            log.error({ err, client: from }, 'DHCPv6 handler failed');
          }
        }
      },
      onError: (err) => log.warn({ err: err.message }, 'DHCPv6 socket error'),
    });
    log.info({ interfaces: ifaces, port: l.port }, 'listening for DHCPv6 (never answered): PXE over IPv6 after a Secure Boot refusal');
    return l;
  } catch (err) {
    log.warn({ err: (err as Error).message, interfaces: ifaces }, 'cannot listen for DHCPv6 on port 547: Secure Boot refusals are noticed from the later HTTP boot or PXE attempt instead');
    return null;
  }
}

async function startTftp(core: Core, endpoints: Endpoint[], devices: Array<{ device: string; address: string }> | null): Promise<TftpServer | null> {
  const { cfg } = core;
  if (!cfg.tftp.enabled) return null;
  const defaultServer = cfg.server.advertiseAddress ?? endpoints[0]?.address ?? '0.0.0.0';
  // Loaded only when enabled: the engine brings worker threads a TFTP-less appliance does not need.
  const { startTftpServer } = await import('./tftp/server.js');
  return startTftpServer({
    root: cfg.root,
    address: cfg.server.bindAddress ?? '0.0.0.0',
    devices: devices ? { endpoints: devices, boundFd: (device, address, port) => deviceBoundFd('udp', { device, address, port }) } : undefined,
    port: cfg.tftp.port,
    config: cfg.tftp,
    logger: core.logger.child({ door: 'tftp' }),
    metrics: core.metrics,
    onRequest: (req) => core.content.forTftp(req.path, req.client.address, defaultServer),
    redact: (path, clientIp) => core.content.redactTftp(path, clientIp),
    warmUp: true,
    onComplete: (ev) => {
      if (ev.result === 'ok') served(core, ev.client.address, ev.path);
      transferred(core, { door: 'tftp', clientIp: ev.client.address, path: ev.path, bytes: ev.bytes, result: ev.result, seconds: ev.seconds });
    },
  });
}

/**
 * The admin listener's certificate, made or read once at start so its fingerprint is in the log from
 * the first start on. The admin's own pair must be valid (the start fails, naming the file); a
 * self-signed pair that cannot be written (read-only disk) is kept in memory for this run.
 */
async function prepareAdminTls(cfg: BootgateConfig, logger: Logger): Promise<TlsMaterial | null> {
  if (!cfg.admin.enabled && cfg.admin.port === null) return null;
  let tls: TlsMaterial;
  try {
    tls = await adminTls(cfg.admin.tls, selfSignedPaths(cfg.store.path));
  } catch (err) {
    if (cfg.admin.tls.cert !== null) throw err;
    logger.warn({ err: (err as Error).message }, 'admin TLS: cannot keep a self-signed certificate next to the store; using one for this run only');
    tls = await adminTls(cfg.admin.tls, null);
  }
  logger.info({ file: tls.certFile || undefined, source: tls.source, sha256: tls.fingerprint256 }, 'admin TLS certificate');
  return tls;
}

/** Where the admin listener is when it is its own (admin.port), as the `/` page and the log say it. */
function adminAddress(cfg: BootgateConfig): string {
  return cfg.admin.address ?? cfg.http.address;
}

function readyFor(core: Core): () => Promise<{ checks: Record<string, string>; missingFiles: string[] }> {
  return async () => {
    const r = await readiness(core);
    core.metrics.ready.set(Object.values(r.checks).every((v) => v === 'ok') ? 1 : 0);
    return r;
  };
}

/** Everything an admin reaches on the admin listener, whichever app that is. */
async function registerAdminRoutes(core: Core, app: FastifyInstance): Promise<void> {
  const { cfg, logger } = core;
  if (cfg.admin.enabled) {
    // The first start writes a token for the CLI on this host when none is configured.
    const tokensFile = bootstrapAdminToken(cfg, process.env, logger);
    await app.register(adminApiFrame, { prefix: '/api/v1', cfg, logger, tokensFile, plugins: core.features.flatMap((f) => f.routes ?? []) });
    // The console (/console/) sits beside the admin API it shares tokens with.
    await core.console.mount(app);
  }
}

interface Listening {
  app: FastifyInstance;
  close: (graceMs: number) => Promise<void>;
}

/** fastify's close waits for responses in flight; bound it by the grace period. */
function closeWithin(app: FastifyInstance, extra: () => Promise<void> = async () => undefined): (graceMs: number) => Promise<void> {
  return async (grace) => {
    await extra();
    await Promise.race([app.close(), new Promise<void>((r) => setTimeout(r, grace).unref())]);
  };
}

async function startHttp(core: Core, devices: Array<{ device: string; address: string }> | null): Promise<Listening | null> {
  const { cfg, logger, metrics } = core;
  if (!cfg.http.enabled) return null;
  const separateAdmin = cfg.admin.port !== null;
  const sendfile = cfg.http.sendfile ? startSendfile() : null;
  if (cfg.http.sendfile && !sendfile) logger.warn('http.sendfile: sendfile(2) is not available here (no koffi or not Linux); boot files are written through Node');
  const http = await buildHttpApp({
    logger,
    metrics,
    content: core.content,
    memory: core.httpFiles,
    sendfile,
    root: () => core.cfg.root,
    metricsToken: () => core.metricsToken,
    onServed: (ev) => {
      served(core, ev.clientIp, ev.path);
      transferred(core, { door: 'http', clientIp: ev.clientIp, path: ev.path, bytes: ev.bytes, result: 'ok' });
    },
    version: VERSION,
    adminApi: cfg.admin.enabled,
    adminElsewhere: separateAdmin ? `https://${adminAddress(cfg)}:${String(core.adminPort ?? cfg.admin.port)}` : undefined,
    ready: readyFor(core),
  });
  if (sendfile) http.addHook('onClose', () => sendfile.close());
  if (!separateAdmin) await registerAdminRoutes(core, http);
  // iPXE sends the typed password here (no admin token: the password is the credential).
  await http.register(core.passwords.unlockRoutes, {
    decide: (mac: string, ip: string) => core.content.decideForScript(mac, ip),
    script: (mac: string, ip: string, serverIp: string) => core.content.scriptFor(mac, ip, serverIp),
  });
  if (devices === null) {
    await http.listen({ port: cfg.http.port, host: cfg.http.address });
    core.httpPort = (http.server.address() as { port: number }).port;
    return { app: http, close: closeWithin(http) };
  }
  // One app, served on a device-bound socket per interface: each accepted connection is handed to its server.
  await http.ready();
  const listeners = await listenOnDevices(devices.map((d) => ({ ...d, port: cfg.http.port })), (sock) => http.server.emit('connection', sock));
  core.httpPort = listeners.port;
  return { app: http, close: closeWithin(http, () => listeners.close()) };
}

/**
 * The admin listener of its own (admin.port), over HTTPS; or null when the boot HTTP app serves the
 * admin API (plain HTTP, as iPXE needs: then the console is for this host or a trusted network only).
 */
async function startAdmin(core: Core): Promise<Listening | null> {
  const { cfg, logger, metrics } = core;
  if (cfg.admin.port === null) return null;
  const https = core.adminTls ?? undefined;
  const admin = await buildAdminApp({ logger, metrics, metricsToken: () => core.metricsToken, ready: readyFor(core), https });
  await registerAdminRoutes(core, admin);
  await admin.listen({ port: cfg.admin.port, host: adminAddress(cfg) });
  core.adminPort = (admin.server.address() as { port: number }).port;
  return { app: admin, close: closeWithin(admin) };
}

/**
 * The running configuration and what is built on it: the store, every attached feature, and the one
 * decision path (backend with the features' snapshot parts, gatekeeper, boot content) the doors share.
 */
class Core {
  readonly store: Store;
  readonly clients = new ClientDirectory();
  readonly features: AttachedFeature[] = [];
  readonly passwords: AttachedPasswords;
  readonly console: AttachedConsole;
  readonly appliances: AttachedAppliances;
  readonly backend: StoreBackend;
  /** Where the admin API's services run (their own thread on the shared store). */
  readonly services: ServiceHost;
  readonly gate: Gatekeeper;
  readonly content: BootContent;
  /** Boot files the HTTP door writes from memory (http.cacheBytes; resized on reload). */
  readonly httpFiles: WholeFileCache;
  /** Port 0 (tests) means the kernel chose: URLs in offers and scripts carry the real one. */
  httpPort: number | null = null;
  /** The admin listener's port when it is its own (admin.port). */
  adminPort: number | null = null;
  /** Live TFTP transfers, once the engine runs. */
  sessions: () => unknown[] = () => [];
  /** The certificate the admin listener serves (made on first start when the config names none). */
  adminTls: TlsMaterial | null = null;
  closed = false;
  /** What the DHCP doors read per packet; replaced on reload and once the HTTP port is known. */
  doors: DoorSettings;

  /** `cfg` follows reloads; every feature reads it through its context. */
  constructor(public cfg: BootgateConfig, public metricsToken: string | null, readonly logger: Logger, readonly metrics: Metrics) {
    this.store = openDaemonStore(cfg);
    this.httpFiles = new WholeFileCache(cfg.http.cacheBytes);
    this.services = new ServiceHost({ ctx: { store: this.store, config: () => this.cfg, logger }, logger, settled: () => this.backend.settled() });
    try {
      const ctx: FeatureContext = {
        store: this.store, config: () => this.cfg, logger, registry: metrics.registry,
        macOfIp: (ip) => this.clients.macOfIp(ip), macOfGuid: (g) => this.clients.macOfGuid(g), sessions: () => this.sessions(),
        remote: (def) => this.services.remote(def),
      };
      for (const f of STORE_FEATURES) this.features.push(f.attach(ctx));
      this.features.push(rollout.attach(ctx));
      this.passwords = password.attach(ctx);
      this.features.push(this.passwords);
      this.appliances = appliances.attach(ctx);
      this.features.push(this.appliances);
      this.console = consoleFeature.attach(ctx);
      this.features.push(this.console);
      for (const w of featureConfigProblems(cfg).warnings) logger.warn(w);
      const parts: SnapshotParts = Object.assign({}, ...this.features.map((f) => f.snapshot ?? {}));
      this.backend = createStoreBackend(cfg, this.store, { logger, metrics, parts });
      this.backend.onStoreState((down) => this.services.storeState(down));
      this.services.warm();
      this.gate = new Gatekeeper(this.backend, logger, metrics);
      this.gate.observe((client, decision) => {
        if (decision.kind === 'boot') this.clients.booting(client.mac, decision.profile);
      });
      for (const f of this.features) if (f.observe) this.gate.observe(f.observe);
      for (const f of this.features) if (f.precede) this.gate.precede(f.precede);
      this.content = new BootContent(this.gate, this.clients, () => ({
        root: this.cfg.root,
        httpPort: this.httpPort,
        scriptTransport: this.cfg.ipxe.scriptTransport,
        retrySeconds: this.cfg.policy.unknown.retrySeconds,
        profile: (name: string): ProfileConfig | undefined => this.cfg.profiles[name],
        profiles: this.cfg.profiles,
        menu: this.cfg.menu,
        version: VERSION,
      }), this.passwords.gate);
      this.doors = this.doorSettings();
    } catch (err) {
      for (const f of this.features) f.close?.();
      this.services.close();
      this.store.close();
      throw err;
    }
  }

  doorSettings(): DoorSettings {
    return doorSettings(this.cfg, () => this.backend.settings().responseDelaySeconds, this.httpPort);
  }

  /** A new configuration without dropping transfers; throws (keeping the running one) when it is invalid. */
  reload(next: BootgateConfig): { restartNeeded: string[] } {
    let prepared: BootgateConfig;
    let nextToken: string | null;
    try {
      prepared = prepare(next);
      nextToken = readMetricsToken(prepared);
    } catch (err) {
      this.metrics.configReloads.inc({ result: 'failed' });
      throw err;
    }
    const restart = RESTART_KEYS.filter(([, get]) => get(prepared) !== get(this.cfg)).map(([k]) => k);
    this.cfg = prepared;
    this.metricsToken = nextToken;
    this.backend.reconfigure(prepared);
    this.services.reconfigure(prepared);
    this.httpFiles.resize(prepared.http.cacheBytes);
    for (const f of this.features) f.reconfigure?.();
    this.doors = this.doorSettings();
    this.logger.level = prepared.log.level;
    this.metrics.configReloads.inc({ result: 'ok' });
    void warnMissing(this).then((ok) => this.metrics.ready.set(ok ? 1 : 0), () => undefined);
    this.logger.info({ restartNeeded: restart, profiles: Object.keys(prepared.profiles) }, 'configuration reloaded');
    return { restartNeeded: restart };
  }
}

export async function startDaemon(opts: StartOptions): Promise<Daemon> {
  const logger = opts.logger ?? createLogger(opts.config.log.level);
  const cfg = prepare(opts.config);
  const metrics = createMetrics(undefined, VERSION);
  collectProcessMetrics(metrics.registry);
  const core = new Core(cfg, readMetricsToken(cfg), logger, metrics);
  const { backend, store } = core;
  // WAL checkpoints (a copy and an fsync) run on a worker thread, not on the thread answering DHCP.
  const checkpointer = cfg.store.path === ':memory:' || store.shared ? null : new Checkpointer(store, { logger });

  // The interfaces switch persisted through the API/CLI wins over the config; sockets are bound once, so a
  // change takes effect at the next start (said in the log when it happens).
  const boundInterfaces = backend.settings().interfaces.join(',');
  backend.onSettingsChange((next) => {
    if (next.interfaces.join(',') !== boundInterfaces && !core.cfg.server.bindAddress) {
      logger.warn({ interfaces: next.interfaces }, 'answering interfaces changed: takes effect at the next start');
    }
  });
  const door = new DhcpDoor(core.gate, () => core.doors, logger, metrics);
  door.onClient = (client, serverIp) => core.clients.seen(client, serverIp);

  // Shutdown phases: stop answering DHCP first, then let transfers finish, then close the store.
  const stopAnswering: Array<() => Promise<void>> = [];
  const drain: Array<(graceMs: number) => Promise<void>> = [];
  const close = async (graceMs = 0) => {
    if (core.closed) return;
    core.closed = true;
    metrics.ready.set(0);
    for (const c of stopAnswering) await c();
    await Promise.all(drain.map((c) => c(graceMs)));
    // The shared store's journal goes out before the link closes (as far as the store is reachable).
    await backend.drain().catch(() => undefined);
    backend.close();
    for (const f of core.features) f.close?.();
    core.services.close();
    await checkpointer?.stop();
    store.close();
  };
  try {
    const endpoints = cfg.server.bindAddress ? [{ iface: null, address: cfg.server.bindAddress }] : resolveEndpoints(backend.settings().interfaces);
    if (endpoints.length === 0) throw new Error('no IPv4 interface to answer on (server.interfaces / --interface)');
    const dhcp: UdpListener[] = await openDhcpDoors(door, endpoints, { dhcp: cfg.server.dhcpPort, pxe: cfg.server.pxePort }, metrics, logger);
    stopAnswering.push(async () => {
      door.cancelHeld();
      await Promise.all(dhcp.map((l) => l.close()));
    });
    const v6 = await listenDhcpv6(core, endpoints);
    if (v6) stopAnswering.push(() => v6.close());
    const devices = deviceEndpoints(endpoints, backend.settings().interfaces.length > 0);
    const tftp = await startTftp(core, endpoints, devices);
    if (tftp) drain.push((grace) => tftp.close(grace));
    core.sessions = () => tftp?.sessions() ?? [];
    core.adminTls = await prepareAdminTls(cfg, logger);
    // The admin listener first: the boot listener's `/` page names its port.
    const admin = await startAdmin(core);
    if (admin) drain.push(admin.close);
    const http = await startHttp(core, devices);
    if (http) drain.push(http.close);
    core.doors = core.doorSettings();
    dropPrivileges(cfg, logger);
    metrics.ready.set((await warnMissing(core)) ? 1 : 0);
    const subnets = endpointSubnets(endpoints);
    core.appliances.startHeartbeat({
      state: async () => {
        const r = await readiness(core);
        const notOk = Object.entries(r.checks).filter(([, v]) => v !== 'ok').map(([k, v]) => `${k}: ${v}`);
        return { subnets, ready: notOk.length === 0, readiness: notOk, storeState: storeProblem(core) ?? 'ok' };
      },
      write: (beat) => backend.heartbeat(beat),
    }, VERSION);
    logger.info(
      { endpoints, dhcp: dhcp.map((l) => `${l.endpoint.iface ?? l.endpoint.address}:${l.port}`), tftp: tftp?.port ?? null, http: core.httpPort, admin: core.adminPort ?? (http && cfg.admin.enabled ? core.httpPort : null), boundToDevices: devices !== null, root: cfg.root, profiles: Object.keys(cfg.profiles) },
      'bootgate ready',
    );
    return {
      get config() {
        return core.cfg;
      },
      logger,
      metrics,
      endpoints,
      http: http?.app ?? null,
      admin: admin?.app ?? http?.app ?? null,
      ports: {
        dhcp: dhcp.filter((_, i) => i % 2 === 0).map((l) => l.port),
        pxe: dhcp.filter((_, i) => i % 2 === 1).map((l) => l.port),
        tftp: tftp?.port ?? null,
        http: core.httpPort,
        admin: core.adminPort ?? (http ? core.httpPort : null),
      },
      sessions: () => core.sessions(),
      reload: (next) => core.reload(next),
      close,
    };
  } catch (err) {
    await close(0).catch(() => undefined);
    throw err;
  }
}
