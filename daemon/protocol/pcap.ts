/**
 * A small capture reader: classic pcap (both byte orders, micro- and nanosecond magic) and pcapng
 * (SHB/IDB/EPB/SPB/obsolete PB, per-section byte order, if_tsresol), yielding IPv4 UDP datagrams.
 * For tests and for turning captures into fixtures. Pure and bounds-checked: a malformed file gives
 * DecodeError('ERR_PCAP_BAD'); frames that are not whole IPv4/UDP datagrams are skipped.
 * Formats: tcpdump.org pcap(5) manual page; IETF draft-ietf-opsawg-pcapng; tcpdump.org link-layer types.
 */
import { DecodeError } from './errors.js';
import { formatIpv4 } from './dhcp/ipv4.js';

/** tcpdump.org LINKTYPE_* values this reader understands. */
export const LinkType = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, IPV4: 228, LINUX_SLL2: 276 } as const;

const PcapMagic = { MICRO: 0xa1b2c3d4, NANO: 0xa1b23c4d } as const;
const PcapngBlock = { SHB: 0x0a0d0d0a, IDB: 1, OBSOLETE_PB: 2, SPB: 3, EPB: 6 } as const;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** IDB option if_tsresol (pcapng draft section 4.2). */
const IF_TSRESOL = 9;
/** IEEE 802 EtherTypes: IPv4, 802.1Q VLAN tag, 802.1ad QinQ tag. */
const EtherType = { IPV4: 0x0800, VLAN: 0x8100, QINQ: 0x88a8 } as const;
/** IANA protocol number for UDP (RFC 768). */
const IP_PROTO_UDP = 17;
/** BSD loopback (LINKTYPE_NULL) address family for IPv4. */
const AF_INET = 2;

export interface CapturedFrame {
  /** 1-based position in the file, the "frame number" Wireshark shows. */
  index: number;
  /** Seconds since the epoch (fractional). */
  timestamp: number;
  linkType: number;
  data: Buffer;
}

export interface UdpDatagram {
  index: number;
  timestamp: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  payload: Buffer;
}

function bad(message: string): DecodeError {
  return new DecodeError('ERR_PCAP_BAD', message);
}

/** Reads 16/32-bit fields in one byte order; all reads go through `need` first. */
class Reader {
  constructor(
    readonly buf: Buffer,
    readonly little: boolean,
  ) {}
  need(off: number, length: number, what: string): void {
    if (off < 0 || off + length > this.buf.length) {
      throw bad(`${what} at offset ${off} needs ${length} bytes but the file has ${Math.max(0, this.buf.length - off)}`);
    }
  }
  u16(off: number): number {
    return this.little ? this.buf.readUInt16LE(off) : this.buf.readUInt16BE(off);
  }
  u32(off: number): number {
    return this.little ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }
}

function* classicFrames(buf: Buffer, little: boolean, nano: boolean): Generator<CapturedFrame> {
  const r = new Reader(buf, little);
  r.need(0, 24, 'pcap header');
  const linkType = r.u32(20) & 0x0fffffff; // upper bits carry FCS information (pcap-linktype(7))
  const unit = nano ? 1e9 : 1e6;
  let off = 24;
  let index = 0;
  while (off < buf.length) {
    r.need(off, 16, 'pcap record header');
    const captured = r.u32(off + 8);
    r.need(off + 16, captured, `pcap record ${index + 1}`);
    index += 1;
    const timestamp = r.u32(off) + r.u32(off + 4) / unit;
    yield { index, timestamp, linkType, data: buf.subarray(off + 16, off + 16 + captured) };
    off += 16 + captured;
  }
}

interface PcapngInterface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSecond: number;
}

