/**
 * The DHCP doors (proxyDHCP on 67, PXE boot service on 4011): bytes in, decision, reply out.
 * Owns no socket: the composition root hands it packets and a `send` per endpoint.
 */
import { DecodeError } from '../protocol/errors.js';
import { BootpOp, DhcpMessageType, DhcpOption, DhcpPort } from '../protocol/dhcp/constants.js';
import { decodeDhcp, encodeDhcp, messageType, type DhcpPacket } from '../protocol/dhcp/packet.js';
import { classify } from '../policy/classify.js';
import { offerWaitSeconds, type CoexistRule } from '../policy/coexist.js';
import type { ArchKey, BootTarget, ClientInfo } from '../policy/types.js';
import type { Gatekeeper } from '../boot/gatekeeper.js';
import { rateLimited, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { buildReply, isAnswerable, type ReplyContext } from './proxy.js';

export interface DoorSettings {
  clientPort: number;
  relayPort: number;
  broadcastAddress: string;
  advertiseAddress: string | null;
  httpPort: number | null;
  responseDelaySeconds: number;
  /** Sharing the subnet with another PXE server: unknown clients' offers may wait longer. */
  coexist: CoexistRule;
  /** Option 252 for a profile's client of this architecture (an image's BCD differs per architecture). */
  bcdPathFor(profile: string, arch: ArchKey | null): string | null;
  localTarget(client: ClientInfo): BootTarget | null;
  scriptTarget(client: ClientInfo): BootTarget;
}

export interface Packet {
  msg: Buffer;
  from: { address: string; port: number };
  /** The receiving endpoint: its interface name and address. */
  iface: string | null;
  localAddress: string;
  door: 'dhcp' | 'pxe';
  send: (buf: Uint8Array, port: number, address: string) => void;
}

/** Replies held for a response delay are bounded so a storm cannot pile up timers. */
const MAX_HELD = 4096;

/** The `port` label of bootgate_dhcp_packets_total: the well-known port of the door, whatever port is configured. */
const PORT_LABEL = { dhcp: String(DhcpPort.SERVER), pxe: String(DhcpPort.PXE) } as const;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DhcpMessageType).map(([name, code]) => [code, name.toLowerCase()]),
);

const PXE_CLIENT = Buffer.from('PXEClient', 'latin1');
const HTTP_CLIENT = Buffer.from('HTTPClient', 'latin1');

