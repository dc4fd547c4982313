/**
 * The console's change actions in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core), against the real daemon on 127.0.0.1: a boot password typed twice (a mismatch and
 * a too-short one refused next to the field), set and cleared; a lockout lifted; a computer edit whose
 * bad MAC is shown next to its field, then fixed; an import that skips its bad line explicitly; a
 * rollout group halted (by keyboard) and resumed; the Appliances page showing this appliance's
 * heartbeat. Each change is checked on the server too. Screenshots go to test/artifacts/ (git-ignored).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PasswordRepo } from '../../daemon/features/password/store.js';
import { VERSION, type Daemon } from '../../daemon/main.js';
import { openStore } from '../../daemon/store/db.js';
import { ARTIFACTS, startConsoleRig, WAIT_MS, type ConsoleRig } from './console-rig.js';

const CHROMIUM = '/usr/bin/chromium';
const RW = 'console-rw-token-actions-0123';
const LOCKED_MAC = '52:54:00:ac:70:01';

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
}

describe('console actions in Chromium', () => {
  let rig: ConsoleRig;
  let storePath: string;
  let daemon: Daemon;
  let base: string;
  let browser: Browser;

  /** The admin API with the read-write token, for setting up and checking from outside the page. */
  async function adminApi<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${base}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${RW}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text === '' ? null : JSON.parse(text)) as T;
  }

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install the Debian package chromium`);
    rig = await startConsoleRig({
      prefix: 'bg-console-actions-',
      tokens: [RW],
      config: {
        profiles: {
          lab: { description: 'lab image', bootFiles: { 'efi-x64': 'ipxe.efi' } },
          win11: { kind: 'required', bootFiles: { 'efi-x64': 'ipxe.efi' }, rollout: { startDate: '2025-03-03', timeZone: 'UTC', startPerGroup: 1, growthFactor: 1 } },
        },
      },
    });
    storePath = rig.storePath;
    daemon = rig.daemon;
    base = `http://127.0.0.1:${daemon.ports.http as number}`;
    await adminApi('POST', '/computers', { name: 'pc-edit', macs: ['52:54:00:ac:70:10'], profile: 'lab' });
    // A MAC of a prefix the IEEE registry (Debian's ieee-data, installed by .ci/run) assigns to Cisco.
    await adminApi('POST', '/computers', { name: 'pc-cisco', macs: ['f4:bd:9e:ac:70:20'], profile: 'lab' });
    for (const n of [1, 2]) await adminApi('POST', '/computers', { name: `w11-${n}`, macs: [`52:54:00:ac:71:0${n}`], profile: 'win11' });
    await adminApi('PUT', '/rollout-members', { members: [{ computer: 'w11-1', group: 'labs' }, { computer: 'w11-2', group: 'labs' }] });
    // A machine locked out by wrong boot passwords, as the password gate records it.
    const side = openStore(storePath);
    try {
      const t = Date.now();
      new PasswordRepo(side.db).setFailure(`mac:${LOCKED_MAC}`, { failures: 5, firstAt: t - 1000, lastAt: t - 500, lockedUntil: t + 600_000 });
    } finally {
      side.close();
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  });

  after(async () => {
    await browser?.close();
    await rig?.close();
  });

  test('password set and cleared, lockout lifted, an edit\'s field error, import with skip, halt and resume, the Appliances page', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${base}/console/`);
    await page.getByLabel('Admin token').fill(RW);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#nav').waitFor({ state: 'visible', timeout: WAIT_MS });

    // Appliances: this appliance's heartbeat (written by the store's writer a moment after start).
    await page.getByRole('link', { name: 'Appliances' }).click();
    const me = page.locator('#appliances-table tbody tr').first();
    await me.waitFor({ timeout: WAIT_MS });
    const cells = await me.locator('th, td').allTextContents();
    console.log(`appliances row: ${cells.join(' | ')}`);
    assert.match(cells[0] ?? '', /\(this one\)/);
    assert.match(cells[1] ?? '', /^127\.0\.0\.0\/8$/);
    assert.equal(cells[2], VERSION);
    assert.equal(cells[3], 'ready');
    assert.equal(cells[4], 'ok');
    assert.equal(cells[6], '0');
    const viaApi = await adminApi<{ appliances: Array<{ name: string; ready: boolean; subnets: string[] }> }>('GET', '/appliances');
    assert.equal(viaApi.appliances.length, 1);
    assert.deepEqual(viaApi.appliances[0]?.subnets, ['127.0.0.0/8']);
    await shot(page, 'appliances');

    // Settings: a boot password typed twice; a mismatch is caught, a too-short one is the server's refusal.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.locator('#pw-summary').getByText(/wrong passwords lock/).waitFor({ timeout: WAIT_MS });
    const newPw = page.getByLabel('New password (6 to 63 printable characters)');
    const againPw = page.getByLabel('The same password again');
    await newPw.fill('Sesame-42');
    await againPw.fill('Sesame-43');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.locator('#pw-error').getByText('the two passwords differ').waitFor({ timeout: WAIT_MS });
    await newPw.fill('abc');
    await againPw.fill('abc');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.locator('#pw-error').getByText(/password/).waitFor({ timeout: WAIT_MS });
    const tooShort = await page.locator('#pw-error').textContent();
    console.log(`too-short password refused by the server: ${tooShort}`);
    assert.doesNotMatch(tooShort ?? '', /abc/, 'the password is never quoted back');
    assert.equal(await newPw.inputValue(), '', 'never left in the page once sent');
    await newPw.fill('Sesame-42');
    await againPw.fill('Sesame-42');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.locator('#pw-status').getByText('password set').waitFor({ timeout: WAIT_MS });
    const globalRow = page.locator('#pw-table tbody tr').first();
    await globalRow.getByText('not set').waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.match(await globalRow.textContent() ?? '', /set.*by console:[0-9a-f]{8}/);
    assert.doesNotMatch(await page.content(), /Sesame-42/, 'the password is nowhere in the page');
    await shot(page, 'settings-password-set');
    await page.getByRole('button', { name: 'Clear the global password' }).click();
    await globalRow.getByText('not set').waitFor({ timeout: WAIT_MS });

    // The lockout, lifted.
    const lockRow = page.locator('#lock-table tbody tr').first();
    await lockRow.getByText(LOCKED_MAC).waitFor({ timeout: WAIT_MS });
    await shot(page, 'settings-lockout');
    await page.getByRole('button', { name: `Lift the lockout of ${LOCKED_MAC}` }).click();
    await page.locator('#lock-none').waitFor({ state: 'visible', timeout: WAIT_MS });
    const pw = await page.evaluate(async () => (await (await fetch('api/passwords')).json()) as { global: { set: boolean }; lockouts: unknown[] });
    assert.deepEqual([pw.global.set, pw.lockouts.length], [false, 0]);

    // Computers: the vendor from the MAC's prefix; a locally administered MAC (52:54:00, QEMU's) has none.
    await page.getByRole('link', { name: 'Computers' }).click();
    await page.locator('#computers-table tr[data-name="pc-cisco"] td.vendor').getByText('Cisco Systems, Inc').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#computers-table tr[data-name="pc-edit"] td.vendor').textContent(), '');
    // An edit with a bad MAC shows the server's problem next to the MAC field; fixed, it saves.
    await page.getByRole('button', { name: 'Edit pc-edit' }).click();
    const macs = page.getByLabel('MAC addresses (one a line)');
    await macs.fill('52:54:00:ac:70:10\nzz:zz');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#e-macs-error').getByText(/zz:zz/).waitFor({ timeout: WAIT_MS });
    console.log(`edit refused next to the MAC field: ${await page.locator('#e-macs-error').textContent()}`);
    assert.equal(await page.locator('#e-name-error').textContent(), '', 'only the MAC field has a problem');
    assert.equal(await macs.evaluate((el) => el === (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement), true, 'focus moves to the field in error');
    await shot(page, 'computers-edit-error');
    await macs.fill('52:54:00:ac:70:10\n52:54:00:ac:70:11');
    await page.getByLabel('Notes').fill('second NIC added');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#edit-form').waitFor({ state: 'hidden', timeout: WAIT_MS });
    await page.locator('#computers-table tr[data-name="pc-edit"]').getByText('52:54:00:ac:70:11').waitFor({ timeout: WAIT_MS });
    const edited = await adminApi<{ macs: string[]; notes: string }>('GET', '/computers/pc-edit');
    assert.deepEqual([edited.macs, edited.notes], [['52:54:00:ac:70:10', '52:54:00:ac:70:11'], 'second NIC added']);

    // Import: one bad line of three, skipped explicitly; the good rows go in.
    await page.getByRole('link', { name: 'Import' }).click();
    const csv = 'Name,MAC,Profile\npc-s1,52:54:00:ac:72:01,lab\npc-s2,not-a-mac,lab\npc-s3,52:54:00:ac:72:03,lab\n';
    await page.getByLabel('Supplier\'s CSV file').setInputFiles({ name: 'supplier.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Preview' }).click();
    const skip = page.getByRole('button', { name: 'Import the 2 good rows, skip line 3' });
    await skip.waitFor({ timeout: WAIT_MS });
    assert.ok(await page.getByRole('button', { name: 'Import', exact: true }).isDisabled());
    await shot(page, 'import-skip');
    await skip.click();
    await page.getByText('Imported: 2 created; skipped line 3.').waitFor({ timeout: WAIT_MS });
    const names = (await adminApi<{ computers: Array<{ name: string }> }>('GET', '/computers')).computers.map((c) => c.name);
    assert.ok(names.includes('pc-s1') && names.includes('pc-s3') && !names.includes('pc-s2'), names.join(','));

    // Rollouts: halt the group from the keyboard (reason, Enter), then resume it.
    await page.getByRole('link', { name: 'Rollouts' }).click();
    const reason = page.getByLabel('Reason for halting group labs of win11');
    await reason.waitFor({ timeout: WAIT_MS });
    await reason.focus();
    await page.keyboard.type('power work in lab 2');
    await page.keyboard.press('Enter');
    const halted = page.locator('.rollout-group[aria-label="Group labs of win11"] .halted');
    await halted.getByText(/power work in lab 2/).waitFor({ timeout: WAIT_MS });
    assert.match(await halted.textContent() ?? '', /by console:[0-9a-f]{8}/);
    await shot(page, 'rollouts-halted');
    await page.getByRole('button', { name: 'Resume group labs of win11' }).click();
    await page.getByLabel('Reason for halting group labs of win11').waitFor({ timeout: WAIT_MS });
    await shot(page, 'rollouts-resumed');
    const status = await adminApi<{ groups: Array<{ group: string; halt: unknown }> }>('GET', '/rollouts/win11');
    assert.equal(status.groups.find((g) => g.group === 'labs')?.halt, null);

    // Every change above is in the audit trail with who made it.
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.locator('#audit-table tbody tr').first().waitFor({ timeout: WAIT_MS });
    const audit = await page.locator('#audit-table tbody').textContent() ?? '';
    for (const re of [/rollout halted: group labs \(power work in lab 2\)/, /rollout resumed: group labs/, /skipped 1 row with problems \(line 3\)/, /password lockout lifted for mac 52:54:00:ac:70:01/, /the global password set/, /the global password cleared/, /computer replaced/]) assert.match(audit, re);
    assert.deepEqual(pageErrors, []);
    await ctx.close();
  });
});
