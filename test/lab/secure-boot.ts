/**
 * The Secure Boot lab the secure-boot e2e files share: prerequisites checked (a missing one fails the
 * test with its Debian package named), the namespace lab, a boot root with Debian's Microsoft-signed
 * shim and signed network GRUB beside the lab's kernel, Bootgate with an admin token, and the admin API,
 * metrics and a failure report read from inside the appliance's namespace.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureAssets, type LabAssets } from './assets.js';
import { APP_ADDRESS, createLab, type Lab } from './netns.js';
import { OVMF_CODE_SECBOOT, OVMF_VARS_MS } from './qemu.js';
import { LAB_HTTP_PORT, buildBootRoot, labScript, startBootgate, type Appliance } from './appliance.js';
import { missingPrerequisites } from './prereq.js';

/** The signed chain as Debian's packages install it (the same files fetch-boot --secure-boot downloads). */
export const SHIM = '/usr/lib/shim/shimx64.efi.signed';
export const GRUB = '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed';
export const SB_TOKEN = 'lab-admin-token-5b5b5b5b5b5b5b5b';

export interface SecureBootLab {
  lab: Lab;
  app: Appliance;
  assets: LabAssets;
  root: string;
  /** The lab's iPXE script template (for profiles that offer iPXE to machines without Secure Boot). */
  script: string;
  /** The admin API, from inside the appliance's namespace. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
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
    writeFileSync(join(lab.dir, 'admin-tokens'), `${SB_TOKEN}\n`);
    const extra = o.config(script);
    app = await startBootgate(lab, {
      root, ipxeScript: script, scriptTransport: 'http',
      extraConfig: { ...extra, admin: { tokensFile: join(lab.dir, 'admin-tokens'), ...(extra.admin as object | undefined) } },
    });
    const started = app;
    const api: SecureBootLab['api'] = async (method, path, body) => {
      const argv = ['curl', '-sS', '-m', '10', '-X', method, '-H', `authorization: Bearer ${SB_TOKEN}`, '-w', '\n%{http_code}'];
      if (body !== undefined) argv.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
      argv.push(`http://${lab.appAddress}:${LAB_HTTP_PORT}/api/v1${path}`);
      const out = (await lab.run(argv, lab.appNs)).stdout;
      const at = out.lastIndexOf('\n');
      return { status: Number(out.slice(at + 1)), json: out.slice(0, at) ? JSON.parse(out.slice(0, at)) : null };
    };
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
