/**
 * The console in Firefox: Debian's `firefox-esr` driven by puppeteer-core over WebDriver BiDi (no
 * browser is downloaded; playwright-core can drive only its own patched Firefox builds). The daemon's
 * admin listener serves HTTPS on 127.0.0.1 with its self-signed certificate, accepted explicitly for
 * this browser. Sign in; an unknown PXE client appears on Pending; approve it in the page; its next
 * DISCOVER gets the profile's boot program; sign out revokes the session on the server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { validateConfig } from '../../daemon/config/load.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type Daemon } from '../../daemon/main.js';
import { TestClient, freePort, pxeRequest } from '../unit/helpers/dhcp-client.js';

const FIREFOX = '/usr/bin/firefox-esr';
const RW = 'console-ff-token-0123456789';
const MAC = '52:54:00:ff:0f:01';
const WAIT_MS = Number(process.env.CONSOLE_WAIT_MS ?? 120_000);
const ARTIFACTS = resolve('test/artifacts');

async function discover(client: TestClient, port: number, mac: string): Promise<string> {
  const req = pxeRequest({ mac, arch: 7, guid: Buffer.from(`00112233445566778899${mac.replace(/:/g, '')}`, 'hex') });
  client.send(req, port);
  try {
    return (await client.reply(req.xid, 3000)).file;
  } catch {
    return '';
  }
}

describe('the console in Firefox', () => {
  let dir: string;
  let daemon: Daemon;
  let client: TestClient;
  let dhcpPort: number;
  let base: string;
  let browser: Browser;

  before(async () => {
    assert.ok(existsSync(FIREFOX), `${FIREFOX} is missing: install the Debian package firefox-esr`);
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'bg-console-ff-'));
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'ipxe.efi'), Buffer.alloc(4096, 7));
    const tokensFile = join(dir, 'tokens');
    writeFileSync(tokensFile, `${RW}\n`);
    client = await TestClient.open();
    dhcpPort = await freePort();
    const config = validateConfig({
      root,
      server: { bindAddress: '127.0.0.1', dhcpPort, pxePort: 0, clientPort: client.port, broadcastAddress: '127.0.0.1' },
      tftp: { port: 0 },
      http: { port: 0, address: '127.0.0.1' },
      admin: { tokensFile, address: '127.0.0.1', port: 0 },
      store: { path: join(dir, 'store.db') },
      profiles: { lab: { description: 'lab image', bootFiles: { 'efi-x64': 'ipxe.efi' } } },
      policy: { unknown: { action: 'pending', profile: 'lab' } },
      log: { level: 'silent' },
    }, 'test');
    daemon = await startDaemon({ config, logger: createLogger('silent') });
    base = `https://127.0.0.1:${daemon.ports.admin as number}`;
    browser = await puppeteer.launch({
      browser: 'firefox', executablePath: FIREFOX, headless: true, acceptInsecureCerts: true,
      // Its own throwaway profile (puppeteer makes one); HOME for anything Firefox writes beside it.
      env: { ...process.env, HOME: dir },
    });
  });

  after(async () => {
    await browser?.close();
    client?.close();
    await daemon?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('sign in, approve a pending machine, its next DISCOVER boots, sign out', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    console.log(`browser: ${await browser.version()}`);
    await page.goto(`${base}/console/`);
    await page.waitForSelector('#token', { visible: true, timeout: WAIT_MS });
    await page.type('#token', RW);
    await page.click('#signin-form button[type="submit"]');
    await page.waitForSelector('#nav:not([hidden])', { timeout: WAIT_MS });
    const cookies = await browser.cookies();
    const cookie = cookies.find((c) => c.name === 'bootgate_console');
    assert.ok(cookie, 'a session cookie');
    assert.deepEqual([cookie.secure, cookie.httpOnly, cookie.sameSite], [true, true, 'Strict']);

    await page.click('a[data-page="pending"]');
    assert.equal(await discover(client, dhcpPort, MAC), '', 'pending: no boot file yet');
    const t0 = Date.now();
    const row = `#pending-table tr[data-mac="${MAC}"]`;
    await page.waitForSelector(row, { timeout: WAIT_MS });
    console.log(`pending row visible in Firefox ${Date.now() - t0} ms after the DISCOVER was answered`);
    await page.screenshot({ path: join(ARTIFACTS, 'console-firefox-pending.png'), fullPage: true });
    const key = MAC.replace(/:/g, '');
    await page.type(`#name-${key}`, 'ff-pc-1');
    await page.select(`#profile-${key}`, 'lab');
    await page.click(`${row} button.primary`);
    await page.waitForSelector(row, { hidden: true, timeout: WAIT_MS });
    assert.equal(await discover(client, dhcpPort, MAC), 'ipxe.efi', 'approved in Firefox: the next DISCOVER gets the profile');

    await page.click('#sign-out');
    await page.waitForSelector('#token', { visible: true, timeout: WAIT_MS });
    // The old cookie, replayed from outside the browser (trusting exactly the appliance's certificate): refused.
    const ca = readFileSync(join(dir, 'admin-tls.crt'));
    const status = await new Promise<number>((res, rej) => {
      const r = httpsRequest({ host: '127.0.0.1', port: daemon.ports.admin as number, path: '/console/api/pending', ca, checkServerIdentity: () => undefined,
        headers: { cookie: `bootgate_console=${cookie.value}` } }, (resp) => { resp.resume(); res(resp.statusCode ?? 0); });
      r.on('error', rej);
      r.end();
    });
    assert.equal(status, 401);
    assert.deepEqual(pageErrors, []);
  });
});