/** if_tsresol: high bit clear = 10^-n, set = 2^-n seconds; default microseconds. */
function interfaceOf(r: Reader, body: number, end: number): PcapngInterface {
  if (body + 8 > end) throw bad(`pcapng interface block at offset ${body - 8} is too short`);
  const iface: PcapngInterface = { linkType: r.u16(body), unitsPerSecond: 1e6 };
  let o = body + 8;
  while (o + 4 <= end) {
    const code = r.u16(o);
    const length = r.u16(o + 2);
    if (code === 0) break; // opt_endofopt
    if (o + 4 + length > end) throw bad(`pcapng interface option ${code} overruns its block`);
    if (code === IF_TSRESOL && length >= 1) {
      const v = r.buf[o + 4]!;
      const exp = v & 0x7f;
      iface.unitsPerSecond = (v & 0x80) !== 0 ? 2 ** exp : 10 ** exp;
    }
    o += 4 + length + ((4 - (length % 4)) % 4);
  }
  return iface;
}

function sectionByteOrder(buf: Buffer, off: number): boolean {
  new Reader(buf, false).need(off, 12, 'pcapng section header');
  const magic = buf.readUInt32LE(off + 8);
  if (magic === PCAPNG_BYTE_ORDER_MAGIC) return true;
  if (buf.readUInt32BE(off + 8) === PCAPNG_BYTE_ORDER_MAGIC) return false;
  throw bad(`pcapng section at offset ${off} has byte-order magic 0x${magic.toString(16)}`);
}

function* pcapngFrames(buf: Buffer): Generator<CapturedFrame> {
  let r = new Reader(buf, sectionByteOrder(buf, 0));
  let interfaces: PcapngInterface[] = [];
  let off = 0;
  let index = 0;
  while (off < buf.length) {
    r.need(off, 8, 'pcapng block header');
    const type = r.u32(off);
    if (type === PcapngBlock.SHB) {
      // A new section may switch byte order and restarts interface numbering.
      r = new Reader(buf, sectionByteOrder(buf, off));
      interfaces = [];
    }
    const total = r.u32(off + 4);
    if (total < 12 || total % 4 !== 0) throw bad(`pcapng block at offset ${off} has length ${total}`);
    r.need(off, total, `pcapng block type ${type}`);
    const body = off + 8;
    const end = off + total - 4;
    const frame = blockFrame(r, type, body, end, interfaces);
    if (frame !== null) {
      index += 1;
      yield { index, ...frame };
    }
    off += total;
  }
}

/** The packet inside one pcapng block, or null for blocks that carry none (IDB recorded on the way). */
function blockFrame(
  r: Reader,
  type: number,
  body: number,
  end: number,
  interfaces: PcapngInterface[],
): Omit<CapturedFrame, 'index'> | null {
  if (type === PcapngBlock.IDB) {
    interfaces.push(interfaceOf(r, body, end));
    return null;
  }
  if (type !== PcapngBlock.EPB && type !== PcapngBlock.SPB && type !== PcapngBlock.OBSOLETE_PB) return null;
  const headerLength = type === PcapngBlock.EPB || type === PcapngBlock.OBSOLETE_PB ? 20 : 4;
  if (body + headerLength > end) throw bad(`pcapng packet block at offset ${body - 8} is too short`);
  const ifaceId = type === PcapngBlock.EPB ? r.u32(body) : type === PcapngBlock.OBSOLETE_PB ? r.u16(body) : 0;
  const iface = interfaces[ifaceId];
  if (iface === undefined) throw bad(`pcapng packet block refers to interface ${ifaceId} of ${interfaces.length}`);
  const captured = type === PcapngBlock.SPB ? Math.min(r.u32(body), end - body - 4) : r.u32(body + 12);
  const dataStart = body + headerLength;
  if (dataStart + captured > end) throw bad(`pcapng packet of ${captured} bytes overruns its block`);
  let timestamp = 0;
  if (type !== PcapngBlock.SPB) {
    timestamp = (r.u32(body + 4) * 2 ** 32 + r.u32(body + 8)) / iface.unitsPerSecond;
  }
  return { timestamp, linkType: iface.linkType, data: r.buf.subarray(dataStart, dataStart + captured) };
}

