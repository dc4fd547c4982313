/**
 * The benchmark's own tiny DHCP encoder and reply reader. It is deliberately independent of the
 * project's codec (daemon/protocol/dhcp): a load generator that shares the codec under test could
 * not notice that codec's mistakes, and the bench must run before and after that codec changes.
 * It encodes exactly one message (a PXE client's DHCPDISCOVER) and reads only the reply fields the
 * bench checks; every read is bounds-checked and a malformed reply yields null, never an exception.
 */

/** RFC 2131 section 2: fixed BOOTP header. */
const Bootp = {
  opRequest: 1,
  opReply: 2,
  htypeEthernet: 1, // RFC 1700 hardware type
  hlenEthernet: 6,
  flagBroadcast: 0x8000, // RFC 2131 section 2, figure 2: the B flag
  headerLength: 236, // op..file, before the magic cookie
  offXid: 4,
  offSecs: 8,
  offFlags: 10,
  offCiaddr: 12,
  offYiaddr: 16,
  offSiaddr: 20,
  offGiaddr: 24,
  offChaddr: 28,
  offFile: 108,
  fileLength: 128,
} as const;

/** RFC 2131 section 3: the magic cookie 99.130.83.99 that starts the options field. */
const MAGIC_COOKIE = 0x63825363;

/** Option codes used here (RFC 2132 unless noted). */
export const DhcpOption = {
  pad: 0,
  vendorSpecific: 43,
  messageType: 53,
  serverId: 54,
  parameterRequestList: 55,
  maxMessageSize: 57,
  vendorClass: 60,
  clientArch: 93, // RFC 4578 section 2.1
  clientNdi: 94, // RFC 4578 section 2.2
  clientGuid: 97, // RFC 4578 section 2.3
  userClass: 77, // RFC 3004; iPXE sends the raw bytes "iPXE"
  end: 255,
} as const;

/** RFC 2132 section 9.6: option 53 values. */
export const DhcpMessageType = { discover: 1, offer: 2, request: 3, ack: 5 } as const;

/** IANA "Processor Architecture Types" (RFC 4578 section 2.1 and its registry). */
export const PxeArch = { biosX86: 0, efiX64: 7 } as const;

/** What one simulated PXE ROM puts in its DISCOVER. */
export interface SimulatedClient {
  mac: Buffer; // 6 bytes
  xid: number; // uint32
  arch: number; // option 93
  guid: Buffer; // 16 bytes, sent after the option 97 type byte 0
  /** Option 77 as iPXE sends it ("iPXE"); absent for a firmware PXE ROM. */
  userClass?: string;
}

/**
 * Option 60 as firmware builds it (PXE 2.1 spec section 2.2.5): `PXEClient:Arch:xxxxx:UNDI:yyyzzz`.
 * EDK2 sends UNDI 003.000, PXE ROMs of BIOS NICs 002.001 (see the firmware fixtures).
 */
export function pxeVendorClass(arch: number): string {
  const undi = arch === PxeArch.biosX86 ? '002001' : '003000';
  return `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:${undi}`;
}

/** The parameter request list OVMF sends (uefi-ovmf-pxe-windowsize.pcap), so servers see a realistic one. */
const OVMF_PARAMETER_REQUEST = [1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135];

function option(code: number, value: Buffer): Buffer {
  if (value.length > 255) throw new RangeError(`option ${code} value of ${value.length} bytes needs RFC 3396 splitting`);
  return Buffer.concat([Buffer.from([code, value.length]), value]);
}

/** A PXE DHCPDISCOVER from a client without an address, broadcast flag set as PXE ROMs do. */
export function encodePxeDiscover(c: SimulatedClient): Buffer {
  return encodePxeMessage(c, DhcpMessageType.discover, 0);
}

/**
 * The DHCPREQUEST a UEFI PXE client sends to the boot server on port 4011 once it has an address
 * (PXE 2.1 section 2.2.7): its own address in ciaddr, no broadcast flag, the same PXE options.
 */
export function encodePxeBootRequest(c: SimulatedClient, ciaddr: number): Buffer {
  return encodePxeMessage(c, DhcpMessageType.request, ciaddr);
}

