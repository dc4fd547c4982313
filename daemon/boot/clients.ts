/**
 * What the DHCP doors learnt about clients, for the later doors (TFTP, HTTP, iPXE script) that only
 * see an IP address or a MAC in a path. Bounded: a flood of random MACs evicts the oldest entries.
 */
import { LruMap } from '../lru.js';
import type { ClientInfo } from '../policy/types.js';

function sameClient(a: ClientInfo, b: ClientInfo): boolean {
  return a.door === b.door && a.ip === b.ip && a.archCode === b.archCode && a.arch === b.arch && a.httpBoot === b.httpBoot &&
    a.ipxe === b.ipxe && a.guid === b.guid && a.guidSwapped === b.guidSwapped && a.vendorClass === b.vendorClass;
}

/**
 * The directory's own copy. Not the classified object itself: that one is made for every packet and
 * is garbage a moment later, and if the few kept (new clients) were the very objects `classify()`
 * allocates, V8 would judge its allocation site long-lived and pretenure it, moving every packet's
 * ClientInfo into the old generation (measured: 12 MB of old-space garbage per 60,000 DISCOVERs, and
 * a mark-compact per run of the benchmark; with the copy, none).
 */
function copyClient(c: ClientInfo): ClientInfo {
  return {
    mac: c.mac, archCode: c.archCode, arch: c.arch, httpBoot: c.httpBoot, ipxe: c.ipxe, guid: c.guid, guidSwapped: c.guidSwapped,
    vendorClass: c.vendorClass, ip: c.ip, door: c.door,
  };
}

/** A client's place among the newest is refreshed at most this often (a storm retransmits many times a second). */
const REFRESH_MS = 1000;

interface Seen {
  client: ClientInfo;
  /** The appliance address the client reached (its next-server). */
  serverIp: string;
  /** The profile it was last told to boot: what a fully served file counts towards. */
  profile?: string;
  /** When its place among the newest was last refreshed (`now()`). */
  placed: number;
}

export class ClientDirectory {
  private readonly byMac: LruMap<string, Seen>;
  private readonly macByIp: LruMap<string, string>;

  constructor(
    max = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.byMac = new LruMap(max);
    this.macByIp = new LruMap(max);
  }

  /**
   * Remembers the latest classification of a client (from port 67 or 4011). A retransmission that says
   * what the entry already says keeps the stored entry, so a storm keeps no new object per packet (it
   * would be promoted to the old generation and become a major collection's work); it moves the entry
   * to the newest end (eviction takes the least recently seen) at most once a second.
   */
  seen(client: ClientInfo, serverIp: string): void {
    const known = this.byMac.peek(client.mac);
    const at = this.now();
    if (known !== undefined && known.serverIp === serverIp && sameClient(known.client, client)) {
      if (at - known.placed >= REFRESH_MS) {
        known.placed = at;
        this.byMac.touch(client.mac);
      }
    } else {
      this.byMac.set(client.mac, { client: copyClient(client), serverIp, profile: known?.profile, placed: at });
    }
    if (client.ip) this.bind(client.ip, client.mac);
  }

  bind(ip: string, mac: string): void {
    this.macByIp.set(ip, mac);
  }

  booting(mac: string, profile: string): void {
    const entry = this.byMac.peek(mac);
    if (entry) entry.profile = profile;
  }

  byMacAddress(mac: string): ClientInfo | undefined {
    return this.byMac.peek(mac)?.client;
  }

  macOfIp(ip: string): string | undefined {
    return this.macByIp.peek(ip);
  }

  /**
   * The client seen lately with this option 97 GUID (as either reading), newest first. A scan: callers
   * (DHCPv6 listening) bound how often they ask.
   */
  macOfGuid(guid: string): string | undefined {
    const g = guid.toLowerCase();
    let found: string | undefined;
    for (const [mac, seen] of this.byMac.entries()) if (seen.client.guid === g || seen.client.guidSwapped === g) found = mac;
    return found;
  }

  profileFor(mac: string): string | undefined {
    return this.byMac.peek(mac)?.profile;
  }

  serverFor(mac: string): string | undefined {
    return this.byMac.peek(mac)?.serverIp;
  }
}
