/**
 * The composition root: the one place that wires config, features, policy, doors, sockets, TFTP, HTTP
 * and metrics together. Everything below it is constructed here and nowhere else.
 */
import { access, constants as fsConstants } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BootContent } from './boot/content.js';
import { ClientDirectory } from './boot/clients.js';
import { countMissing, describeMissing, profileReadiness, templateProblems } from './boot/readiness.js';
import { Gatekeeper } from './boot/gatekeeper.js';
import { configProblems, effectiveConfig } from './config/defaults.js';
import type { BootgateConfig, ProfileConfig } from './config/schema.js';
import type { AttachedFeature, FeatureContext } from './features/feature.js';
import { STORE_FEATURES, featureConfigProblems, password, rollout } from './features/index.js';
import { resolveProfileImages } from './features/images/profiles.js';
import type { AttachedPasswords } from './features/password/index.js';
import { buildHttpApp } from './http/app.js';
import { adminApiFrame } from './http/admin/index.js';
import { readMetricsToken } from './http/metrics-token.js';
import { createLogger, type Logger } from './log.js';
import { collectProcessMetrics, createMetrics, type Metrics } from './metrics.js';
import { openDhcpDoors } from './net/dhcp-doors.js';
import { resolveEndpoints, type Endpoint, type UdpListener } from './net/udp.js';
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
  readonly ports: { dhcp: number[]; pxe: number[]; tftp: number | null; http: number | null };
  readonly http: FastifyInstance | null;
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
    store: storeProblem(core.store) ?? 'ok',
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

/** The store answers a trivial query (open, not corrupted to the point of failing reads). */
function storeProblem(store: { db: { open: boolean; prepare(sql: string): { get(): unknown } } }): string | null {
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
  ['store.path', (c) => c.store.path],
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


function openDaemonStore(cfg: BootgateConfig): Store {
  if (cfg.store.path !== ':memory:') mkdirSync(dirname(resolvePath(cfg.store.path)), { recursive: true });
  return openStore(cfg.store.path);
}

/** A file served in full may be the completion marker that consumes a required deployment. */
function served(core: Core, clientIp: string, path: string): void {
  const mac = core.clients.macOfIp(clientIp);
  const profile = mac && core.clients.profileFor(mac);
  if (mac && profile) core.backend.markServed(mac, profile, path);
  if (mac) for (const f of core.features) f.served?.(mac, path);
}

async function startTftp(core: Core, endpoints: Endpoint[]): Promise<TftpServer | null> {
  const { cfg } = core;
  if (!cfg.tftp.enabled) return null;
  const defaultServer = cfg.server.advertiseAddress ?? endpoints[0]?.address ?? '0.0.0.0';
  // Loaded only when enabled: the engine brings worker threads a TFTP-less appliance does not need.
  const { startTftpServer } = await import('./tftp/server.js');
  return startTftpServer({
    root: cfg.root,
    address: cfg.server.bindAddress ?? '0.0.0.0',
    port: cfg.tftp.port,
    config: cfg.tftp,
    logger: core.logger.child({ door: 'tftp' }),
    metrics: core.metrics,
    onRequest: (req) => core.content.forTftp(req.path, req.client.address, defaultServer),
    onComplete: (ev) => {
      if (ev.result === 'ok') served(core, ev.client.address, ev.path);
    },
  });
}

async function startHttp(core: Core): Promise<FastifyInstance | null> {
  const { cfg, logger, metrics } = core;
  if (!cfg.http.enabled) return null;
  const http = await buildHttpApp({
    logger,
    metrics,
    content: core.content,
    root: () => core.cfg.root,
    metricsToken: () => core.metricsToken,
    onServed: (ev) => served(core, ev.clientIp, ev.path),
    version: VERSION,
    adminApi: cfg.admin.enabled,
    ready: async () => {
      const r = await readiness(core);
      metrics.ready.set(Object.values(r.checks).every((v) => v === 'ok') ? 1 : 0);
      return r;
    },
  });
  if (cfg.admin.enabled) {
    await http.register(adminApiFrame, { prefix: '/api/v1', cfg, logger, plugins: core.features.flatMap((f) => f.routes ?? []) });
  }
  // iPXE sends the typed password here (no admin token: the password is the credential).
  await http.register(core.passwords.unlockRoutes, {
    decide: (mac: string, ip: string) => core.content.decideForScript(mac, ip),
    script: (mac: string, ip: string, serverIp: string) => core.content.scriptFor(mac, ip, serverIp),
  });
  await http.listen({ port: cfg.http.port, host: cfg.http.address });
  core.httpPort = (http.server.address() as { port: number }).port;
  return http;
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
  readonly backend: StoreBackend;
  readonly gate: Gatekeeper;
  readonly content: BootContent;
  /** Port 0 (tests) means the kernel chose: URLs in offers and scripts carry the real one. */
  httpPort: number | null = null;
  /** Live TFTP transfers, once the engine runs. */
  sessions: () => unknown[] = () => [];
  closed = false;
  /** What the DHCP doors read per packet; replaced on reload and once the HTTP port is known. */
  doors: DoorSettings;

  /** `cfg` follows reloads; every feature reads it through its context. */
  constructor(public cfg: BootgateConfig, public metricsToken: string | null, readonly logger: Logger, readonly metrics: Metrics) {
    this.store = openDaemonStore(cfg);
    try {
      const ctx: FeatureContext = {
        store: this.store, config: () => this.cfg, logger, registry: metrics.registry,
        macOfIp: (ip) => this.clients.macOfIp(ip), sessions: () => this.sessions(),
      };
      for (const f of STORE_FEATURES) this.features.push(f.attach(ctx));
      this.features.push(rollout.attach(ctx));
      this.passwords = password.attach(ctx);
      this.features.push(this.passwords);
      for (const w of featureConfigProblems(cfg).warnings) logger.warn(w);
      const parts: SnapshotParts = Object.assign({}, ...this.features.map((f) => f.snapshot ?? {}));
      this.backend = createStoreBackend(cfg, this.store, { logger, metrics, parts });
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
  const checkpointer = cfg.store.path === ':memory:' ? null : new Checkpointer(store, { logger });

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
    backend.close();
    for (const f of core.features) f.close?.();
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
    const tftp = await startTftp(core, endpoints);
    if (tftp) drain.push((grace) => tftp.close(grace));
    core.sessions = () => tftp?.sessions() ?? [];
    const http = await startHttp(core);
    // fastify's close waits for responses in flight; bound it by the grace period.
    if (http) drain.push((grace) => Promise.race([http.close(), new Promise<void>((r) => setTimeout(r, grace).unref())]));
    core.doors = core.doorSettings();
    dropPrivileges(cfg, logger);
    metrics.ready.set((await warnMissing(core)) ? 1 : 0);
    logger.info(
      { endpoints, dhcp: dhcp.map((l) => `${l.endpoint.iface ?? l.endpoint.address}:${l.port}`), tftp: tftp?.port ?? null, http: core.httpPort, root: cfg.root, profiles: Object.keys(cfg.profiles) },
      'bootgate ready',
    );
    return {
      get config() {
        return core.cfg;
      },
      logger,
      metrics,
      endpoints,
      http,
      ports: {
        dhcp: dhcp.filter((_, i) => i % 2 === 0).map((l) => l.port),
        pxe: dhcp.filter((_, i) => i % 2 === 1).map((l) => l.port),
        tftp: tftp?.port ?? null,
        http: core.httpPort,
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
