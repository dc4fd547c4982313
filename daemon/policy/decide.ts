/**
 * The one decision every door asks: may this client boot, and what. Pure: a function of the client
 * and a snapshot of config + inventory; effects (recording a pending device, audit events, metrics)
 * are applied by the caller from the returned decision.
 *
 * Order of the checks (each is a row of the table in test/unit/policy-decide.test.ts):
 *   answering switch -> not a PXE/HTTP boot client -> deny list (wins over everything) -> allow list ->
 *   known computer (boot-once consumed -> local disk; not admitted by its profile's rollout -> previous
 *   profile or local disk; required deployment outside its maintenance window -> local disk) ->
 *   coexistence with another PXE server (known-only) -> rejected device -> unknown-computer action.
 */
import type { BootgateConfig } from '../config/schema.js';
import { gatePassword, passwordFacts, type PasswordFacts } from './password.js';
import { isRequired } from './boot-once.js';
import { coexistWithholds, type CoexistRule } from './coexist.js';
import { compileList, listHasGuid, listHasMac, type CompiledList } from './identity.js';
import { EMPTY_INVENTORY, findComputer, type InventoryIndex, type KnownComputer } from './inventory.js';
import { isShim, secureBootFile, type SecureBootFacts } from './secure-boot.js';
import { chooseTarget, ipxeScriptPath, menuProfileNames } from './target.js';
import type { BootTarget, ClientInfo, Decision, DecisionReason } from './types.js';

export interface PolicySnapshot {
  answering: boolean;
  profiles: BootgateConfig['profiles'];
  policy: BootgateConfig['policy'];
  scriptTransport: BootgateConfig['ipxe']['scriptTransport'];
  /** policy.allow / policy.deny compiled once per snapshot. */
  allow: CompiledList;
  deny: CompiledList;
  inventory: InventoryIndex;
  /** MACs an admin rejected: ignored so another server (or nobody) answers them. */
  rejected: ReadonlySet<string>;
  /**
   * MACs waiting for approval. The store backend adds to this set as it records devices, so the
   * queue bound holds without rebuilding the snapshot on every new device.
   */
  pending: ReadonlySet<string>;
  pendingMax: number;
  /** Ramped rollouts and maintenance windows at this instant (daemon/policy/rollout.ts); absent = none. */
  rollout?: RolloutGate;
  /** Password gating (daemon/policy/password.ts): the global switch and a live view of unlocks. */
  password?: PasswordFacts;
  /** Sharing the subnet with another PXE server (daemon/policy/coexist.ts); absent = answer everyone. */
  coexist?: CoexistRule;
  /**
   * The shared store is unreachable and this is its last known state: known computers are still
   * answered, but a required (destructive) deployment or a rollout admission is never decided on it.
   */
  stale?: boolean;
  /** Machines known or believed to run UEFI Secure Boot (daemon/policy/secure-boot.ts); absent = none. */
  secureBoot?: SecureBootFacts;
}

/** What a rollout or a maintenance window lets a known computer be offered now. */
export type RolloutCheck =
  | { kind: 'go' }
  /** Not admitted yet: boot `fallback` (the computer's previous profile) or, when null, the local disk. */
  | { kind: 'not-admitted'; fallback: string | null }
  /** A required deployment outside the computer's maintenance window: the local disk. */
  | { kind: 'outside-window' };

export interface RolloutGate {
  check(computer: KnownComputer, required: boolean): RolloutCheck;
}

const NO_MACS: ReadonlySet<string> = new Set();

/** A snapshot of the config alone: no inventory, no pending or rejected devices. */
export function snapshotFromConfig(cfg: BootgateConfig): PolicySnapshot {
  return {
    answering: cfg.server.answering,
    profiles: cfg.profiles,
    policy: cfg.policy,
    scriptTransport: cfg.ipxe.scriptTransport,
    allow: compileList(cfg.policy.allow),
    deny: compileList(cfg.policy.deny),
    inventory: EMPTY_INVENTORY,
    rejected: NO_MACS,
    pending: NO_MACS,
    pendingMax: cfg.store.pendingMax,
    password: passwordFacts(cfg),
    coexist: { mode: cfg.server.coexist, delaySeconds: cfg.server.coexistDelaySeconds },
  };
}

/** Option 60 prefixes of clients we serve (PXE 2.1 spec; UEFI 2.5 HTTP boot). */
const BOOT_CLIENT = /^(PXEClient|HTTPClient)/;

function bootProfile(client: ClientInfo, snap: PolicySnapshot, profileName: string, computer: string | null, reason: DecisionReason): Decision {
  const profile = snap.profiles[profileName];
  if (!profile) return { kind: 'ignore', reason: 'unknown-profile' };
  if (client.httpBoot) {
    const signed = secureBootFile(profile.secureBootFiles ?? {}, client, snap.secureBoot);
    if (signed && isShim(signed)) return { kind: 'ignore', reason: 'secure-boot-pxe-only' };
  }
  const target = chooseTarget(client, profile, snap.scriptTransport, snap.secureBoot);
  if (!target) return { kind: 'ignore', reason: client.arch === null ? 'unknown-arch' : 'no-boot-file' };
  return gatePassword(client, snap.password, profile, { kind: 'boot', profile: profileName, target, computer, reason }, snap.scriptTransport);
}

/** iPXE clients are told what to do by a per-client script (wait and retry, or `exit` to the local disk). */
function scriptFor(client: ClientInfo, snap: PolicySnapshot): BootTarget | undefined {
  if (!client.ipxe && client.door !== 'ipxe-script') return undefined;
  return { transport: snap.scriptTransport, path: ipxeScriptPath(client.mac) };
}

