/**
 * The browser side of test/e2e/console-https.test.ts, run inside the lab's site namespace (the test
 * cannot enter a namespace itself): headless Chromium opens the console on the appliance's veth
 * address over HTTPS, first without trusting the self-signed certificate (the navigation must fail),
 * then with exactly that certificate's public key pinned (--ignore-certificate-errors-spki-list); signs
 * in, reads the session cookie, opens the Appliances page, signs out. Prints one JSON line.
 *
 *   node console-https-driver.js '{"url":"https://10.77.0.2:8443/console/","token":"..","spki":"base64","shots":"/path"}'
 */
import { join } from 'node:path';
import { chromium } from 'playwright-core';

interface Spec { url: string; token: string; spki: string; shots: string }

const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 120_000;
const ARGS = ['--no-sandbox', '--disable-gpu'];

async function main(spec: Spec): Promise<unknown> {
  // Untrusted: the self-signed certificate is refused.
  const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  let untrusted = 'loaded';
  try {
    const page = await plain.newPage();
    await page.goto(spec.url, { timeout: WAIT_MS }).catch((err: Error) => { untrusted = err.message.split('\n')[0] ?? err.message; });
  } finally {
    await plain.close();
  }

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, `--ignore-certificate-errors-spki-list=${spec.spki}`] });
  try {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(spec.url, { timeout: WAIT_MS });
    await page.getByLabel('Admin token').fill(spec.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#nav').waitFor({ state: 'visible', timeout: WAIT_MS });
    const cookies = await ctx.cookies();
    const cookie = cookies.find((c) => c.name === 'bootgate_console');
    await page.getByRole('link', { name: 'Appliances' }).click();
    const row = page.locator('#appliances-table tbody tr').first();
    await row.waitFor({ timeout: WAIT_MS });
    const appliance = await row.locator('th, td').allTextContents();
    await page.screenshot({ path: join(spec.shots, 'console-https-appliances.png'), fullPage: true });
    const protocol = await page.evaluate(() => (globalThis as unknown as { location: { protocol: string } }).location.protocol);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor({ state: 'visible', timeout: WAIT_MS });
    const after = await page.evaluate(async () => (await fetch('api/session')).status);
    return { untrusted, protocol, cookie: cookie && { secure: cookie.secure, httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, domain: cookie.domain }, appliance, after, pageErrors };
  } finally {
    await browser.close();
  }
}

main(JSON.parse(process.argv[2] ?? '{}') as Spec).then(
  (r) => { process.stdout.write(`${JSON.stringify(r)}\n`); },
  (err: Error) => { process.stdout.write(`${JSON.stringify({ error: err.message })}\n`); process.exitCode = 1; },
);