function encodePxeMessage(c: SimulatedClient, type: number, ciaddr: number): Buffer {
  const header = Buffer.alloc(Bootp.headerLength + 4);
  header[0] = Bootp.opRequest;
  header[1] = Bootp.htypeEthernet;
  header[2] = Bootp.hlenEthernet;
  header.writeUInt32BE(c.xid >>> 0, Bootp.offXid);
  if (ciaddr === 0) header.writeUInt16BE(Bootp.flagBroadcast, Bootp.offFlags);
  header.writeUInt32BE(ciaddr >>> 0, Bootp.offCiaddr);
  c.mac.copy(header, Bootp.offChaddr, 0, Bootp.hlenEthernet);
  header.writeUInt32BE(MAGIC_COOKIE, Bootp.headerLength);
  const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
  // RFC 4578 section 2.2: NDI type 1 (UNDI), major, minor.
  const ndi = c.arch === PxeArch.biosX86 ? [1, 2, 1] : [1, 3, 0];
  return Buffer.concat([
    header,
    option(DhcpOption.messageType, Buffer.from([type])),
    option(DhcpOption.maxMessageSize, u16(1472)),
    option(DhcpOption.parameterRequestList, Buffer.from(OVMF_PARAMETER_REQUEST)),
    option(DhcpOption.clientGuid, Buffer.concat([Buffer.from([0]), c.guid])),
    option(DhcpOption.clientNdi, Buffer.from(ndi)),
    option(DhcpOption.clientArch, u16(c.arch)),
    option(DhcpOption.vendorClass, Buffer.from(pxeVendorClass(c.arch), 'latin1')),
    ...(c.userClass === undefined ? [] : [option(DhcpOption.userClass, Buffer.from(c.userClass, 'latin1'))]),
    Buffer.from([DhcpOption.end]),
  ]);
}

/** The reply fields the bench checks. */
export interface ReplySummary {
  op: number;
  xid: number;
  chaddr: string; // lower-case hex, 12 digits
  yiaddr: number;
  siaddr: number;
  file: string;
  messageType: number | null;
  vendorClass: string | null;
  serverId: number | null;
  hasVendorOptions: boolean; // option 43 present
}

/**
 * Reads a reply; null when it is not a well-formed BOOTP/DHCP message (too short, no magic cookie,
 * an option running past the end). Option overload (52) is not followed: proxy offers do not use it.
 */
export function readReply(buf: Buffer): ReplySummary | null {
  if (buf.length < Bootp.headerLength + 4) return null;
  if (buf.readUInt32BE(Bootp.headerLength) !== MAGIC_COOKIE) return null;
  const fileBytes = buf.subarray(Bootp.offFile, Bootp.offFile + Bootp.fileLength);
  const nul = fileBytes.indexOf(0);
  const out: ReplySummary = {
    op: buf[0] ?? 0,
    xid: buf.readUInt32BE(Bootp.offXid),
    chaddr: buf.subarray(Bootp.offChaddr, Bootp.offChaddr + Bootp.hlenEthernet).toString('hex'),
    yiaddr: buf.readUInt32BE(Bootp.offYiaddr),
    siaddr: buf.readUInt32BE(Bootp.offSiaddr),
    file: fileBytes.subarray(0, nul < 0 ? fileBytes.length : nul).toString('latin1'),
    messageType: null,
    vendorClass: null,
    serverId: null,
    hasVendorOptions: false,
  };
  let at = Bootp.headerLength + 4;
  while (at < buf.length) {
    const code = buf[at];
    if (code === DhcpOption.end) break;
    if (code === DhcpOption.pad) { at += 1; continue; }
    const len = buf[at + 1];
    if (len === undefined || at + 2 + len > buf.length) return null;
    const value = buf.subarray(at + 2, at + 2 + len);
    if (code === DhcpOption.messageType && len >= 1) out.messageType = value[0] ?? null;
    else if (code === DhcpOption.vendorClass) out.vendorClass = value.toString('latin1');
    else if (code === DhcpOption.serverId && len === 4) out.serverId = value.readUInt32BE(0);
    else if (code === DhcpOption.vendorSpecific) out.hasVendorOptions = true;
    at += 2 + len;
  }
  return out;
}

/**
 * Why a reply does not count as a correct proxy offer for this client (null when it does).
 * RFC 2131 4.3.1 plus the PXE proxy rules: a DHCPOFFER, yiaddr 0 (a proxy never offers an address),
 * option 60 starting with "PXEClient", the client's own chaddr.
 */
export function offerProblem(r: ReplySummary, mac: Buffer): string | null {
  if (r.op !== Bootp.opReply) return 'not a BOOTREPLY';
  if (r.messageType !== DhcpMessageType.offer) return `message type ${String(r.messageType)} is not OFFER`;
  if (r.chaddr !== mac.toString('hex')) return 'chaddr is not the client\'s';
  if (r.yiaddr !== 0) return 'yiaddr is not 0 (a proxy must not offer an address)';
  if (!(r.vendorClass ?? '').startsWith('PXEClient')) return 'option 60 does not start with PXEClient';
  return null;
}

/** `00:0c:...` form of 6 bytes. */
export function macText(mac: Buffer): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
