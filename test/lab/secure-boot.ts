/**
 * The Secure Boot lab the secure-boot e2e files share: prerequisites checked (a missing one fails the
 * test with its Debian package named), the namespace lab, a boot root with Debian's Microsoft-signed
 * shim and signed network GRUB beside the lab's kernel, Bootgate with an admin token, and the admin API,
 * metrics and a failure report read from inside the appliance's namespace.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAssets, type LabAssets } from './assets.js';
import { APP_ADDRESS, createLab, type Lab } from './netns.js';
import { OVMF_CODE_SECBOOT, OVMF_VARS_MS } from './qemu.js';
import { LAB_ADMIN_TOKEN, LAB_HTTP_PORT, adminApi, adminTokensFile, buildBootRoot, labScript, startBootgate, type AdminApi, type Appliance } from './appliance.js';
import { missingPrerequisites } from './prereq.js';

/** The signed chain as Debian's packages install it (the same files fetch-boot --secure-boot downloads). */
export const SHIM = '/usr/lib/shim/shimx64.efi.signed';
export const GRUB = '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed';
export const SB_TOKEN = LAB_ADMIN_TOKEN;

export interface SecureBootLab {
  lab: Lab;
  app: Appliance;
  assets: LabAssets;
  root: string;
  /** The lab's iPXE script template (for profiles that offer iPXE to machines without Secure Boot). */
  script: string;
  /** The admin API, from inside the appliance's namespace. */
  api: AdminApi;
  metrics(): Promise<string>;
  /** A failure message with the serial console's and Bootgate's log tails. */
  report(what: string, serial: string): string;
  stop(): Promise<void>;
}

export interface SecureBootLabOptions {
  /** The boot root's directory name in the lab directory. */
  rootName: string;
  /** Bootgate's profiles and any other configuration; `script` is the lab's iPXE template. */
  config: (script: string) => Record<string, unknown>;
  /** Files the lab needs beyond the signed chain and OVMF with Microsoft's keys. */
  extraPrerequisites?: Array<[string, string]>;
}

export async function startSecureBootLab(o: SecureBootLabOptions): Promise<SecureBootLab> {
  const missing = missingPrerequisites({ bootgate: true });
  for (const [f, pkg] of [[SHIM, 'shim-signed'], [GRUB, 'grub-efi-amd64-signed'], [OVMF_CODE_SECBOOT, 'ovmf'], [OVMF_VARS_MS, 'ovmf'], ...(o.extraPrerequisites ?? [])]) {
    if (!existsSync(f as string)) missing.push(`${f} (Debian package ${pkg})`);
  }
  assert.deepEqual(missing, [], `the firmware lab cannot run, missing:\n  ${missing.join('\n  ')}`);
  const assets = await ensureAssets();
  // The site DHCP server names the appliance as next-server, as the README tells sites to: Debian's
  // signed GRUB configures its network from the DHCP ACK only.
  const lab = await createLab({ routerAdverts: true, keepDir: process.env.BOOTGATE_LAB_KEEP === '1', siteNextServer: APP_ADDRESS });
  let app: Appliance | undefined;
  try {
    const script = labScript('{{http}}');
    const root = buildBootRoot(lab, assets, script, o.rootName);
    copyFileSync(SHIM, join(root, 'shimx64.efi'));
    copyFileSync(GRUB, join(root, 'grubx64.efi'));
    const tokens = adminTokensFile(lab);
    const extra = o.config(script);
    app = await startBootgate(lab, {
      root, ipxeScript: script, scriptTransport: 'http',
      extraConfig: { ...extra, admin: { tokensFile: tokens, ...(extra.admin as object | undefined) } },
    });
    const started = app;
    const api = adminApi(lab);
    return {
      lab, app: started, assets, root, script, api,
      metrics: async () => (await lab.run(['curl', '-sf', `http://${lab.appAddress}:${LAB_HTTP_PORT}/metrics`], lab.appNs)).stdout,
      report: (what, serial) => [`${what}; lab directory ${lab.dir} (BOOTGATE_LAB_KEEP=1 keeps it)`, '--- serial (tail) ---', serial.slice(-4000),
        '--- bootgate log (tail) ---', started.log().slice(-6000)].join('\n'),
      stop: async () => {
        await started.stop();
        await lab.destroy();
      },
    };
  } catch (err) {
    await app?.stop();
    await lab.destroy();
    throw err;
  }
}
