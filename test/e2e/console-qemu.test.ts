/**
 * A real machine boots while the console's Boots-now page is open: a UEFI machine (OVMF under QEMU in
 * the namespace lab, test/lab) known by its MAC boots through Bootgate, and the page's timeline for
 * that MAC shows, in order and live: the offer on 67, the boot program (ipxe.efi) sent by TFTP with
 * its size, the iPXE script, and the kernel and initramfs sent by HTTP with their sizes.
 *
 * The browser (Debian's chromium, driven by playwright-core) runs inside the appliance's namespace and
 * reaches the daemon on that namespace's loopback, so nothing listens outside the lab.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ensureAssets, type LabAssets } from '../lab/assets.js';
import { createLab, type Lab } from '../lab/netns.js';
import { randomMac } from '../lab/qemu.js';
import { VM_TIMEOUT_MS, powerOn } from '../lab/local-disk.js';
import { bootgateConfig, buildBootRoot, labScript, startBootgate, type Appliance } from '../lab/appliance.js';
import { missingPrerequisites } from '../lab/prereq.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'lab-console-token-0123456789abcdef';
const ADMIN_PORT = 9443;
const ARTIFACTS = resolve('test/artifacts');

describe('the Boots-now page while a real machine boots', { timeout: 30 * 60_000 }, () => {
  let lab: Lab | undefined;
  let assets: LabAssets | undefined;
  let app: Appliance | undefined;
  let browser: Browser | undefined;
  let root = '';

  before(async () => {
    const missing = missingPrerequisites({ bootgate: true });
    assert.deepEqual(missing, [], `the firmware lab cannot run, missing:\n  ${missing.join('\n  ')}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    assets = await ensureAssets();
    lab = await createLab({ routerAdverts: true, keepDir: process.env.BOOTGATE_LAB_KEEP === '1' });
    const script = labScript('{{http}}');
    root = buildBootRoot(lab, assets, script, 'root-console');
    writeFileSync(join(lab.dir, 'admin-tokens'), `${TOKEN}\n`);
    const base = bootgateConfig(lab, { root, ipxeScript: script, scriptTransport: 'http' });
    await lab.run(['ip', 'link', 'set', 'lo', 'up'], lab.appNs);
    app = await startBootgate(lab, {
      root, ipxeScript: script, scriptTransport: 'http',
      // The console on the admin listener (HTTPS, its self-signed certificate) at the namespace's loopback:
      // the boot listener is bound to the lab interface and serves no console across the network.
      extraConfig: {
        admin: { tokensFile: join(lab.dir, 'admin-tokens'), address: '127.0.0.1', port: ADMIN_PORT },
        policy: { unknown: { action: 'ignore', profile: 'lab' } }, profiles: base.profiles,
      },
    });
    // Chromium in the appliance's namespace: playwright talks to it over a pipe, so the namespace is no obstacle.
    const wrapper = join(lab.dir, 'chromium-in-app-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.appNs} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await chromium.launch({ executablePath: wrapper, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
    await lab?.destroy();
  });

  test('offer, boot program, script, kernel: in order, with sizes, live on the page', { timeout: VM_TIMEOUT_MS + 5 * 60_000 }, async (t) => {
    assert.ok(lab && browser);
    const mac = randomMac();
    // The self-signed certificate is the appliance's own, made on this first start: accepted as a browser
    // accepts one an admin has checked (its fingerprint is in the log and in `bootgate status`).
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const base = `https://127.0.0.1:${ADMIN_PORT}`;
    await page.goto(`${base}/console/`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#stream-state').getByText('live').waitFor({ timeout: 120_000 });
    // The machine, known by its MAC, imported through the page's own API call.
    const imported = await page.evaluate(async (csv) => {
      const s = await (await fetch('api/session')).json() as { csrf: string };
      const r = await fetch('api/import', { method: 'POST', headers: { 'content-type': 'text/csv', 'x-csrf-token': s.csrf }, body: csv });
      return r.status;
    }, `Name,MAC,Profile\nLAB-CONSOLE,${mac},lab\n`);
    assert.equal(imported, 200);

    const r = await powerOn(lab, { firmware: 'uefi', mac });
    t.diagnostic(`marker after ${(r.ms / 1000).toFixed(1)} s`);
    assert.equal(r.reached, 'linux', `no boot marker:\n${r.serial.slice(-3000)}`);
    const card = page.locator(`article.machine[data-mac="${mac}"]`);
    await card.locator('li[data-kind="transfer"][data-door="http"][data-file="initrd.img"]').waitFor({ timeout: 120_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'console-boots-qemu.png'), fullPage: true });
    const steps = await card.locator('li').evaluateAll((lis) => lis.map((li) => {
      const d = (li as unknown as { dataset: Record<string, string | undefined> }).dataset;
      return `${d.kind}/${d.door}/${d.decision ?? ''}/${d.file ?? ''}/${d.bytes ?? ''}`;
    }));
    t.diagnostic(`timeline of ${mac}:\n  ${steps.join('\n  ')}`);
    const at = (re: RegExp) => steps.findIndex((s) => re.test(s));
    const offer = at(/^decision\/dhcp\/boot\//);
    const program = at(new RegExp(`^transfer/tftp//ipxe\\.efi/${statSync(join(root, 'ipxe.efi')).size}$`));
    const script = at(/^decision\/(ipxe-script|http)\/boot\//);
    const kernel = at(new RegExp(`^transfer/http//vmlinuz/${statSync(join(root, 'vmlinuz')).size}$`));
    const initrd = at(new RegExp(`^transfer/http//initrd\\.img/${statSync(join(root, 'initrd.img')).size}$`));
    assert.ok(offer >= 0, `no offer in\n${steps.join('\n')}`);
    assert.ok(program > offer, `no boot program by TFTP after the offer in\n${steps.join('\n')}`);
    assert.ok(script > program, `no script after the boot program in\n${steps.join('\n')}`);
    assert.ok(kernel > script && initrd > script, `no kernel and initramfs after the script in\n${steps.join('\n')}`);
  });
});
