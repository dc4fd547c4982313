/**
 * The DHCP doors' sockets: ports 67 and 4011 on every endpoint, each datagram handed to the door.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { DhcpPort } from '../protocol/dhcp/constants.js';
import type { DhcpDoor } from '../pxe/door.js';
import { openUdp, type Endpoint, type UdpListener } from './udp.js';

export interface DhcpDoorPorts {
  dhcp: number;
  pxe: number;
}

/** Opens port `dhcp` and then port `pxe` on each endpoint, in that order (listeners alternate). */
export async function openDhcpDoors(door: DhcpDoor, endpoints: Endpoint[], ports: DhcpDoorPorts, metrics: Metrics, logger: Logger): Promise<UdpListener[]> {
  const listeners: UdpListener[] = [];
  const pairs: Array<['dhcp' | 'pxe', number]> = [['dhcp', ports.dhcp], ['pxe', ports.pxe]];
  try {
    for (const endpoint of endpoints) {
      for (const [kind, port] of pairs) {
        // The metric label names the door by its standard port, whatever port a test binds.
        const label = String(kind === 'dhcp' ? DhcpPort.SERVER : DhcpPort.PXE);
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
              metrics.dhcpPackets.inc({ port: label, type: 'unknown', result: 'dropped' });
              logger.error({ err, iface: ep.iface, client: rinfo.address }, 'DHCP handler failed');
            }
          },
          onError: (err, ep) => logger.warn({ iface: ep.iface, err: err.message, port }, 'udp socket error'),
          // Longer than any DHCP message a client sends (a jumbo frame): counted, not logged, like other junk.
          onOversize: () => metrics.dhcpPackets.inc({ port: label, type: 'undecodable', result: 'malformed' }),
        });
        listeners.push(listener);
      }
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  return listeners;
}
