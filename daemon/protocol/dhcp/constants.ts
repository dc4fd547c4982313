/**
 * DHCP/BOOTP and PXE protocol numbers. Nothing outside daemon/protocol writes these as bare numbers.
 * References: RFC 951 (BOOTP), RFC 2131 (DHCP), RFC 2132 (options), RFC 3396 (long options),
 * RFC 4578 (PXE options 93/94/97), PXE 2.1 specification (option 43 sub-options), IANA "BOOTP and
 * DHCP Parameters" and "Processor Architecture Types" registries.
 */

/** BOOTP `op` field, RFC 951 section 3 / RFC 2131 section 2. */
export const BootpOp = { REQUEST: 1, REPLY: 2 } as const;

/** Option 53 values, RFC 2132 section 9.6. */
export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** DHCP option codes. RFC 2132 unless noted. */
export const DhcpOption = {
  /** RFC 2132 section 3.1: a single zero byte, no length. */
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DOMAIN_NAME_SERVER: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  ROOT_PATH: 17,
  INTERFACE_MTU: 26,
  BROADCAST_ADDRESS: 28,
  /** Section 8.4; for PXE clients the PXE sub-options (see PxeVendorOption). */
  VENDOR_SPECIFIC: 43,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  /** Section 9.3: `file` and/or `sname` carry more options (see DhcpOverload). */
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS_ID: 60,
  CLIENT_ID: 61,
  TFTP_SERVER_NAME: 66,
  BOOTFILE_NAME: 67,
  /** RFC 3004; iPXE sends the raw bytes "iPXE" instead of the length-prefixed form. */
  USER_CLASS: 77,
  /** RFC 4702. */
  CLIENT_FQDN: 81,
  /** RFC 3046. */
  RELAY_AGENT_INFO: 82,
  /** RFC 4578 section 2.1: list of 16-bit IANA processor architecture types (ClientArch). */
  CLIENT_SYSTEM_ARCH: 93,
  /** RFC 4578 section 2.2: type(1) major(1) minor(1); UNDI version. */
  CLIENT_NDI: 94,
  /** RFC 4578 section 2.3: type 0 + 16-byte GUID (SMBIOS byte order, see protocol-notes). */
  CLIENT_MACHINE_ID: 97,
  /** RFC 3397. */
  DOMAIN_SEARCH: 119,
  /** RFC 5859: TFTP server addresses (Cisco). */
  TFTP_SERVER_ADDRESS: 150,
  /** iPXE encapsulated options (feature flags, settings), iPXE docs "DHCP options". */
  IPXE_ENCAP: 175,
  /** Site-specific range (RFC 2132 section 2, 128-254 site/private use) used by PXELINUX, RFC 5071. */
  PXELINUX_MAGIC: 208,
  PXELINUX_CONFIG_FILE: 209,
  PXELINUX_PATH_PREFIX: 210,
  PXELINUX_REBOOT_TIME: 211,
  /** Private use: Configuration Manager's variables file (protocol-notes, not IANA assigned). */
  MS_VARIABLES_FILE: 243,
  /** Private use: WDS/wdsnbp container option as reverse-engineered servers have it (not IANA assigned). */
  WDS_CONTAINER: 250,
  /** Private use: Windows boot manager BCD path (`\Boot\BCD`), sent by WDS and Configuration Manager. */
  MS_BCD_PATH: 252,
  /** RFC 2132 section 3.2: a single 255 byte, no length; ends the current option area. */
  END: 255,
} as const;

/** Option 52 values, RFC 2132 section 9.3. */
export const DhcpOverload = { FILE: 1, SNAME: 2, BOTH: 3 } as const;

/** PXE 2.1 specification, "PXE Vendor Options" (option 43 encapsulated when option 60 is PXEClient). */
export const PxeVendorOption = {
  /** Bit field, see PxeDiscoveryControl. */
  DISCOVERY_CONTROL: 6,
  /** List of { type(2), count(1), count x IPv4 }. */
  BOOT_SERVERS: 8,
  /** List of { type(2), length(1), description }; type 0 = local boot. */
  BOOT_MENU: 9,
  /** timeout(1) then prompt text; timeout 0 = boot at once, 255 = wait for the user. */
  MENU_PROMPT: 10,
  /** type(2) layer(2); the client echoes the chosen item, the server echoes it back. */
  BOOT_ITEM: 71,
  END: 255,
} as const;

/** Bits of PXE sub-option 6 (PXE 2.1 spec table 2-1; dnsmasq sends 8 when it has no menu). */
export const PxeDiscoveryControl = {
  NO_BROADCAST: 0x01,
  NO_MULTICAST: 0x02,
  SERVER_LIST_ONLY: 0x04,
  /** "Bootstrap override": download the boot file named in the offer at once, skip discovery. */
  USE_BOOT_FILE: 0x08,
} as const;

/** IANA Processor Architecture Types (option 93), RFC 4578 section 2.1 and the IANA registry. */
export const ClientArch = {
  X86_BIOS: 0,
  NEC_PC98: 1,
  ITANIUM: 2,
  X86_UEFI: 6,
  X64_UEFI: 7,
  /** RFC 4578 lists 7 as EBC and 9 as x64, swapped against practice: treat 7 and 9 as x64 UEFI. */
  EBC: 9,
  ARM32_UEFI: 10,
  ARM64_UEFI: 11,
  X86_UEFI_HTTP: 15,
  X64_UEFI_HTTP: 16,
  EBC_HTTP: 17,
  ARM32_UEFI_HTTP: 18,
  ARM64_UEFI_HTTP: 19,
  X86_BIOS_HTTP: 20,
  RISCV32_UEFI: 25,
  RISCV32_UEFI_HTTP: 26,
  RISCV64_UEFI: 27,
  RISCV64_UEFI_HTTP: 28,
  RISCV128_UEFI: 29,
  RISCV128_UEFI_HTTP: 30,
} as const;

/** UDP ports: RFC 951 section 3 (67/68), PXE 2.1 spec section 2.2.2 (4011 boot service). */
export const DhcpPort = { SERVER: 67, CLIENT: 68, PXE: 4011 } as const;

/** BOOTP `flags` bit 15, RFC 2131 section 2 figure 2: reply by broadcast. */
export const BROADCAST_FLAG = 0x8000;

/** RFC 2131 section 3 / RFC 1497: the four bytes 99.130.83.99 that start the options area. */
export const DHCP_MAGIC_COOKIE = 0x63825363;

/** Fixed BOOTP layout, RFC 2131 section 2 figure 1. */
export const BootpLayout = {
  OP: 0,
  HTYPE: 1,
  HLEN: 2,
  HOPS: 3,
  XID: 4,
  SECS: 8,
  FLAGS: 10,
  CIADDR: 12,
  YIADDR: 16,
  SIADDR: 20,
  GIADDR: 24,
  CHADDR: 28,
  CHADDR_LENGTH: 16,
  SNAME: 44,
  SNAME_LENGTH: 64,
  FILE: 108,
  FILE_LENGTH: 128,
  /** Everything before the magic cookie. */
  HEADER_LENGTH: 236,
  COOKIE: 236,
  /** First option byte. */
  OPTIONS: 240,
  /** RFC 951 packets are 300 bytes (64-byte vendor area); old PXE ROMs drop shorter replies. */
  MIN_PACKET: 300,
} as const;

/** Longest value one option instance can carry (one length byte); longer values are split, RFC 3396. */
export const MAX_OPTION_INSTANCE = 255;
