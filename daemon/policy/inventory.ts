/**
 * The inventory as the policy sees it: known computers indexed by every MAC and by SMBIOS GUID.
 * Built once per snapshot (the store rebuilds it when the inventory changes), so a decision costs
 * two or three map lookups however many computers are imported.
 */
import type { DeploymentKind } from '../config/schema.js';
import type { ClientInfo } from './types.js';

export interface KnownComputer {
  name: string;
  profile: string;
  /** The computer's own deployment kind; null = the profile's default. */
  kind: DeploymentKind | null;
  /** A required deployment that has run: the computer boots its local disk until an admin clears it. */
  bootOnceConsumed: boolean;
}

export interface InventoryIndex {
  byMac: ReadonlyMap<string, KnownComputer>;
  /** Keyed by the GUID as imported; lookups try both readings of the client's option 97. */
  byGuid: ReadonlyMap<string, KnownComputer>;
  size: number;
}

export interface InventoryEntry extends KnownComputer {
  macs: readonly string[];
  guid: string | null;
}

export const EMPTY_INVENTORY: InventoryIndex = { byMac: new Map(), byGuid: new Map(), size: 0 };

export function buildInventoryIndex(entries: Iterable<InventoryEntry>): InventoryIndex {
  const byMac = new Map<string, KnownComputer>();
  const byGuid = new Map<string, KnownComputer>();
  let size = 0;
  for (const e of entries) {
    const known: KnownComputer = { name: e.name, profile: e.profile, kind: e.kind, bootOnceConsumed: e.bootOnceConsumed };
    for (const mac of e.macs) byMac.set(mac, known);
    if (e.guid !== null) byGuid.set(e.guid, known);
    size += 1;
  }
  return { byMac, byGuid, size };
}

/**
 * The computer this client is. A MAC names one NIC of one machine, so it wins over a GUID match
 * (a GUID can be cloned with a disk image or a VM template); the GUID finds machines imported
 * without the MAC of the NIC they boot from.
 */
export function findComputer(index: InventoryIndex, client: Pick<ClientInfo, 'mac' | 'guid' | 'guidSwapped'>): KnownComputer | undefined {
  const byMac = index.byMac.get(client.mac);
  if (byMac) return byMac;
  if (index.byGuid.size === 0) return undefined;
  if (client.guid !== null) {
    const g = index.byGuid.get(client.guid);
    if (g) return g;
  }
  return client.guidSwapped !== null ? index.byGuid.get(client.guidSwapped) : undefined;
}
