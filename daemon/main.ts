/**
 * The composition root: the one place that wires config, policy, doors, sockets, TFTP, HTTP and
 * metrics together. Everything below it is constructed here and nowhere else.
 */
import { access, constants as fsConstants } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BootContent } from './boot/content.js';
import { ClientDirectory } from './boot/clients.js';
import { configProblems, effectiveConfig } from './config/defaults.js';
import type { BootgateConfig, ProfileConfig } from './config/schema.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { Gatekeeper } from './boot/gatekeeper.js';
import { buildHttpApp } from './http/app.js';
import { adminApi } from './http/admin/index.js';
import {
  PasswordAdmin, PasswordGate, createPasswordMetrics, passwordAdminRoutes, passwordConfigProblems, unlockRoutes, withPasswordGate,
} from './features/password/index.js';
import { createLogger, type Logger } from './log.js';
import { collectProcessMetrics, createMetrics, type Metrics } from './metrics.js';
import { resolveEndpoints, openUdp, type Endpoint, type UdpListener } from './net/udp.js';
import { createStoreBackend, type StoreBackend } from './store/backend.js';
import { AdminService } from './features/inventory/service.js';
import { attachRollouts, rolloutConfigProblems } from './features/rollout/index.js';
import { openStore } from './store/db.js';
import { Checkpointer } from './store/checkpointer.js';
import { ipxeScriptPath, isIpxeBinary } from './policy/target.js';
import type { BootTarget, ClientInfo } from './policy/types.js';
import { DhcpDoor, type DoorSettings } from './pxe/door.js';
import type { TftpAnswer, TftpServer } from './tftp/server.js';

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

interface Parts {
  cfg: BootgateConfig;
  logger: Logger;
  metrics: Metrics;
  gate: Gatekeeper;
  clients: ClientDirectory;
  backend: StoreBackend;
}

function doorSettings(p: Parts): DoorSettings {
  const { cfg } = p;
  // The iPXE binary per arch from the unknown-computers profile: a native client told to boot locally
  // gets iPXE, whose script says `exit`, instead of waiting out a 60-second PXE timeout.
  const fallback = cfg.profiles[cfg.policy.unknown.profile];
  return {
    clientPort: cfg.server.clientPort,
    relayPort: cfg.server.dhcpPort,
    broadcastAddress: cfg.server.broadcastAddress,
    advertiseAddress: cfg.server.advertiseAddress,
    httpPort: cfg.http.enabled ? cfg.http.port : null,
    // A run-time switch (API/CLI, persisted in the store) on top of the config.
    get responseDelaySeconds() {
      return p.backend.settings().responseDelaySeconds;
    },
    bcdPathFor: (name) => cfg.profiles[name]?.bcdPath ?? null,
    localTarget: (client: ClientInfo): BootTarget | null => {
      const file = client.arch ? fallback?.bootFiles[client.arch] : undefined;
      return file && isIpxeBinary(file) ? { transport: 'tftp', path: file } : null;
    },
    scriptTarget: (client) => ({ transport: cfg.ipxe.scriptTransport, path: ipxeScriptPath(client.mac) }),
  };
}

