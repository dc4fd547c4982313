/**
 * The proxyDHCP offer (port 67) and the PXE boot service ACK (port 4011): pure functions from the
 * request, the client's classification and the policy decision to a reply and where it goes.
 * Never an address: yiaddr stays 0.0.0.0 (proxy mode, PXE 2.1 section 2.2.5).
 */
import { BROADCAST_FLAG, BootpLayout, BootpOp, DhcpMessageType, DhcpOption, PxeDiscoveryControl, PxeVendorOption } from '../protocol/dhcp/constants.js';
import type { DhcpPacket } from '../protocol/dhcp/packet.js';
import { decodeVendorOptions, encodeVendorOptions } from '../protocol/dhcp/vendor-options.js';
import { ipv4Bytes } from '../protocol/dhcp/ipv4.js';
import type { BootTarget, ClientInfo, Decision } from '../policy/types.js';

export interface ReplyContext {
  /** Address of the interface the request came in on: option 54 and next-server. */
  serverIp: string;
  /** `http://10.77.0.2:8080` or null when HTTP is off. */
  httpBase: string | null;
  /** Which door: 67 answers DISCOVER with OFFER, 4011 answers REQUEST/INFORM with ACK. */
  door: 'dhcp' | 'pxe';
  /** Where the request came from (the 4011 answer goes back to it: OVMF sends from 4011 and listens there). */
  source: { address: string; port: number };
  clientPort: number;
  relayPort: number;
  broadcastAddress: string;
  /** Windows boot manager BCD path (option 252) for the chosen profile, when it has one. */
  bcdPath: string | null;
  /** Targets only some decisions need, asked for then (one shared object, nothing built per packet). */
  targets: ClientTargets;
}

export interface ClientTargets {
  /** What a native client boots when the policy says `local`: an iPXE binary whose script exits. */
  localTarget(client: ClientInfo): BootTarget | null;
  /** The per-client iPXE script target, for iPXE clients that are pending or boot locally. */
  scriptTarget(client: ClientInfo): BootTarget;
}

export interface Reply {
  packet: DhcpPacket;
  address: string;
  port: number;
}

const ZERO = '0.0.0.0';
/** The BOOTP `file` field holds the boot file name and its terminating NUL (RFC 2131 section 2). */
const BOOT_FILE_MAX = BootpLayout.FILE_LENGTH - 1;

// Option values that are the same in every reply: built once. encodeDhcp only reads them.
const OFFER_TYPE = Buffer.from([DhcpMessageType.OFFER]);
const ACK_TYPE = Buffer.from([DhcpMessageType.ACK]);
const PXE_CLIENT = Buffer.from('PXEClient');
const HTTP_CLIENT = Buffer.from('HTTPClient');
/** BIOS option 43: discovery control 8, "download the boot file in the offer at once". */
const DISCOVERY_CONTROL_8 = encodeVendorOptions(new Map([[PxeVendorOption.DISCOVERY_CONTROL, Buffer.from([PxeDiscoveryControl.USE_BOOT_FILE])]]));

/** Option 54 for the last server address seen (one per interface in practice). */
let serverIdFor: { ip: string; bytes: Buffer } = { ip: '', bytes: Buffer.alloc(4) };
function serverId(ip: string): Buffer {
  if (serverIdFor.ip !== ip) serverIdFor = { ip, bytes: ipv4Bytes(ip) };
  return serverIdFor.bytes;
}

/** The boot target the reply points at, or null when the client is to get no answer. */
export function replyTarget(client: ClientInfo, decision: Decision, ctx: ReplyContext): BootTarget | null {
  switch (decision.kind) {
    case 'boot':
    case 'password':
      return decision.target;
    case 'local':
      if (client.ipxe) return decision.script ?? ctx.targets.scriptTarget(client);
      return decision.chain ?? ctx.targets.localTarget(client);
    case 'pending':
      // Native PXE ROMs retry DISCOVER on their own (about 4, 8, 16, 32 s); iPXE gets a waiting script; a
      // Secure Boot machine gets shim, whose GRUB configuration waits and asks again.
      return client.ipxe ? (decision.script ?? ctx.targets.scriptTarget(client)) : (decision.chain ?? null);
    case 'ignore':
      return null;
  }
}

