/**
 * The one decision every door asks: may this client boot, and what. Pure: a function of the client
 * and a snapshot of config + inventory; effects (recording a pending device, audit events, metrics)
 * are applied by the caller from the returned decision.
 */
import type { BootgateConfig } from '../config/schema.js';
import { chooseTarget } from './target.js';
import type { ClientInfo, Decision, DecisionReason } from './types.js';

export interface PolicySnapshot {
  answering: boolean;
  profiles: BootgateConfig['profiles'];
  policy: BootgateConfig['policy'];
  scriptTransport: BootgateConfig['ipxe']['scriptTransport'];
}

export function snapshotFromConfig(cfg: BootgateConfig): PolicySnapshot {
  return { answering: cfg.server.answering, profiles: cfg.profiles, policy: cfg.policy, scriptTransport: cfg.ipxe.scriptTransport };
}

/** Option 60 prefixes of clients we serve (PXE 2.1 spec; UEFI 2.5 HTTP boot). */
const BOOT_CLIENT = /^(PXEClient|HTTPClient)/;

function bootProfile(client: ClientInfo, snap: PolicySnapshot, profileName: string, computer: string | null, reason: DecisionReason): Decision {
  const profile = snap.profiles[profileName];
  if (!profile) return { kind: 'ignore', reason: 'no-boot-file' };
  const target = chooseTarget(client, profile, snap.scriptTransport);
  if (!target) return { kind: 'ignore', reason: client.arch === null ? 'unknown-arch' : 'no-boot-file' };
  return { kind: 'boot', profile: profileName, target, computer, reason };
}

export function decide(client: ClientInfo, snap: PolicySnapshot): Decision {
  if (!snap.answering) return { kind: 'ignore', reason: 'disabled' };
  if ((client.door === 'dhcp' || client.door === 'pxe') && !BOOT_CLIENT.test(client.vendorClass)) {
    return { kind: 'ignore', reason: 'not-pxe' };
  }
  const unknown = snap.policy.unknown;
  switch (unknown.action) {
    case 'ignore': return { kind: 'ignore', reason: 'unknown-ignore' };
    case 'pending': return { kind: 'pending', reason: 'unknown-pending' };
    case 'boot': return bootProfile(client, snap, unknown.profile, null, 'unknown-boot');
  }
}