async function openDhcp(p: Parts, door: DhcpDoor, endpoints: Endpoint[]): Promise<UdpListener[]> {
  const listeners: UdpListener[] = [];
  const pairs: Array<['dhcp' | 'pxe', number]> = [['dhcp', p.cfg.server.dhcpPort], ['pxe', p.cfg.server.pxePort]];
  for (const endpoint of endpoints) {
    for (const [kind, port] of pairs) {
      // One send per listener, not a closure per packet.
      const send = (b: Uint8Array, po: number, a: string) => listener.send(b, po, a);
      const listener: UdpListener = await openUdp({
        port,
        endpoint,
        onMessage: (msg, rinfo, ep) => {
          try {
            door.handle({ msg, from: { address: rinfo.address, port: rinfo.port }, iface: ep.iface, localAddress: ep.address, door: kind, send });
          } catch (err) {
            // A bug must cost one packet, never the appliance.
            p.metrics.dhcpPackets.inc({ port: kind === 'dhcp' ? '67' : '4011', type: 'unknown', result: 'dropped' });
            p.logger.error({ err, iface: ep.iface, client: rinfo.address }, 'DHCP handler failed');
          }
        },
        onError: (err, ep) => p.logger.warn({ iface: ep.iface, err: err.message, port }, 'udp socket error'),
        // Longer than any DHCP message a client sends (a jumbo frame): counted, not logged, like other junk.
        onOversize: () => p.metrics.dhcpPackets.inc({ port: kind === 'dhcp' ? '67' : '4011', type: 'undecodable', result: 'malformed' }),
      });
      listeners.push(listener);
    }
  }
  return listeners;
}

function tftpAnswer(content: BootContent, p: Parts, defaultServer: string) {
  return async (req: { path: string; client: { address: string } }): Promise<TftpAnswer> => {
    const mac = p.clients.macOfIp(req.client.address);
    const serverIp = (mac && p.clients.serverFor(mac)) || defaultServer;
    const a = await content.answer({ path: req.path, clientIp: req.client.address, door: 'tftp', serverIp });
    if (a.kind === 'refuse') return { kind: 'refuse', code: 2, message: a.message, reason: a.reason };
    if (a.kind === 'content') return { kind: 'content', data: a.data };
    return { kind: 'file', path: a.path };
  };
}

async function rootProblem(cfg: BootgateConfig): Promise<string | null> {
  try {
    await access(cfg.root, fsConstants.R_OK | fsConstants.X_OK);
    return null;
  } catch (err) {
    return `boot root ${cfg.root}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`;
  }
}

