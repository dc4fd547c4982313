/**
 * What the DHCP doors need of the configuration, in the shape the reply builder asks for it.
 */
import type { BootgateConfig } from '../config/schema.js';
import { ipxeScriptPath, isIpxeBinary } from '../policy/target.js';
import type { BootTarget, ClientInfo } from '../policy/types.js';
import type { DoorSettings } from './door.js';

/**
 * The door settings for `cfg`. `responseDelaySeconds` is read per packet: it is a run-time switch
 * (API/CLI, persisted in the store) on top of the config.
 */
export function doorSettings(cfg: BootgateConfig, responseDelaySeconds: () => number, httpPort: number | null): DoorSettings {
  // The iPXE binary per arch from the unknown-computers profile: a native client told to boot locally
  // gets iPXE, whose script says `exit`, instead of waiting out a 60-second PXE timeout.
  const fallback = cfg.profiles[cfg.policy.unknown.profile];
  return {
    clientPort: cfg.server.clientPort,
    relayPort: cfg.server.dhcpPort,
    broadcastAddress: cfg.server.broadcastAddress,
    advertiseAddress: cfg.server.advertiseAddress,
    httpPort,
    get responseDelaySeconds() {
      return responseDelaySeconds();
    },
    coexist: { mode: cfg.server.coexist, delaySeconds: cfg.server.coexistDelaySeconds },
    bcdPathFor: (name, arch) => {
      const p = cfg.profiles[name];
      return (arch ? p?.bcdPaths?.[arch] : undefined) ?? p?.bcdPath ?? null;
    },
    localTarget: (client: ClientInfo): BootTarget | null => {
      const file = client.arch ? fallback?.bootFiles[client.arch] : undefined;
      return file && isIpxeBinary(file) ? { transport: 'tftp', path: file } : null;
    },
    scriptTarget: (client) => ({ transport: cfg.ipxe.scriptTransport, path: ipxeScriptPath(client.mac) }),
  };
}
