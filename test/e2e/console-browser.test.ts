/**
 * The console in a real headless Chromium (Debian's `chromium`, driven by playwright-core; no browser
 * is downloaded), against the real daemon on 127.0.0.1: sign in; an unknown PXE client (a DISCOVER
 * sent to the daemon by unicast on 127.0.0.1, as the door tests do) appears on the Pending page;
 * approve it in the page; the next DISCOVER gets the profile's boot program; its boot steps (the
 * decision, the TFTP and HTTP transfers) arrive live on the Boots-now page; a CSV with bad rows shows
 * them and imports nothing until fixed; CSRF and read-only changes are refused by the server; signing
 * out revokes the session. A screenshot of each page goes to test/artifacts/ (git-ignored).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DhcpMessageType } from '../../daemon/protocol/dhcp/constants.js';
import { pxeRequest } from '../unit/helpers/dhcp-client.js';
import { ARTIFACTS, discover, startConsoleRig, WAIT_MS, type ConsoleRig } from './console-rig.js';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const RW = 'console-rw-token-0123456789';
const RO = 'console-ro-token-0123456789';
const MAC = '52:54:00:c0:5e:01';
const MAC_RO = '52:54:00:c0:5e:02';
/** Safety net for one wait in the page; the waits end on what they wait for. */

