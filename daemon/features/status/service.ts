/**
 * What the appliance runs with: its boot profiles (from the configuration) and the transfers in
 * progress (from the doors).
 */
import type { BootgateConfig, DeploymentKind } from '../../config/schema.js';
import { AdminError } from '../../http/admin/errors.js';

export interface ProfileDto {
  name: string;
  description: string;
  kind: DeploymentKind;
  bootOnceMarker: string | null;
  bootFiles: Record<string, string>;
  httpBootFiles: Record<string, string>;
  secureBootFiles: Record<string, string>;
  ipxeScript: boolean;
  bcdPath: string | null;
}

export function profileDto(name: string, p: BootgateConfig['profiles'][string]): ProfileDto {
  return {
    name,
    description: p.description,
    kind: p.kind,
    bootOnceMarker: p.bootOnceMarker,
    bootFiles: { ...p.bootFiles },
    httpBootFiles: { ...p.httpBootFiles },
    secureBootFiles: { ...p.secureBootFiles },
    ipxeScript: p.ipxeScript !== null || p.ipxeScriptFile !== null,
    bcdPath: p.bcdPath,
  };
}

export class StatusService {
  constructor(
    private readonly cfg: () => BootgateConfig,
    /** Live TFTP/HTTP transfers, from the doors (none without a daemon). */
    private readonly liveSessions: () => unknown[] = () => [],
  ) {}

  profiles(): ProfileDto[] {
    return Object.entries(this.cfg().profiles).map(([n, p]) => profileDto(n, p));
  }

  profile(name: string): ProfileDto {
    const p = this.cfg().profiles[name];
    if (!p || !Object.hasOwn(this.cfg().profiles, name)) throw new AdminError(404, 'ERR_NOT_FOUND', `no profile ${JSON.stringify(name)}`);
    return profileDto(name, p);
  }

  sessions(): unknown[] {
    return this.liveSessions();
  }
}
