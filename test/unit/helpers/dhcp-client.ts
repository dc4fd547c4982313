/** A tiny PXE client for in-process tests: builds requests with the project's codec and collects replies. */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { DhcpMessageType, DhcpOption } from '../../../daemon/protocol/dhcp/constants.js';
import { chaddrFromMac } from '../../../daemon/protocol/dhcp/accessors.js';
import { decodeDhcp, encodeDhcp, type DhcpPacket } from '../../../daemon/protocol/dhcp/packet.js';

export interface RequestSpec {
  mac?: string;
  type?: number;
  arch?: number | null;
  vendorClass?: string | null;
  ipxe?: boolean;
  guid?: Buffer | null;
  secs?: number;
  ciaddr?: string;
  giaddr?: string;
  xid?: number;
  vendorOptions?: Buffer;
}

export function pxeRequest(spec: RequestSpec = {}): DhcpPacket {
  const arch = spec.arch === undefined ? 7 : spec.arch;
  const options = new Map<number, Buffer>();
  options.set(DhcpOption.MESSAGE_TYPE, Buffer.from([spec.type ?? DhcpMessageType.DISCOVER]));
  const vc = spec.vendorClass === undefined ? `PXEClient:Arch:${String(arch ?? 0).padStart(5, '0')}:UNDI:003000` : spec.vendorClass;
  if (vc !== null) options.set(DhcpOption.VENDOR_CLASS_ID, Buffer.from(vc));
  if (arch !== null) options.set(DhcpOption.CLIENT_SYSTEM_ARCH, Buffer.from([arch >> 8, arch & 0xff]));
  options.set(DhcpOption.CLIENT_NDI, Buffer.from([1, 3, 0]));
  if (spec.guid !== null) options.set(DhcpOption.CLIENT_MACHINE_ID, Buffer.concat([Buffer.from([0]), spec.guid ?? Buffer.from('33221100554477668899aabbccddee01', 'hex')]));
  if (spec.ipxe) {
    options.set(DhcpOption.USER_CLASS, Buffer.from('iPXE'));
    options.set(DhcpOption.IPXE_ENCAP, Buffer.from([0x13, 0x01, 0x01]));
  }
  if (spec.vendorOptions) options.set(DhcpOption.VENDOR_SPECIFIC, spec.vendorOptions);
  return {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: spec.xid ?? Math.floor(Math.random() * 0xffffffff), secs: spec.secs ?? 0, flags: 0x8000,
    ciaddr: spec.ciaddr ?? '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: spec.giaddr ?? '0.0.0.0',
    chaddr: chaddrFromMac(spec.mac ?? '52:54:00:77:00:02'), sname: '', file: '', options,
  };
}

export class TestClient {
  readonly replies: DhcpPacket[] = [];
  private waiters: Array<() => void> = [];
  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (msg) => {
      try {
        this.replies.push(decodeDhcp(msg));
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(address = '127.0.0.1', port = 0): Promise<TestClient> {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.bind(port, address);
    await once(s, 'listening');
    // A client without an address broadcasts its DISCOVER (the namespace tests send to 255.255.255.255).
    s.setBroadcast(true);
    return new TestClient(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(p: DhcpPacket, port: number, address = '127.0.0.1'): void {
    this.socket.send(encodeDhcp(p), port, address);
  }

  sendRaw(buf: Uint8Array, port: number, address = '127.0.0.1'): void {
    this.socket.send(buf, port, address);
  }

  /** Waits for a reply with this xid, failing after `ms` (a bound, not an assertion on speed). */
  async reply(xid: number, ms = 3000): Promise<DhcpPacket> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.replies.find((r) => r.xid === xid);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply for xid ${xid} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** A UDP port free right now on 127.0.0.1 (for ports that must be known before binding, like the relay port). */
export async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}
