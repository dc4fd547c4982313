/**
 * What the DHCP doors learnt about clients, for the later doors (TFTP, HTTP, iPXE script) that only
 * see an IP address or a MAC in a path. Bounded: a flood of random MACs evicts the oldest entries.
 */
import type { ClientInfo } from '../policy/types.js';

export class ClientDirectory {
  private readonly byMac = new Map<string, ClientInfo>();
  private readonly macByIp = new Map<string, string>();
  private readonly serverByMac = new Map<string, string>();
  private readonly profileByMac = new Map<string, string>();

  constructor(private readonly max = 10_000) {}

  /** Remembers the latest classification of a client (from port 67 or 4011). */
  seen(client: ClientInfo, serverIp: string): void {
    this.byMac.delete(client.mac);
    this.byMac.set(client.mac, client);
    this.serverByMac.set(client.mac, serverIp);
    if (client.ip) this.bind(client.ip, client.mac);
    if (this.byMac.size > this.max) {
      const oldest = this.byMac.keys().next().value;
      if (oldest !== undefined) {
        this.byMac.delete(oldest);
        this.serverByMac.delete(oldest);
        this.profileByMac.delete(oldest);
      }
    }
  }

  /** The profile the client was last told to boot: what a fully served file counts towards. */
  booting(mac: string, profile: string): void {
    this.profileByMac.set(mac, profile);
    if (this.profileByMac.size > this.max) {
      const oldest = this.profileByMac.keys().next().value;
      if (oldest !== undefined) this.profileByMac.delete(oldest);
    }
  }

  profileFor(mac: string): string | undefined {
    return this.profileByMac.get(mac);
  }

  /** The appliance address the client last reached (its next-server). */
  serverFor(mac: string): string | undefined {
    return this.serverByMac.get(mac);
  }

  bind(ip: string, mac: string): void {
    this.macByIp.delete(ip);
    this.macByIp.set(ip, mac);
    if (this.macByIp.size > this.max) {
      const oldest = this.macByIp.keys().next().value;
      if (oldest !== undefined) this.macByIp.delete(oldest);
    }
  }

  byMacAddress(mac: string): ClientInfo | undefined {
    return this.byMac.get(mac);
  }

  macOfIp(ip: string): string | undefined {
    return this.macByIp.get(ip);
  }
}