/** Whether option 60 starts with `prefix`, compared byte by byte (no string per packet). */
function startsWith(value: Buffer, prefix: Buffer): boolean {
  if (value.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (value[i] !== prefix[i]) return false;
  return true;
}

export class DhcpDoor {
  private held = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly logUndecodable = rateLimited(10_000, 5);
  /** Every classified boot client, with the address it reached: later doors identify clients by IP or MAC. */
  onClient: (client: ClientInfo, serverIp: string) => void = () => undefined;

  constructor(
    private readonly gate: Gatekeeper,
    private settings: () => DoorSettings,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  handle(pkt: Packet): void {
    const started = performance.now();
    const port = pkt.door === 'dhcp' ? PORT_LABEL.dhcp : PORT_LABEL.pxe;
    let req: DhcpPacket;
    try {
      req = decodeDhcp(pkt.msg);
    } catch (err) {
      this.undecodable(pkt, err, port);
      return;
    }
    const type = messageType(req);
    const typeName = (type !== null && TYPE_NAMES[type]) || 'other';
    if (req.op !== BootpOp.REQUEST || !isAnswerable(pkt.door, type)) {
      this.metrics.dhcpPackets.tally(port, typeName, 'ignored');
      return;
    }
    // Ignore what is not a PXE/HTTP boot client before the policy even sees it: most of a subnet's DHCP.
    const vc = req.options.get(DhcpOption.VENDOR_CLASS_ID);
    if (!vc || !(startsWith(vc, PXE_CLIENT) || startsWith(vc, HTTP_CLIENT))) {
      this.metrics.dhcpPackets.tally(port, typeName, 'ignored');
      return;
    }
    const client = classify(req, pkt.door, pkt.door === 'pxe' ? pkt.from.address : null);
    const decision = this.gate.decide(client, { xid: req.xid, iface: pkt.iface ?? undefined });
    const s = this.settings();
    const serverIp = s.advertiseAddress ?? pkt.localAddress;
    this.onClient(client, serverIp);
    const ctx: ReplyContext = {
      serverIp,
      httpBase: this.httpBase(serverIp, s.httpPort),
      door: pkt.door,
      source: pkt.from,
      clientPort: s.clientPort,
      relayPort: s.relayPort,
      broadcastAddress: s.broadcastAddress,
      bcdPath: 'profile' in decision ? s.bcdPathFor(decision.profile, client.arch) : null,
      targets: s,
    };
    const reply = buildReply(req, client, decision, ctx);
    if (!reply) {
      this.metrics.dhcpPackets.tally(port, typeName, 'ignored');
      return;
    }
    const bytes = encodeDhcp(reply.packet);
    // Configuration Manager's response delay is judged against the client's `secs` (seconds since it
    // began): a backup server answers only clients the primary has left waiting. A client whose
    // firmware keeps secs at 0 still gets the answer once the remaining delay has passed. Beside another
    // PXE server, unknown clients may wait longer (policy/coexist.ts). Only offers on 67 wait: on 4011
    // the client has already chosen this server.
    const wait = pkt.door === 'dhcp' ? offerWaitSeconds(s.coexist, s.responseDelaySeconds, decision, req.secs) : null;
    if (wait === null || wait.reason === null) {
      this.answer(pkt, bytes, reply, port, typeName);
      this.metrics.dhcpReplySeconds.tally(port, (performance.now() - started) / 1000);
      return;
    }
    const waitMs = wait.seconds * 1000;
    this.metrics.dhcpOffersHeld.inc({ reason: wait.reason });
    if (this.logger.isLevelEnabled('info')) this.logger.info({ mac: client.mac, xid: req.xid, iface: pkt.iface, reason: wait.reason, seconds: wait.seconds }, 'offer held');
    this.metrics.dhcpPackets.tally(port, typeName, 'delayed');
    if (this.held >= MAX_HELD) return;
    this.held += 1;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.held -= 1;
      this.answer(pkt, bytes, reply, port, typeName);
    }, waitMs);
    this.timers.add(timer);
  }

  private lastBase: { serverIp: string; port: number; base: string } | null = null;

  /** The HTTP base URL clients of this address are given; the same string while address and port stay. */
  private httpBase(serverIp: string, port: number | null): string | null {
    if (port === null) return null;
    const last = this.lastBase;
    if (last !== null && last.serverIp === serverIp && last.port === port) return last.base;
    const base = `http://${serverIp}:${port}`;
    this.lastBase = { serverIp, port, base };
    return base;
  }

  /** Sends an encoded reply and counts it (a method, not a closure per packet: a storm's garbage). */
  private answer(pkt: Packet, bytes: Uint8Array, to: { port: number; address: string }, port: string, typeName: string): void {
    pkt.send(bytes, to.port, to.address);
    this.metrics.dhcpPackets.tally(port, typeName, 'answered');
  }

  /** Drops replies still waiting for a response delay (shutdown). */
  cancelHeld(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.held = 0;
  }

  private undecodable(pkt: Packet, err: unknown, port: string): void {
    this.metrics.dhcpPackets.tally(port, 'undecodable', 'malformed');
    if (!(err instanceof DecodeError)) {
      // A decoder bug, not hostile input: still never crash the daemon, but say so loudly.
      this.logger.error({ err, iface: pkt.iface, client: pkt.from.address }, 'decoder threw a non-DecodeError');
      return;
    }
    this.logUndecodable((suppressed) =>
      this.logger.warn(
        { iface: pkt.iface, client: `${pkt.from.address}:${pkt.from.port}`, code: err.code, error: err.message, bytes: pkt.msg.toString('base64'), suppressed },
        'undecodable DHCP packet',
      ),
    );
  }
}
