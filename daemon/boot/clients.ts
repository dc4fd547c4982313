/**
 * What the DHCP doors learnt about clients, for the later doors (TFTP, HTTP, iPXE script) that only
 * see an IP address or a MAC in a path. Bounded: a flood of random MACs evicts the oldest entries.
 */
import type { ClientInfo } from '../policy/types.js';

/** Sets key to value as the newest entry, evicting the oldest beyond `max` (a Map keeps insertion order). */
function putBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}

interface Seen {
  client: ClientInfo;
  /** The appliance address the client reached (its next-server). */
  serverIp: string;
  /** The profile it was last told to boot: what a fully served file counts towards. */
  profile?: string;
}

export class ClientDirectory {
  private readonly byMac = new Map<string, Seen>();
  private readonly macByIp = new Map<string, string>();

  constructor(private readonly max = 10_000) {}

  /** Remembers the latest classification of a client (from port 67 or 4011). */
  seen(client: ClientInfo, serverIp: string): void {
    const profile = this.byMac.get(client.mac)?.profile;
    putBounded(this.byMac, client.mac, { client, serverIp, profile }, this.max);
    if (client.ip) this.bind(client.ip, client.mac);
  }

  bind(ip: string, mac: string): void {
    putBounded(this.macByIp, ip, mac, this.max);
  }

  booting(mac: string, profile: string): void {
    const entry = this.byMac.get(mac);
    if (entry) entry.profile = profile;
  }

  byMacAddress(mac: string): ClientInfo | undefined {
    return this.byMac.get(mac)?.client;
  }

  macOfIp(ip: string): string | undefined {
    return this.macByIp.get(ip);
  }

  profileFor(mac: string): string | undefined {
    return this.byMac.get(mac)?.profile;
  }

  serverFor(mac: string): string | undefined {
    return this.byMac.get(mac)?.serverIp;
  }
}
