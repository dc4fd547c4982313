/**
 * Listening (never answering) on DHCPv6's server port of the boot interfaces: one IPv6 socket on port 547
 * joined to All_DHCP_Relay_Agents_and_Servers (ff02::1:2) on each named interface. Firmware that refused
 * an unsigned boot program tries PXE over IPv6 next; what it sends is handed on as it came. The socket
 * shares the port (SO_REUSEADDR) with a DHCPv6 server on the same host, and sends nothing.
 */
import dgram from 'node:dgram';

export const DHCPV6_SERVER_PORT = 547;
export const ALL_DHCP_SERVERS = 'ff02::1:2';

export interface Dhcpv6Listener {
  readonly port: number;
  close(): Promise<void>;
}

export interface Dhcpv6Options {
  /** Interface names; the group is joined on each. */
  interfaces: string[];
  port?: number;
  onMessage: (msg: Buffer, from: string) => void;
  onError: (err: Error) => void;
}

export async function openDhcpv6Listener(o: Dhcpv6Options): Promise<Dhcpv6Listener> {
  const socket = dgram.createSocket({ type: 'udp6', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port: o.port ?? DHCPV6_SERVER_PORT, address: '::' }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    for (const iface of o.interfaces) socket.addMembership(ALL_DHCP_SERVERS, `::%${iface}`);
  } catch (err) {
    socket.close();
    throw err;
  }
  socket.on('message', (msg, rinfo) => o.onMessage(msg, rinfo.address));
  socket.on('error', (err) => o.onError(err));
  const port = socket.address().port;
  return { port, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}