/** Every captured frame of a classic pcap or pcapng file, in file order. */
export function* readCaptureFrames(file: Uint8Array): Generator<CapturedFrame> {
  const buf = Buffer.isBuffer(file) ? file : Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 4) throw bad(`file is ${buf.length} bytes; too short for a capture`);
  const be = buf.readUInt32BE(0);
  const le = buf.readUInt32LE(0);
  if (be === PcapngBlock.SHB) yield* pcapngFrames(buf);
  else if (le === PcapMagic.MICRO || le === PcapMagic.NANO) yield* classicFrames(buf, true, le === PcapMagic.NANO);
  else if (be === PcapMagic.MICRO || be === PcapMagic.NANO) yield* classicFrames(buf, false, be === PcapMagic.NANO);
  else throw bad(`unknown capture magic 0x${be.toString(16).padStart(8, '0')}`);
}

/** Offset of the IPv4 header inside a frame of this link type, or -1 when it carries something else. */
function ipv4Offset(linkType: number, d: Buffer): number {
  switch (linkType) {
    case LinkType.ETHERNET: {
      let o = 12;
      // Up to two 802.1Q/802.1ad tags before the real EtherType.
      for (let tags = 0; tags < 3; tags += 1) {
        if (o + 2 > d.length) return -1;
        const etherType = d.readUInt16BE(o);
        if (etherType === EtherType.IPV4) return o + 2;
        if (etherType !== EtherType.VLAN && etherType !== EtherType.QINQ) return -1;
        o += 4;
      }
      return -1;
    }
    case LinkType.LINUX_SLL:
      return d.length >= 16 && d.readUInt16BE(14) === EtherType.IPV4 ? 16 : -1;
    case LinkType.LINUX_SLL2:
      return d.length >= 20 && d.readUInt16BE(0) === EtherType.IPV4 ? 20 : -1;
    case LinkType.NULL:
      return d.length >= 4 && (d.readUInt32LE(0) === AF_INET || d.readUInt32BE(0) === AF_INET) ? 4 : -1;
    case LinkType.RAW:
    case LinkType.IPV4:
      return 0;
    default:
      return -1;
  }
}

/** The UDP datagram in a frame, or null when the frame is not one whole, unfragmented IPv4/UDP datagram. */
export function udpOfFrame(frame: CapturedFrame): UdpDatagram | null {
  const d = frame.data;
  const ip = ipv4Offset(frame.linkType, d);
  if (ip < 0 || ip + 20 > d.length) return null;
  const versionIhl = d[ip]!;
  const headerLength = (versionIhl & 0x0f) * 4;
  if (versionIhl >> 4 !== 4 || headerLength < 20) return null;
  const totalLength = d.readUInt16BE(ip + 2);
  if (totalLength < headerLength + 8 || ip + totalLength > d.length) return null; // truncated by snaplen
  const fragment = d.readUInt16BE(ip + 6);
  if ((fragment & 0x3fff) !== 0) return null; // more-fragments bit or an offset: not reassembled here
  if (d[ip + 9] !== IP_PROTO_UDP) return null;
  const udp = ip + headerLength;
  const udpLength = d.readUInt16BE(udp + 4);
  if (udpLength < 8 || udp + udpLength > ip + totalLength) return null;
  return {
    index: frame.index,
    timestamp: frame.timestamp,
    srcIp: formatIpv4(d, ip + 12),
    dstIp: formatIpv4(d, ip + 16),
    srcPort: d.readUInt16BE(udp),
    dstPort: d.readUInt16BE(udp + 2),
    payload: d.subarray(udp + 8, udp + udpLength),
  };
}

/** Every IPv4 UDP datagram in a capture file. */
export function* readUdpDatagrams(file: Uint8Array): Generator<UdpDatagram> {
  for (const frame of readCaptureFrames(file)) {
    const datagram = udpOfFrame(frame);
    if (datagram !== null) yield datagram;
  }
}
