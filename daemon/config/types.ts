/**
 * The configuration's TypeScript type: what the JSON schema (schema.ts) guarantees once ajv has
 * validated a file and filled in its defaults.
 */
import type { CoexistMode } from '../policy/coexist.js';
import type { ArchKey } from '../policy/types.js';

export type UnknownAction = 'ignore' | 'boot' | 'pending';
export type DeploymentKind = 'required' | 'available';

export interface ProfileConfig {
  description: string;
  /** Boot program per architecture for native PXE clients, relative to the boot root. */
  bootFiles: Partial<Record<ArchKey, string>>;
  /** Boot program per architecture for UEFI HTTP boot clients (defaults to bootFiles). */
  httpBootFiles: Partial<Record<ArchKey, string>>;
  /**
   * Boot program per architecture for clients known or believed to run UEFI Secure Boot (marked by an
   * admin, or noticed refusing an unsigned program): a signed chain such as `shimx64.efi` with
   * `grubx64.efi` beside it, or a signed iPXE. Served over TFTP to PXE clients and HTTP to HTTP boot clients.
   */
  secureBootFiles?: Partial<Record<ArchKey, string>>;
  /**
   * What GRUB and PXELINUX clients boot for this profile (their per-client configuration is rendered from
   * the decision, daemon/boot/loader-config.ts): kernel and initrd relative to the boot root, and the
   * kernel command line. null = these loaders are told the profile has nothing for them.
   */
  linux?: LinuxBoot | null;
  /** iPXE script template (inline); iPXE clients get it rendered per client instead of a boot program. */
  ipxeScript: string | null;
  /** iPXE script template file relative to the boot root (used when ipxeScript is null). */
  ipxeScriptFile: string | null;
  /**
   * Required deployments boot once; available ones boot whenever asked. A computer's own
   * `kind` (inventory) overrides this default.
   */
  kind: DeploymentKind;
  /**
   * The file whose complete delivery (TFTP or HTTP) consumes a required deployment, relative to the
   * boot root (e.g. `sources/boot.wim`); null = only the API's "deployment done" report consumes it.
   */
  bootOnceMarker: string | null;
  /** Windows boot manager BCD path sent as option 252 (Configuration Manager style), e.g. `\Boot\BCD`. */
  bcdPath: string | null;
  /**
   * A Windows PE image added with `bootgate image add` (one name, or one per architecture): its boot
   * programs fill the bootFiles the profile does not name, and its BCD is sent as option 252.
   */
  image?: string | Partial<Record<'x64' | 'x86' | 'arm64', string>> | null;
  /** Filled from `image` when the configuration is prepared (not a config key): option 252 per client architecture. */
  bcdPaths?: Partial<Record<ArchKey, string>>;
  /** Ramped rollout of this profile to its computers (daemon/features/rollout); null = everyone at once. */
  rollout?: RolloutConfig | null;
  /** Password gating (daemon/features/password); absent means `{mode: 'inherit', files: []}`. */
  password?: ProfilePassword;
  /**
   * Set only on the built-in boot menu profile (config/defaults.ts): iPXE clients get the menu
   * (daemon/boot/menu.ts) rendered per client instead of a template. Not a config key.
   */
  menu?: true;
}

export interface LinuxBoot {
  kernel: string;
  initrd: string | null;
  cmdline: string;
}

/** What the built-in boot menu does when nobody presses a key. */
export type MenuChoice = 'local' | 'linux' | 'shell';

export interface ProfilePassword {
  /** `inherit`: gated when the global `password.required` is on; `required`: always; `none`: never. */
  mode: 'inherit' | 'required' | 'none';
  /**
   * Path prefixes under the boot root (case-insensitive, `linux/` for a folder) that TFTP and HTTP serve
   * only to a client that unlocked this profile: the files its script loads.
   */
  files: string[];
}

/** A profile's ramped rollout: a few machines per group on day 0, growing each day up to daily limits. */
export interface RolloutConfig {
  /** Day 0, a local date `YYYY-MM-DD` in timeZone. */
  startDate: string;
  /** IANA time zone the days (and their midnights) are counted in. */
  timeZone: string;
  startPerGroup: number;
  growthFactor: number;
  /** New admissions per day over all groups; null = no total limit. */
  dailyLimit: number | null;
  /** New admissions per day in one group; null = no limit but the growth. */
  dailyLimitPerGroup: number | null;
  /** What a computer not admitted yet boots: its local disk, or `previousProfile`. */
  notAdmitted: 'local' | 'previous';
  previousProfile: string | null;
  /** Failed deployments that halt a group's rollout (counted since the group's last resume). */
  haltAfter: { failures: number | null; failureRatio: number | null; minResults: number };
}

/** A maintenance window: outside it a machine is not offered a required deployment. */
export interface MaintenanceWindowConfig {
  /** `Mon-Fri 20:00-06:00`; several rules separated by `;` (daemon/features/rollout/windows.ts). */
  schedule: string;
  timeZone: string;
  /** Rollout groups whose machines keep this window (a computer may name its own instead). */
  groups: string[];
}