/** The /metrics token from http.metricsTokenFile: its first non-empty line. A missing or empty file is an error, never an open endpoint. */
export function readMetricsToken(cfg: BootgateConfig): string | null {
  const file = cfg.http.metricsTokenFile;
  if (file === null) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`http.metricsTokenFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  const token = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
  if (!token) throw new Error(`http.metricsTokenFile: ${file} holds no token`);
  return token;
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
  const cfg = effectiveConfig({ ...config, root: resolvePath(config.root) });
  const problems = [...configProblems(cfg), ...rolloutConfigProblems(cfg), ...passwordConfigProblems(cfg).errors];
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

export async function startDaemon(opts: StartOptions): Promise<Daemon> {
  let cfg = prepare(opts.config);
  let metricsToken = readMetricsToken(cfg);
  const logger = opts.logger ?? createLogger(cfg.log.level);
  const metrics = createMetrics(undefined, VERSION);
  collectProcessMetrics(metrics.registry);
  if (cfg.store.path !== ':memory:') mkdirSync(dirname(resolvePath(cfg.store.path)), { recursive: true });
  const store = openStore(cfg.store.path);
  // WAL checkpoints (a copy and an fsync) run on a worker thread, not on the thread answering DHCP.
  const checkpointer = cfg.store.path === ':memory:' ? null : new Checkpointer(store, { logger });
  // Ramped rollouts and maintenance windows: their gate goes into every policy snapshot.
  const rollouts = attachRollouts({
    store, config: () => cfg, registry: metrics.registry, logger, onDone: (c, actor) => new AdminService(store, () => cfg).deploymentDone(c, actor),
  });
  const backend = rollouts.wrap(createStoreBackend(cfg, store, { logger, metrics }));
  const clients = new ClientDirectory();
  // Password-gated boot: the gate sees every decision and answers the script and file doors.
  const passwords = new PasswordGate({
    store, config: () => parts.cfg, logger, metrics: createPasswordMetrics(metrics.registry), macOfIp: (ip) => clients.macOfIp(ip),
  });
  for (const w of passwordConfigProblems(cfg).warnings) logger.warn(w);
  const gate = new Gatekeeper(withPasswordGate(backend, passwords, () => parts.cfg), logger, metrics);
  const parts: Parts = { cfg, logger, metrics, gate, clients, backend };
  gate.onDecision = (client, decision) => {
    if (decision.kind === 'boot') parts.clients.booting(client.mac, decision.profile);
  };
  // A file served in full may be the completion marker that consumes a required deployment.
  const served = (clientIp: string, path: string) => {
    const mac = parts.clients.macOfIp(clientIp);
    const profile = mac && parts.clients.profileFor(mac);
    if (mac && profile) backend.markServed(mac, profile, path);
  };

  // The interfaces switch persisted through the API/CLI wins over the config; sockets are bound once, so a
  // change takes effect at the next start (said in the log when it happens).
  const boundInterfaces = backend.settings().interfaces.join(',');
  const endpoints = cfg.server.bindAddress ? [{ iface: null, address: cfg.server.bindAddress }] : resolveEndpoints(backend.settings().interfaces);
  backend.onSettingsChange((next) => {
    if (next.interfaces.join(',') !== boundInterfaces && !cfg.server.bindAddress) {
      logger.warn({ interfaces: next.interfaces }, 'answering interfaces changed: takes effect at the next start');
    }
  });
  if (endpoints.length === 0) throw new Error('no IPv4 interface to answer on (server.interfaces / --interface)');
  let settings = doorSettings(parts);
  let httpPort: number | null = null;
  const door = new DhcpDoor(gate, () => settings, logger, metrics);
  door.onClient = (client, serverIp) => parts.clients.seen(client, serverIp);
  const content = new BootContent(gate, parts.clients, () => ({
    root: cfg.root,
    httpPort,
    scriptTransport: cfg.ipxe.scriptTransport,
    retrySeconds: cfg.policy.unknown.retrySeconds,
    profile: (name: string): ProfileConfig | undefined => cfg.profiles[name],
  }), passwords);

  // Shutdown phases: stop answering DHCP first, then let transfers finish, then close the store.
  const stopAnswering: Array<() => Promise<void>> = [];
  const drain: Array<(graceMs: number) => Promise<void>> = [];
  let closed = false;
  const close = async (graceMs = 0) => {
    if (closed) return;
    closed = true;
    metrics.ready.set(0);
    for (const c of stopAnswering) await c();
    await Promise.all(drain.map((c) => c(graceMs)));
    backend.close();
    rollouts.close();
    await checkpointer?.stop();
    store.close();
  };
  try {
    const dhcp = await openDhcp(parts, door, endpoints);
    stopAnswering.push(async () => {
      door.cancelHeld();
      await Promise.all(dhcp.map((l) => l.close()));
    });
    let tftp: TftpServer | null = null;
    if (cfg.tftp.enabled) {
      const defaultServer = cfg.server.advertiseAddress ?? endpoints[0]?.address ?? '0.0.0.0';
      // Loaded only when enabled: the engine brings worker threads a TFTP-less appliance does not need.
      const { startTftpServer } = await import('./tftp/server.js');
      tftp = await startTftpServer({
        root: cfg.root,
        address: cfg.server.bindAddress ?? '0.0.0.0',
        port: cfg.tftp.port,
        config: cfg.tftp,
        logger: logger.child({ door: 'tftp' }),
        metrics,
        onRequest: tftpAnswer(content, parts, defaultServer),
        onComplete: (ev) => {
          if (ev.result === 'ok') served(ev.client.address, ev.path);
        },
      });
      const t = tftp;
      drain.push((grace) => t.close(grace));
    }
    const sessions = () => tftp?.sessions() ?? [];
    let http: FastifyInstance | null = null;
    if (cfg.http.enabled) {
      http = await buildHttpApp({
        logger,
        metrics,
        content,
        root: () => cfg.root,
        metricsToken: () => metricsToken,
        onServed: (ev) => served(ev.clientIp, ev.path),
        ready: async () => {
          const checks = { sockets: closed ? 'closed' : null, root: await rootProblem(cfg), store: storeProblem(store) };
          metrics.ready.set(Object.values(checks).every((v) => v === null) ? 1 : 0);
          return checks;
        },
      });
      if (cfg.admin.enabled) {
        const passwordAdmin = new PasswordAdmin(store, () => parts.cfg);
        await http.register(adminApi, {
          prefix: '/api/v1', backend, store, cfg, logger, sessions,
          plugins: [
            rollouts.routes,
            async (a, o) => passwordAdminRoutes(a, { admin: passwordAdmin, actor: o.actor, unlocks: () => passwords.unlocks.list() }),
          ],
        });
      }
      // iPXE sends the typed password here (no admin token: the password is the credential).
      await http.register(unlockRoutes, {
        passwords,
        lockoutMinutes: () => parts.cfg.password.lockoutMinutes,
        decide: (mac, ip) => {
          const known = clients.byMacAddress(mac);
          const client: ClientInfo = known
            ? { ...known, ipxe: true, ip, door: 'ipxe-script' }
            : { mac, archCode: null, arch: null, httpBoot: false, ipxe: true, guid: null, guidSwapped: null, vendorClass: '', ip, door: 'ipxe-script' };
          return gate.decide(client, { file: 'unlock' });
        },
        script: async (mac, ip, serverIp) => {
          const a = await content.answer({ path: ipxeScriptPath(mac), clientIp: ip, door: 'http', serverIp });
          return a.kind === 'content' ? a.data : null;
        },
      });
      await http.listen({ port: cfg.http.port, host: cfg.http.address });
      const h = http;
      // fastify's close waits for responses in flight; bound it by the grace period.
      drain.push((grace) => Promise.race([h.close(), new Promise<void>((r) => setTimeout(r, grace).unref())]));
      // Port 0 (tests) means the kernel chose: URLs in offers and scripts must carry the real one.
      httpPort = (http.server.address() as { port: number }).port;
    }
    settings = { ...settings, httpPort };
    dropPrivileges(cfg, logger);
    metrics.ready.set((await rootProblem(cfg)) === null ? 1 : 0);
    logger.info(
      { endpoints, dhcp: dhcp.map((l) => `${l.endpoint.iface ?? l.endpoint.address}:${l.port}`), tftp: tftp?.port ?? null, http: httpPort, root: cfg.root, profiles: Object.keys(cfg.profiles) },
      'bootgate ready',
    );
    const daemon: Daemon = {
      get config() {
        return cfg;
      },
      logger,
      metrics,
      endpoints,
      http,
      ports: {
        dhcp: dhcp.filter((_, i) => i % 2 === 0).map((l) => l.port),
        pxe: dhcp.filter((_, i) => i % 2 === 1).map((l) => l.port),
        tftp: tftp?.port ?? null,
        http: httpPort,
      },
      sessions,
      reload: (next) => {
        let prepared: BootgateConfig;
        let nextToken: string | null;
        try {
          prepared = prepare(next);
          nextToken = readMetricsToken(prepared);
        } catch (err) {
          metrics.configReloads.inc({ result: 'failed' });
          throw err;
        }
        const restart = RESTART_KEYS.filter(([, get]) => get(prepared) !== get(cfg)).map(([k]) => k);
        cfg = prepared;
        parts.cfg = prepared;
        metricsToken = nextToken;
        backend.reconfigure(prepared);
        rollouts.reconfigure();
        settings = { ...doorSettings(parts), httpPort };
        logger.level = prepared.log.level;
        metrics.configReloads.inc({ result: 'ok' });
        logger.info({ restartNeeded: restart, profiles: Object.keys(prepared.profiles) }, 'configuration reloaded');
        return { restartNeeded: restart };
      },
      close,
    };
    return daemon;
  } catch (err) {
    await close(0).catch(() => undefined);
    throw err;
  }
}