/** What the door answered: the boot file of the offer for this xid. */
function getStatus(port: number, path: string, cookie: string): Promise<number> {
  return new Promise((res, rej) => {
    const r = request({ host: '127.0.0.1', port, path, headers: { cookie } }, (resp) => {
      resp.resume();
      res(resp.statusCode ?? 0);
    });
    r.on('error', rej);
    r.end();
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
}

async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/console/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#nav').waitFor({ state: 'visible', timeout: WAIT_MS });
}

describe('the console in Chromium', () => {
  let rig: ConsoleRig;
  let tftpPort: number;
  let base: string;
  let httpPort: number;
  let browser: Browser;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install the Debian package chromium`);
    rig = await startConsoleRig({
      prefix: 'bg-console-e2e-',
      tokens: [RW, `${RO}:ro`],
      files: { 'ipxe.efi': Buffer.alloc(2 * 1024 * 1024, 7), vmlinuz: Buffer.alloc(3 * 1024 * 1024, 9) },
    });
    tftpPort = rig.daemon.ports.tftp as number;
    httpPort = rig.daemon.ports.http as number;
    base = `http://127.0.0.1:${httpPort}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  });

  after(async () => {
    await browser?.close();
    await rig?.close();
  });

  test('sign in, a pending machine appears and is approved, its boot arrives live, a CSV is previewed and imported, sign-out revokes', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/console/`);
    await shot(page, 'sign-in');
    await signIn(page, base, RW);
    const [cookie] = await ctx.cookies();
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(cookie.expires > Date.now() / 1000, 'the cookie expires');

    // Pending: an unknown machine knocks and shows up.
    await page.getByRole('link', { name: /Pending/ }).click();
    const first = await discover(rig, MAC);
    assert.equal(first.file, '', 'a pending machine gets no boot file');
    const t0 = Date.now();
    const row = page.locator(`#pending-table tr[data-mac="${MAC}"]`);
    await row.waitFor({ timeout: WAIT_MS });
    const appearedMs = Date.now() - t0;
    console.log(`pending row visible ${appearedMs} ms after the DISCOVER was answered`);
    assert.ok(appearedMs < 2000, `the pending machine appeared after ${appearedMs} ms (want < 2000)`);
    await shot(page, 'pending');

    // CSRF: the same session without the header changes nothing.
    const noCsrf = await page.evaluate(async (mac) => (await fetch(`api/pending/${mac}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, MAC);
    assert.equal(noCsrf, 403);

    // Approve with a name, the profile and required.
    await row.getByLabel('Name').fill('lab-pc-7');
    await row.getByLabel('Profile').selectOption('lab');
    await row.getByLabel('Kind').selectOption('required');
    await row.getByRole('button', { name: 'Approve' }).click();
    await row.waitFor({ state: 'detached', timeout: WAIT_MS });

    // Boots now: the next DISCOVER gets the profile; TFTP and HTTP fetches follow, all live in the page.
    await page.getByRole('link', { name: 'Boots now' }).click();
    const second = await discover(rig, MAC);
    assert.equal(second.file, 'ipxe.efi', 'the approved machine gets the profile\'s boot program');
    // The 4011 exchange that follows (here with the client's address in ciaddr) binds its IP to its MAC.
    const request4011 = pxeRequest({ mac: MAC, arch: 7, type: DhcpMessageType.REQUEST, ciaddr: '127.0.0.1' });
    rig.client.send(request4011, rig.daemon.ports.pxe[0] as number);
    await rig.client.reply(request4011.xid, WAIT_MS);
    const card = page.locator(`article.machine[data-mac="${MAC}"]`);
    const step = (selector: string) => card.locator(selector).waitFor({ timeout: WAIT_MS }).catch(async (err: Error) => {
      throw new Error(`${err.message}\nthe card says: ${await card.textContent().catch(() => '(no card)')}`);
    });
    await step('li[data-kind="decision"][data-door="dhcp"][data-decision="boot"]');
    await run('curl', ['-sS', '-o', '/dev/null', '--tftp-blksize', '1428', `tftp://127.0.0.1:${tftpPort}/ipxe.efi`], { timeout: WAIT_MS });
    await step('li[data-kind="transfer"][data-door="tftp"][data-file="ipxe.efi"]');
    await run('curl', ['-fsS', '-o', '/dev/null', `${base}/vmlinuz`], { timeout: WAIT_MS });
    await step('li[data-kind="transfer"][data-door="http"][data-file="vmlinuz"]');
    const steps = await card.locator('li').evaluateAll((lis) => lis.map((li) => {
      const d = (li as unknown as { dataset: Record<string, string | undefined> }).dataset;
      return `${d.kind}/${d.door}/${d.decision ?? ''}/${d.file ?? ''}/${d.bytes ?? ''}`;
    }));
    console.log(`timeline of ${MAC}:\n  ${steps.join('\n  ')}`);
    const at = (re: RegExp) => steps.findIndex((s) => re.test(s));
    assert.ok(at(/^decision\/dhcp\/pending\//) >= 0, steps.join('\n'));
    assert.ok(at(/^decision\/dhcp\/boot\/ipxe.efi/) > at(/^decision\/dhcp\/pending\//), 'the pending knock, then the boot offer');
    assert.ok(at(/^transfer\/tftp\/\/ipxe.efi\/2097152$/) > at(/^decision\/dhcp\/boot/), 'then the boot program by TFTP with its size');
    assert.ok(at(/^transfer\/http\/\/vmlinuz\/3145728$/) > at(/^transfer\/tftp/), 'then the kernel by HTTP with its size');
    await shot(page, 'boots');

    // Computers and the CSV import: three bad rows shown, nothing imported; fixed, imported.
    await page.getByRole('link', { name: 'Import' }).click();
    const bad = 'Name,MAC,Profile\npc-a,52:54:00:10:00:01,lab\npc-b,zz:zz,lab\npc-c,52:54:00:10:00:03,nope\npc-d,52:54:00:10:00:01,lab\npc-e,52:54:00:10:00:05,lab\n';
    await page.getByLabel('Supplier\'s CSV file').setInputFiles({ name: 'supplier.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('#import-problems li').nth(2).waitFor({ timeout: WAIT_MS });
    const problems = await page.locator('#import-problems li').allTextContents();
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.ok(await page.getByRole('button', { name: 'Import', exact: true }).isDisabled(), 'no import while rows have problems');
    await shot(page, 'import-problems');
    const good = bad.replace('zz:zz', '52:54:00:10:00:02').replace(',nope', ',lab').replace('pc-d,52:54:00:10:00:01', 'pc-d,52:54:00:10:00:04');
    await page.getByLabel('Supplier\'s CSV file').setInputFiles({ name: 'supplier.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByText('5 computers ready to import').waitFor({ timeout: WAIT_MS });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('Imported: 5 created').waitFor({ timeout: WAIT_MS });
    await page.getByRole('link', { name: 'Computers' }).click();
    await page.getByLabel('Search').fill('52:54:00:10:00');
    await page.locator('#computers-table tr[data-name="pc-e"]').waitFor({ timeout: WAIT_MS });
    await page.locator('#computers-table tr[data-name="lab-pc-7"]').waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.deepEqual(await page.locator('#computers-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-name'))), ['pc-a', 'pc-b', 'pc-c', 'pc-d', 'pc-e']);
    await shot(page, 'computers');
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.locator('#audit-table tbody tr').first().waitFor({ timeout: WAIT_MS });
    const audit = await page.locator('#audit-table tbody').textContent();
    assert.match(audit ?? '', /approved as lab-pc-7/);
    assert.match(audit ?? '', /console:[0-9a-f]{8}/);
    await shot(page, 'audit');

    // Settings: a delay out of range is refused next to the field and changes nothing; a good one is saved.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByText('set in the configuration (policy.unknown)').waitFor({ timeout: WAIT_MS });
    await page.getByLabel('Response delay (seconds, 0–60)').fill('99');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#s-delay-error').getByText(/responseDelaySeconds/).waitFor({ timeout: WAIT_MS });
    await page.getByLabel('Response delay (seconds, 0–60)').fill('2');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('saved').waitFor({ timeout: WAIT_MS });
    assert.equal((await page.evaluate(async () => (await (await fetch('api/settings')).json()) as { effective: { responseDelaySeconds: number } })).effective.responseDelaySeconds, 2);
    await shot(page, 'settings');
    await page.getByRole('button', { name: 'Back to the configuration\'s values' }).click();

    // Sign out: the page returns to sign-in and the old cookie is refused by the server.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.equal(await getStatus(httpPort, '/console/api/pending', `${cookie.name}=${cookie.value}`), 401);
    assert.deepEqual(pageErrors, []);
    await ctx.close();
  });

  test('a read-only token sees no change buttons, and its forged POST is refused', async () => {
    await discover(rig, MAC_RO);
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(page, base, RO);
    await page.getByRole('link', { name: /Pending/ }).click();
    const row = page.locator(`#pending-table tr[data-mac="${MAC_RO}"]`);
    await row.waitFor({ timeout: WAIT_MS }).catch(async (err: Error) => {
      const seen = await page.evaluate(async () => JSON.stringify(await (await fetch('api/pending')).json()));
      throw new Error(`${err.message}\npage errors: ${pageErrors.join('\n')}\npending: ${seen}\nhtml: ${await page.locator('#page-pending').innerHTML()}`);
    });
    await shot(page, 'pending-read-only');
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /Reject|Approve selected/ }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Import' }).count(), 0);
    const forged = await page.evaluate(async (mac) => {
      const s = await (await fetch('api/session')).json() as { csrf: string };
      const r = await fetch(`api/pending/${mac}/approve`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf }, body: '{"profile":"lab"}' });
      return { status: r.status, body: await r.json() as { code: string } };
    }, MAC_RO);
    assert.equal(forged.status, 403);
    assert.equal(forged.body.code, 'ERR_READ_ONLY');
    await page.reload();
    await page.getByRole('link', { name: /Pending/ }).click();
    await row.waitFor({ timeout: WAIT_MS });
    assert.deepEqual(pageErrors, []);
    await ctx.close();
  });
});
