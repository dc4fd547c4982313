/**
 * The contract between the doors (DHCP 67, PXE 4011, TFTP, HTTP, iPXE script) and the policy.
 * Every door turns what it saw into a `ClientInfo` and asks the same `decide()`.
 */

/** Architecture families a boot profile keys its boot programs by. */
export const ARCH_KEYS = ['bios', 'efi-ia32', 'efi-x64', 'efi-arm32', 'efi-arm64', 'efi-riscv64'] as const;
export type ArchKey = (typeof ARCH_KEYS)[number];

/** Which door a request came through; it is part of the audit trail and the metrics labels. */
export type Door = 'dhcp' | 'pxe' | 'tftp' | 'http' | 'ipxe-script' | 'api';

export interface ClientInfo {
  /** Lower-case colon form, `52:54:00:77:00:01`. */
  mac: string;
  /** Option 93 as received (first entry), null when absent. */
  archCode: number | null;
  /** The family the boot program is chosen by; null when the architecture is unknown. */
  arch: ArchKey | null;
  /** UEFI HTTP boot client (option 60 `HTTPClient...` or arch 15-20). */
  httpBoot: boolean;
  /** iPXE (option 77 "iPXE" raw or RFC 3004, or option 175 present). */
  ipxe: boolean;
  /**
   * Option 97 as a GUID string in wire order (bytes printed in the order received), and the same 16 bytes
   * read as SMBIOS >= 2.6 stores them (first three fields little-endian). Both are lower-case 8-4-4-4-12.
   * Policy matches an imported GUID against either.
   */
  guid: string | null;
  guidSwapped: string | null;
  /** Option 60 as text ('' when absent). */
  vendorClass: string;
  /** The client's IPv4 address when known (ciaddr, the request's source, or an IP<->MAC binding). */
  ip: string | null;
  door: Door;
}

/** Where a boot program is fetched from. `path` is relative to the boot root, forward slashes. */
export type BootTarget =
  | { transport: 'tftp'; path: string }
  | { transport: 'http'; path: string };

export type Decision =
  /** Stay silent (another server may answer). */
  | { kind: 'ignore'; reason: DecisionReason }
  /** Boot the profile; `target` is the next thing this client must fetch. */
  | { kind: 'boot'; profile: string; target: BootTarget; computer: string | null; reason: DecisionReason }
  /**
   * Boot the local disk quickly (boot-once consumed, not admitted by a rollout, ...).
   * `script`: for iPXE clients, where to fetch the script that says `exit` (back to the firmware's
   * next boot device); absent for native PXE, whose door answers with a local-boot reply instead.
   */
  | {
    kind: 'local'; computer: string | null; reason: DecisionReason; script?: BootTarget;
    /** For a native Secure Boot machine: the signed loader (shim) whose rendered GRUB configuration exits. */
    chain?: BootTarget;
  }
  /**
   * Recorded and waiting for an admin; native PXE retries on its own, iPXE gets a waiting script.
   * `script`: for iPXE clients, where to fetch that waiting script (policy/scripts.ts renders it).
   */
  | {
    kind: 'pending'; reason: DecisionReason; script?: BootTarget;
    /** For a native Secure Boot machine: the signed loader (shim) whose rendered GRUB configuration waits and asks again. */
    chain?: BootTarget;
  }
  /** The profile is password gated and this client has not unlocked it yet: chain into iPXE and prompt. */
  | { kind: 'password'; profile: string; target: BootTarget; computer: string | null; reason: DecisionReason };

/**
 * Bounded set of reasons: they are metric label values, so no free text here
 * (details go to the log line next to it).
 */
export type DecisionReason =
  | 'disabled'
  | 'not-pxe'
  | 'unknown-arch'
  | 'no-boot-file'
  | 'denied-mac'
  | 'denied-guid'
  | 'not-allowed'
  | 'rejected'
  | 'known'
  | 'unknown-boot'
  | 'unknown-ignore'
  | 'unknown-pending'
  | 'pending'
  /** Unknown device while the pending queue is full (cfg.store.pendingMax): not recorded, not answered. */
  | 'pending-full'
  /** The computer's (or unknown policy's) profile is not in the configuration. */
  | 'unknown-profile'
  | 'boot-once-consumed'
  /** The shared store is unreachable: a required deployment or rollout admission waits for it (local disk). */
  | 'store-stale'
  | 'rollout-not-admitted'
  | 'outside-window'
  | 'password-required'
  | 'unlocked'
  /** A person picked a profile from the built-in boot menu (daemon/boot/menu.ts). */
  | 'menu-choice'
  /** An unknown computer while `server.coexist` is `known-only`: left to the site's other PXE server. */
  | 'coexist-known-only'
  | 'delay'
  /**
   * A Secure Boot machine's UEFI HTTP boot attempt while its profile's Secure Boot program is shim: shim
   * fetched over HTTP boot loads nothing further (measured with Debian's shim under OVMF), so the machine
   * is left to its next boot option and gets shim by PXE at its next power-on.
   */
  | 'secure-boot-pxe-only';