/**
 * `profileName`: the profile whose Secure Boot program takes a native Secure Boot machine to the local
 * disk (its GRUB configuration says `exit`); the unknown-computer profile's when absent. Other native
 * clients are sent to iPXE by the door (settings.ts), whose script exits.
 */
function local(client: ClientInfo, snap: PolicySnapshot, computer: string | null, reason: DecisionReason, profileName?: string): Decision {
  const script = scriptFor(client, snap);
  if (script) return { kind: 'local', computer, reason, script };
  const profile = snap.profiles[profileName ?? snap.policy.unknown.profile];
  const signed = profile && !client.httpBoot ? secureBootFile(profile.secureBootFiles ?? {}, client, snap.secureBoot) : undefined;
  return signed ? { kind: 'local', computer, reason, chain: { transport: 'tftp', path: signed } } : { kind: 'local', computer, reason };
}

/**
 * A native Secure Boot machine waits in GRUB (the unknown-computer profile's Secure Boot program, whose
 * GRUB configuration shows the waiting message and asks again); other native clients get no answer and
 * retry on their own.
 */
function pending(client: ClientInfo, snap: PolicySnapshot, reason: DecisionReason): Decision {
  const script = scriptFor(client, snap);
  if (script) return { kind: 'pending', reason, script };
  const profile = snap.profiles[snap.policy.unknown.profile];
  const signed = profile && !client.httpBoot ? secureBootFile(profile.secureBootFiles ?? {}, client, snap.secureBoot) : undefined;
  return signed ? { kind: 'pending', reason, chain: { transport: 'tftp', path: signed } } : { kind: 'pending', reason };
}

function decideKnown(client: ClientInfo, snap: PolicySnapshot, computer: KnownComputer): Decision {
  const profile = snap.profiles[computer.profile];
  if (!profile) return { kind: 'ignore', reason: 'unknown-profile' };
  const required = isRequired(computer.kind, profile);
  if (computer.bootOnceConsumed && required) return local(client, snap, computer.name, 'boot-once-consumed', computer.profile);
  // On stale data: no required deployment (it may have been consumed meanwhile) and no rollout admission.
  if (snap.stale && (required || profile.rollout)) return local(client, snap, computer.name, 'store-stale', computer.profile);
  const gate = snap.rollout?.check(computer, required);
  if (gate?.kind === 'not-admitted') {
    return gate.fallback === null ? local(client, snap, computer.name, 'rollout-not-admitted', computer.profile)
      : bootProfile(client, snap, gate.fallback, computer.name, 'rollout-not-admitted');
  }
  if (gate?.kind === 'outside-window') return local(client, snap, computer.name, 'outside-window', computer.profile);
  return bootProfile(client, snap, computer.profile, computer.name, 'known');
}

function decideUnknown(client: ClientInfo, snap: PolicySnapshot): Decision {
  const unknown = snap.policy.unknown;
  switch (unknown.action) {
    case 'ignore': return { kind: 'ignore', reason: 'unknown-ignore' };
    case 'boot': return bootProfile(client, snap, unknown.profile, null, 'unknown-boot');
    case 'pending':
      if (snap.pending.has(client.mac)) return pending(client, snap, 'pending');
      // A flood of random MACs must not grow the queue (and the disk) without bound.
      if (snap.pending.size >= snap.pendingMax) return { kind: 'ignore', reason: 'pending-full' };
      return pending(client, snap, 'unknown-pending');
  }
}

/**
 * `choice`: the profile a person picked from the built-in menu. It counts only when this client is
 * offered the menu now, and only for a profile the menu lists; that profile's own password gate applies.
 */
export function decide(client: ClientInfo, snap: PolicySnapshot, choice?: string): Decision {
  const offered = decideOffer(client, snap);
  if (choice === undefined) return offered;
  if (offered.kind !== 'boot' || snap.profiles[offered.profile]?.menu !== true) return offered;
  if (!menuProfileNames(snap.profiles).includes(choice)) return { kind: 'ignore', reason: 'unknown-profile' };
  return bootProfile(client, snap, choice, offered.computer, 'menu-choice');
}

function decideOffer(client: ClientInfo, snap: PolicySnapshot): Decision {
  if (!snap.answering) return { kind: 'ignore', reason: 'disabled' };
  if ((client.door === 'dhcp' || client.door === 'pxe') && !BOOT_CLIENT.test(client.vendorClass)) {
    return { kind: 'ignore', reason: 'not-pxe' };
  }
  // Deny wins over the allow list and over the inventory.
  if (!snap.deny.empty) {
    if (listHasMac(snap.deny, client.mac)) return { kind: 'ignore', reason: 'denied-mac' };
    if (listHasGuid(snap.deny, client.guid)) return { kind: 'ignore', reason: 'denied-guid' };
  }
  if (!snap.allow.empty && !listHasMac(snap.allow, client.mac) && !listHasGuid(snap.allow, client.guid)) {
    return { kind: 'ignore', reason: 'not-allowed' };
  }
  const computer = findComputer(snap.inventory, client);
  if (computer) return decideKnown(client, snap, computer);
  // Left to the site's own PXE point: not answered, not recorded as pending.
  if (snap.coexist && coexistWithholds(snap.coexist)) return { kind: 'ignore', reason: 'coexist-known-only' };
  if (snap.rejected.has(client.mac)) return { kind: 'ignore', reason: 'rejected' };
  return decideUnknown(client, snap);
}
