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

function sameClient(a: ClientInfo, b: ClientInfo): boolean {
  return a.door === b.door && a.ip === b.ip && a.archCode === b.archCode && a.arch === b.arch && a.httpBoot === b.httpBoot &&
    a.ipxe === b.ipxe && a.guid === b.guid && a.guidSwapped === b.guidSwapped && a.vendorClass === b.vendorClass;
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

  /**
   * Remembers the latest classification of a client (from port 67 or 4011). A retransmission that says
   * what the entry already says only refreshes its place: in a storm this keeps a new object per packet
   * from being kept (and promoted to the old generation, where it becomes a major collection's work).
   */
  seen(client: ClientInfo, serverIp: string): void {
    const known = this.byMac.get(client.mac);
    if (known !== undefined && known.serverIp === serverIp && sameClient(known.client, client)) {
      this.byMac.delete(client.mac);
      this.byMac.set(client.mac, known);
    } else {
      putBounded(this.byMac, client.mac, { client, serverIp, profile: known?.profile }, this.max);
    }
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
