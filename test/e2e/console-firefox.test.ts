/**
 * The console in Firefox: Debian's `firefox-esr` driven by puppeteer-core over WebDriver BiDi (no
 * browser is downloaded; playwright-core can drive only its own patched Firefox builds). The daemon's
 * admin listener serves HTTPS on 127.0.0.1 with its self-signed certificate, accepted explicitly for
 * this browser. Sign in; an unknown PXE client appears on Pending; approve it in the page; its next
 * DISCOVER gets the profile's boot program; sign out revokes the session on the server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { ARTIFACTS, discover, startConsoleRig, WAIT_MS, type ConsoleRig } from './console-rig.js';

const FIREFOX = '/usr/bin/firefox-esr';
const RW = 'console-ff-token-0123456789';
const MAC = '52:54:00:ff:0f:01';

describe('the console in Firefox', () => {
  let rig: ConsoleRig;
  let base: string;
  let browser: Browser;

  before(async () => {
    assert.ok(existsSync(FIREFOX), `${FIREFOX} is missing: install the Debian package firefox-esr`);
    rig = await startConsoleRig({ prefix: 'bg-console-ff-', tokens: [RW], config: { admin: { address: '127.0.0.1', port: 0 } } });
    base = `https://127.0.0.1:${rig.daemon.ports.admin as number}`;
    browser = await puppeteer.launch({
      browser: 'firefox', executablePath: FIREFOX, headless: true, acceptInsecureCerts: true,
      // Its own throwaway profile (puppeteer makes one); HOME for anything Firefox writes beside it.
      env: { ...process.env, HOME: rig.dir },
    });
  });

  after(async () => {
    await browser?.close();
    await rig?.close();
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
    assert.equal((await discover(rig, MAC)).file, '', 'pending: no boot file yet');
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
    assert.equal((await discover(rig, MAC)).file, 'ipxe.efi', 'approved in Firefox: the next DISCOVER gets the profile');

    await page.click('#sign-out');
    await page.waitForSelector('#token', { visible: true, timeout: WAIT_MS });
    // The old cookie, replayed from outside the browser (trusting exactly the appliance's certificate): refused.
    const ca = readFileSync(join(rig.dir, 'admin-tls.crt'));
    const status = await new Promise<number>((res, rej) => {
      const r = httpsRequest({ host: '127.0.0.1', port: rig.daemon.ports.admin as number, path: '/console/api/pending', ca, checkServerIdentity: () => undefined,
        headers: { cookie: `bootgate_console=${cookie.value}` } }, (resp) => { resp.resume(); res(resp.statusCode ?? 0); });
      r.on('error', rej);
      r.end();
    });
    assert.equal(status, 401);
    assert.deepEqual(pageErrors, []);
  });
});
