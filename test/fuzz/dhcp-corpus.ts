/**
 * Shared by the DHCP fixture tests, the property tests, the golden writer and the fuzz run:
 * the DHCP packets of the firmware captures, and the JSON form a golden decode is stored in.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DhcpOption, DhcpPort } from '../../daemon/protocol/dhcp/constants.js';
import { macOf, messageType, type DhcpPacket } from '../../daemon/protocol/dhcp/packet.js';
import { decodePxeOptions, type PxeOptions } from '../../daemon/protocol/dhcp/vendor-options.js';
import { readUdpDatagrams } from '../../daemon/protocol/pcap.js';

/** The source tree's test/fixtures, from dist/test/<dir>/x.js or test/<dir>/x.ts alike. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
export const FIRMWARE_DIR = `${FIXTURES_DIR}firmware/`;

export interface FixturePacket {
  capture: string;
  /** Wireshark frame number. */
  frame: number;
  src: string;
  dst: string;
  payload: Buffer;
}

const DHCP_PORTS: ReadonlySet<number> = new Set([DhcpPort.SERVER, DhcpPort.CLIENT, DhcpPort.PXE]);

export function captureNames(): string[] {
  return readdirSync(FIRMWARE_DIR)
    .filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng'))
    .sort();
}

/** Every UDP datagram to or from a DHCP/PXE port in one capture. */
export function dhcpPacketsOf(capture: string): FixturePacket[] {
  const packets: FixturePacket[] = [];
  for (const u of readUdpDatagrams(readFileSync(`${FIRMWARE_DIR}${capture}`))) {
    if (!DHCP_PORTS.has(u.srcPort) && !DHCP_PORTS.has(u.dstPort)) continue;
    packets.push({
      capture,
      frame: u.index,
      src: `${u.srcIp}:${u.srcPort}`,
      dst: `${u.dstIp}:${u.dstPort}`,
      payload: Buffer.from(u.payload),
    });
  }
  return packets;
}

export function allFixturePackets(): FixturePacket[] {
  return captureNames().flatMap(dhcpPacketsOf);
}

export interface DhcpJson {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: string;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: string;
  sname: string;
  file: string;
  options: { code: number; hex: string }[];
  mac: string;
  messageType: number | null;
}

export function dhcpToJson(p: DhcpPacket): DhcpJson {
  return {
    op: p.op,
    htype: p.htype,
    hlen: p.hlen,
    hops: p.hops,
    xid: `0x${p.xid.toString(16).padStart(8, '0')}`,
    secs: p.secs,
    flags: p.flags,
    ciaddr: p.ciaddr,
    yiaddr: p.yiaddr,
    siaddr: p.siaddr,
    giaddr: p.giaddr,
    chaddr: p.chaddr.toString('hex'),
    sname: p.sname,
    file: p.file,
    options: [...p.options].map(([code, value]) => ({ code, hex: value.toString('hex') })),
    mac: macOf(p),
    messageType: messageType(p),
  };
}

export interface PxeJson {
  discoveryControl: number | null;
  bootServers: PxeOptions['bootServers'];
  bootMenu: PxeOptions['bootMenu'];
  menuPrompt: PxeOptions['menuPrompt'];
  bootItem: PxeOptions['bootItem'];
  other: { code: number; hex: string }[];
}

/** Option 43 typed, for packets whose option 60 starts with PXEClient (PXE 2.1: only then is 43 PXE's). */
export function pxeToJson(p: DhcpPacket): PxeJson | null {
  const vendorClass = p.options.get(DhcpOption.VENDOR_CLASS_ID)?.toString('latin1') ?? '';
  const block = p.options.get(DhcpOption.VENDOR_SPECIFIC);
  if (block === undefined || !vendorClass.startsWith('PXEClient')) return null;
  const o = decodePxeOptions(block);
  return {
    discoveryControl: o.discoveryControl,
    bootServers: o.bootServers,
    bootMenu: o.bootMenu,
    menuPrompt: o.menuPrompt,
    bootItem: o.bootItem,
    other: [...o.other].map(([code, value]) => ({ code, hex: value.toString('hex') })),
  };
}

export interface GoldenPacket {
  frame: number;
  src: string;
  dst: string;
  length: number;
  decoded: DhcpJson;
  pxe: PxeJson | null;
}

export interface GoldenFile {
  capture: string;
  note: string;
  packets: GoldenPacket[];
}

export function goldenPath(capture: string): string {
  return `${FIRMWARE_DIR}${capture.replace(/\.pcap(ng)?$/, '')}.golden.json`;
}

/** Equality of two decoded packets, values compared by bytes (option order included). */
export function samePacket(a: DhcpPacket, b: DhcpPacket): boolean {
  return JSON.stringify(dhcpToJson(a)) === JSON.stringify(dhcpToJson(b));
}
