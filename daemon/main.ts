/**
 * The composition root: the one place that wires config, policy, doors, sockets, TFTP, HTTP and
 * metrics together. Everything below it is constructed here and nowhere else.
 */
import { access, constants as fsConstants } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BootContent } from './boot/content.js';
import { ClientDirectory } from './boot/clients.js';
import { configProblems, effectiveConfig } from './config/defaults.js';
import type { BootgateConfig, ProfileConfig } from './config/schema.js';
import { configOnlyBackend, Gatekeeper, type PolicyBackend } from './gatekeeper.js';
import { buildHttpApp } from './http/app.js';
import { createLogger, type Logger } from './log.js';
import { collectProcessMetrics, createMetrics, type Metrics } from './metrics.js';
import { resolveEndpoints, openUdp, type Endpoint, type UdpListener } from './net/udp.js';
import { snapshotFromConfig } from './policy/decide.js';
import { ipxeScriptPath, isIpxeBinary } from './policy/target.js';
import type { BootTarget, ClientInfo } from './policy/types.js';
import { DhcpDoor, type DoorSettings } from './pxe/door.js';
import { startTftpServer, type TftpAnswer, type TftpServer } from './tftp/server.js';

export const VERSION = '0.1.0';

export interface Daemon {
  readonly config: BootgateConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly endpoints: Endpoint[];
  readonly ports: { dhcp: number[]; pxe: number[]; tftp: number | null; http: number | null };
  readonly http: FastifyInstance | null;
  close(graceMs?: number): Promise<void>;
}

interface Parts {
  cfg: BootgateConfig;
  logger: Logger;
  metrics: Metrics;
  gate: Gatekeeper;
  clients: ClientDirectory;
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
    responseDelaySeconds: cfg.server.responseDelaySeconds,
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
      const listener: UdpListener = await openUdp({
        port,
        endpoint,
        onMessage: (msg, rinfo, ep) => {
          try {
            door.handle({ msg, from: { address: rinfo.address, port: rinfo.port }, iface: ep.iface, localAddress: ep.address, door: kind, send: (b, po, a) => listener.send(b, po, a) });
          } catch (err) {
            // A bug must cost one packet, never the appliance.
            p.metrics.dhcpPackets.inc({ port: kind === 'dhcp' ? '67' : '4011', type: 'unknown', result: 'dropped' });
            p.logger.error({ err, iface: ep.iface, client: rinfo.address }, 'DHCP handler failed');
          }
        },
        onError: (err, ep) => p.logger.warn({ iface: ep.iface, err: err.message, port }, 'udp socket error'),
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

async function readiness(cfg: BootgateConfig): Promise<string | null> {
  try {
    await access(cfg.root, fsConstants.R_OK | fsConstants.X_OK);
    return null;
  } catch (err) {
    return `boot root ${cfg.root}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`;
  }
}

export interface StartOptions {
  config: BootgateConfig;
  logger?: Logger;
  backend?: (cfg: BootgateConfig, logger: Logger, metrics: Metrics) => PolicyBackend;
}

export async function startDaemon(opts: StartOptions): Promise<Daemon> {
  const cfg = effectiveConfig({ ...opts.config, root: resolvePath(opts.config.root) });
  const logger = opts.logger ?? createLogger(cfg.log.level);
  const problems = configProblems(cfg);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const metrics = createMetrics(undefined, VERSION);
  collectProcessMetrics(metrics.registry);
  const backend = opts.backend ? opts.backend(cfg, logger, metrics) : configOnlyBackend(snapshotFromConfig(cfg));
  const parts: Parts = { cfg, logger, metrics, gate: new Gatekeeper(backend, logger, metrics), clients: new ClientDirectory() };

  const endpoints = cfg.server.bindAddress ? [{ iface: null, address: cfg.server.bindAddress }] : resolveEndpoints(cfg.server.interfaces);
  if (endpoints.length === 0) throw new Error('no IPv4 interface to answer on (server.interfaces / --interface)');
  const settings = doorSettings(parts);
  const door = new DhcpDoor(parts.gate, () => settings, logger, metrics);
  door.onClient = (client, serverIp) => parts.clients.seen(client, serverIp);
  const content = new BootContent(parts.gate, parts.clients, () => ({
    root: cfg.root,
    httpPort: settings.httpPort,
    scriptTransport: cfg.ipxe.scriptTransport,
    retrySeconds: cfg.policy.unknown.retrySeconds,
    profile: (name: string): ProfileConfig | undefined => cfg.profiles[name],
  }));

  const closers: Array<(graceMs: number) => Promise<void>> = [];
  try {
    const dhcp = await openDhcp(parts, door, endpoints);
    closers.push(async () => {
      door.cancelHeld();
      await Promise.all(dhcp.map((l) => l.close()));
    });
    let tftp: TftpServer | null = null;
    if (cfg.tftp.enabled) {
      const defaultServer = cfg.server.advertiseAddress ?? endpoints[0]?.address ?? '0.0.0.0';
      tftp = await startTftpServer({
        root: cfg.root,
        address: cfg.server.bindAddress ?? '0.0.0.0',
        port: cfg.tftp.port,
        config: cfg.tftp,
        logger: logger.child({ door: 'tftp' }),
        metrics,
        onRequest: tftpAnswer(content, parts, defaultServer),
      });
      const t = tftp;
      closers.unshift((grace) => t.close(grace));
    }
    let http: FastifyInstance | null = null;
    if (cfg.http.enabled) {
      http = await buildHttpApp({
        logger,
        metrics,
        content,
        root: () => cfg.root,
        ready: async () => ({ sockets: null, root: await readiness(cfg) }),
      });
      await http.listen({ port: cfg.http.port, host: cfg.http.address });
      const h = http;
      closers.unshift(() => h.close());
    }
    const httpPort = http ? (http.server.address() as { port: number }).port : null;
    // Port 0 (tests) means the kernel chose: URLs in offers and scripts must carry the real one.
    settings.httpPort = httpPort;
    logger.info(
      { endpoints, dhcp: dhcp.map((l) => `${l.endpoint.iface ?? l.endpoint.address}:${l.port}`), tftp: tftp?.port ?? null, http: httpPort, root: cfg.root, profiles: Object.keys(cfg.profiles) },
      'bootgate ready',
    );
    return {
      config: cfg,
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
      close: async (graceMs = 0) => {
        for (const c of closers) await c(graceMs);
      },
    };
  } catch (err) {
    for (const c of closers) await c(0).catch(() => undefined);
    throw err;
  }
}
