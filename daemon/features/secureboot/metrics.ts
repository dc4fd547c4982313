/**
 * Secure Boot metrics, on the daemon's registry. No label carries a MAC or a file name.
 */
import { Counter, type Registry } from 'prom-client';

export function createSecureBootMetrics(registry: Registry) {
  return {
    refusals: new Counter({
      name: 'bootgate_secure_boot_refusals_total',
      help: 'Firmware refusals of an unsigned boot program noticed (the machine then gets the Secure Boot chain), by reason (ipv6-pxe-fallback: a DHCPv6 Solicit, http-boot-fallback, pxe-restart)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    chains: new Counter({
      name: 'bootgate_secure_boot_offers_total',
      help: 'Offers of a profile\'s Secure Boot program to a machine known or believed to run Secure Boot',
      registers: [registry],
    }),
    dhcpv6: new Counter({
      name: 'bootgate_secure_boot_dhcpv6_messages_total',
      help: 'DHCPv6 messages heard on port 547 (never answered) by result: matched (to a machine seen on port 67/4011), unmatched, malformed, not-client (a server\'s or relay\'s message), limited (over the rate bound, not read)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    grubSilent: new Counter({
      name: 'bootgate_secure_boot_grub_silent_total',
      help: 'Machines sent shim whose GRUB then asked Bootgate for nothing within two minutes (the site DHCP server does not name this appliance as next-server)',
      registers: [registry],
    }),
  };
}

export type SecureBootMetrics = ReturnType<typeof createSecureBootMetrics>;
