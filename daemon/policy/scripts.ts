/**
 * The two iPXE scripts the policy itself decides on (a profile's own script is rendered by the script
 * door): "wait for approval and retry" for a pending device and "exit to the local disk" for a
 * consumed boot-once. Pure: text out, nothing from the client is pasted in but its canonical MAC.
 */

/**
 * The last lines of every "boot from the local disk": `exit` hands control back to the firmware, which
 * goes on to its next boot device (the local disk). Under UEFI the status decides which: iPXE returns
 * `exit N` to the firmware as its EFI status, and EDK2's boot manager (OVMF, and the firmware of most
 * PCs and servers) goes on to the next Boot#### entry only when a boot option fails; one that returns
 * EFI_SUCCESS ends the boot order and opens the firmware's own boot menu / setup page, where the
 * machine then waits. So UEFI exits 1. BIOS PXE ROMs go on to the next device either way; they keep 0.
 */
export const EXIT_TO_LOCAL_DISK: readonly string[] = ['iseq ${platform} efi && exit 1 ||', 'exit 0'];

/**
 * The fast fall-through Configuration Manager gets from its "boot from hard disk" answer, instead of
 * the client waiting for PXE to time out.
 */
export function localBootIpxeScript(): string {
  return ['#!ipxe', 'echo Bootgate: nothing to deploy on this computer, booting from the local disk', ...EXIT_TO_LOCAL_DISK, ''].join('\n');
}

export interface PendingScriptOptions {
  /** Canonical `52:54:00:ab:cd:ef` form (policy/identity.ts). */
  mac: string;
  retrySeconds: number;
  /**
   * Absolute URL of this same script (`http://10.77.0.2:8080/ipxe/52-54-00-ab-cd-ef.ipxe` or
   * `tftp://10.77.0.2/ipxe/...`): fetching it again after approval returns the profile's script instead.
   */
  retryUrl: string;
}

const SAFE_URL = /^(https?|tftp):\/\/[A-Za-z0-9.:[\]_~%/-]+$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * Shows the machine is waiting for an admin and asks again every `retrySeconds`. `chain --replace`
 * (iPXE >= 1.0.0+git-2016) swaps the running script for the new one rather than nesting images, so
 * waiting for hours does not exhaust iPXE's memory.
 */
export function pendingIpxeScript(opts: PendingScriptOptions): string {
  if (!MAC.test(opts.mac)) throw new TypeError(`pendingIpxeScript: not a canonical MAC: ${JSON.stringify(opts.mac)}`);
  if (!SAFE_URL.test(opts.retryUrl)) throw new TypeError(`pendingIpxeScript: unsafe retry URL: ${JSON.stringify(opts.retryUrl)}`);
  const secs = Math.max(1, Math.floor(opts.retrySeconds));
  return [
    '#!ipxe',
    `echo Bootgate: this computer (${opts.mac}) is waiting for an administrator to approve it.`,
    `echo Asking again every ${secs} seconds.`,
    ':retry',
    `sleep ${secs}`,
    `chain --replace --autofree ${opts.retryUrl} || goto retry`,
    '',
  ].join('\n');
}