/** The `file` field: a TFTP path, or a URL for HTTP targets (iPXE and UEFI HTTP boot take URLs). */
export function bootFileField(target: BootTarget, ctx: ReplyContext): string | null {
  if (target.transport === 'tftp') return target.path;
  if (!ctx.httpBase) return null;
  return `${ctx.httpBase}/${target.path.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Option 43 for a reply. BIOS PXE ROMs get discovery control 8 ("download the boot file in the offer
 * at once"), as dnsmasq sends without a menu. UEFI clients get none on port 67: EDK2 then treats the
 * offer as BINL and asks port 4011, and some UEFI firmware ignores proxy offers whose option 43 it
 * does not like. On 4011 we echo the requested boot item (sub-option 71) as the PXE spec asks.
 */
function vendorOptions(req: DhcpPacket, client: ClientInfo, ctx: ReplyContext): Buffer | null {
  if (client.httpBoot) return null;
  if (ctx.door === 'pxe') {
    const item = requestedBootItem(req);
    return item ? encodeVendorOptions(new Map([[PxeVendorOption.BOOT_ITEM, item]])) : null;
  }
  if (client.arch === 'bios' || client.arch === null) return DISCOVERY_CONTROL_8;
  return null;
}

/** Sub-option 71 of the request's option 43; a malformed block is treated as absent (it is the client's to get right). */
function requestedBootItem(req: DhcpPacket): Buffer | null {
  const raw = req.options.get(DhcpOption.VENDOR_SPECIFIC);
  if (!raw) return null;
  try {
    return decodeVendorOptions(raw).get(PxeVendorOption.BOOT_ITEM) ?? null;
  } catch {
    return null;
  }
}

/** Where a reply goes (RFC 2131 section 4.1, PXE 2.1 section 2.2). */
function destination(req: DhcpPacket, ctx: ReplyContext): { address: string; port: number } {
  if (req.giaddr !== ZERO) return { address: req.giaddr, port: ctx.relayPort };
  if (ctx.door === 'pxe') {
    // 4011: the client has its address by now; answer the exact source (OVMF listens on 4011, others on 68).
    const address = req.ciaddr !== ZERO ? req.ciaddr : ctx.source.address;
    return { address, port: ctx.source.port };
  }
  if (req.ciaddr !== ZERO) return { address: req.ciaddr, port: ctx.clientPort };
  return { address: ctx.broadcastAddress, port: ctx.clientPort };
}

/** Builds the OFFER (67) or ACK (4011) for a client the policy answers; null means stay silent. */
export function buildReply(req: DhcpPacket, client: ClientInfo, decision: Decision, ctx: ReplyContext): Reply | null {
  const target = replyTarget(client, decision, ctx);
  if (!target) return null;
  const file = bootFileField(target, ctx);
  if (file === null || Buffer.byteLength(file) > BOOT_FILE_MAX) return null;

  const options = new Map<number, Buffer>();
  options.set(DhcpOption.MESSAGE_TYPE, ctx.door === 'dhcp' ? OFFER_TYPE : ACK_TYPE);
  options.set(DhcpOption.SERVER_ID, serverId(ctx.serverIp));
  // EDK2 compares the first 9 bytes of option 60; UEFI HTTP boot needs "HTTPClient" back (UEFI 2.5 section 24.7).
  options.set(DhcpOption.VENDOR_CLASS_ID, client.httpBoot ? HTTP_CLIENT : PXE_CLIENT);
  const guid = req.options.get(DhcpOption.CLIENT_MACHINE_ID);
  if (guid) options.set(DhcpOption.CLIENT_MACHINE_ID, guid);
  const vendor = vendorOptions(req, client, ctx);
  if (vendor) options.set(DhcpOption.VENDOR_SPECIFIC, vendor);
  if (ctx.bcdPath && target.transport === 'tftp') options.set(DhcpOption.MS_BCD_PATH, Buffer.from(`${ctx.bcdPath}\0`, 'latin1'));

  const packet: DhcpPacket = {
    op: BootpOp.REPLY,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags & BROADCAST_FLAG,
    ciaddr: ZERO,
    yiaddr: ZERO,
    siaddr: ctx.serverIp,
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: '',
    file,
    options,
  };
  return { packet, ...destination(req, ctx) };
}

/** Which requests each door answers: DISCOVER on 67; REQUEST or INFORM on 4011 (PXE 2.1 section 2.2.6). */
export function isAnswerable(door: 'dhcp' | 'pxe', messageType: number | null): boolean {
  if (door === 'dhcp') return messageType === DhcpMessageType.DISCOVER;
  return messageType === DhcpMessageType.REQUEST || messageType === DhcpMessageType.INFORM;
}