export interface ListConfig {
  macs: string[];
  guids: string[];
}

export interface BootgateConfig {
  server: {
    /** Interfaces to answer on; empty = every IPv4 interface that is up (loopback excluded). */
    interfaces: string[];
    /** Bind this address instead of one socket per interface (tests and single-homed hosts). */
    bindAddress: string | null;
    /** Address advertised as server identifier / next-server; null = the receiving interface's. */
    advertiseAddress: string | null;
    dhcpPort: number;
    pxePort: number;
    clientPort: number;
    broadcastAddress: string;
    /** Seconds every proxy offer waits, judged against the client's `secs` (Configuration Manager's rule). */
    responseDelaySeconds: number;
    /**
     * Listen (never answer) for DHCPv6 Solicits on port 547 of the boot interfaces: firmware that refused
     * an unsigned boot program tries PXE over IPv6 next, the earliest sign of a Secure Boot refusal.
     * Only with `interfaces` (one socket per interface), never with `bindAddress`.
     */
    dhcpv6Listen: boolean;
    /**
     * Beside another PXE server (WDS, Configuration Manager): `known-only` answers inventory computers
     * only, `delay` holds offers to unknown computers for coexistDelaySeconds (daemon/policy/coexist.ts).
     */
    coexist: CoexistMode;
    coexistDelaySeconds: number;
    answering: boolean;
    /** When started as root, switch to this user once the privileged ports are bound. */
    user: string | null;
    /**
     * This appliance's name in a fleet sharing one store: on the audit events and device sightings it
     * writes and in the admin API, so an admin sees which subnet saw a machine. null = the host name.
     */
    name: string | null;
  };
  tftp: {
    enabled: boolean;
    port: number;
    blockSizeMax: number;
    windowSizeMax: number;
    inflightBytesMax: number;
    sessionsMax: number;
    sessionsPerClientMax: number;
    cacheBytes: number;
    timeoutMs: number;
    retries: number;
    workers: number;
  };
  http: {
    enabled: boolean;
    port: number;
    address: string;
    /** File whose first line is the bearer token /metrics requires; null = /metrics is open. */
    metricsTokenFile: string | null;
    /** Bytes of boot files kept in memory for HTTP clients (files up to half of it); 0 = stream every file. */
    cacheBytes: number;
    /** File bodies sent by sendfile(2) on plain HTTP connections (Linux; falls back to writing them when it cannot). */
    sendfile: boolean;
  };
  admin: {
    enabled: boolean;
    /**
     * The admin listener (admin API, /metrics, /healthz, /readyz) on its own address and port, e.g. on a
     * management network; null port = served by the boot HTTP listener. Null address = http.address.
     */
    address: string | null;
    port: number | null;
    /** File holding `token[:ro]` lines; BOOTGATE_ADMIN_TOKEN adds one read-write token. */
    tokensFile: string | null;
    /** The console's certificate and key (PEM files); both null: a self-signed pair made on first start, next to the store. */
    tls: { cert: string | null; key: string | null };
    /** The IEEE's MA-L registry (CSV) the console names MAC vendors from; a missing file: no vendor names. null: none. */
    ouiFile: string | null;
  };
  store: {
    path: string;
    /**
     * The shared PostgreSQL store of a fleet, a libpq-style URL (`postgres://user@db1:5432,db2:5432/bootgate
     * ?target_session_attrs=read-write&sslmode=verify-full&sslrootcert=...`); null = the embedded SQLite
     * file at `path`. The password comes from `passwordFile`, else PGPASSFILE / ~/.pgpass.
     */
    url: string | null;
    /** A file whose first line is the PostgreSQL password (never on a command line). */
    passwordFile: string | null;
    auditRetentionDays: number;
    pendingMax: number;
  };
  log: {
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  };
  /** The boot tree served by TFTP and HTTP. */
  root: string;
  ipxe: {
    /** How iPXE clients fetch their rendered script. */
    scriptTransport: 'http' | 'tftp';
  };
  /** The built-in boot menu (profile `menu`): its default entry and how long it waits for a key. */
  menu: { default: MenuChoice; timeoutSeconds: number };
  policy: {
    /**
     * Computers not in the inventory: `ignore` (stay silent), `boot` `profile`, or `pending` (recorded until an
     * admin approves; an approval without a profile gives `profile`). iPXE clients waiting for approval
     * retry every `retrySeconds`.
     */
    unknown: { action: UnknownAction; profile: string; retrySeconds: number };
    allow: ListConfig;
    deny: ListConfig;
  };
  profiles: Record<string, ProfileConfig>;
  /** Named maintenance windows for rollout groups and computers. */
  maintenanceWindows?: Record<string, MaintenanceWindowConfig>;
  /** Password gating: the global switch, attempt limits and how long an unlock lasts. */
  password: {
    /** Gate every profile whose `password.mode` is `inherit`. */
    required: boolean;
    /** Wrong passwords per MAC and per IP before a lockout. */
    maxFailures: number;
    lockoutMinutes: number;
    /** How long an unlock (and the signed file URLs it hands out) stays valid. */
    unlockMinutes: number;
  };
}
