/**
 * Secure Boot under real firmware, in the namespace lab: OVMF with Secure Boot enforced and Microsoft's
 * keys (Debian's OVMF_CODE_4M.secboot.fd + a fresh OVMF_VARS_4M.ms.fd, q35 with SMM), QEMU under TCG.
 *
 *   power-on 1: Bootgate offers the profile's ordinary program, Debian's unsigned ipxe.efi; the firmware
 *               fetches it and refuses it ("Access Denied"), then tries PXE over IPv6: its DHCPv6 Solicit
 *               (heard on port 547, never answered) is how Bootgate notices the refusal (recorded in the
 *               table, an audit event, a metric, a log line), well before the firmware's UEFI HTTP boot
 *               DISCOVER (the signal it was noticed from before; both times are printed).
 *   power-on 2 (the same machine after a power cycle): its PXE DISCOVER is answered with the Secure Boot
 *               chain: Debian's Microsoft-signed shim ->
 *               Debian's signed network GRUB (as grubx64.efi) -> the per-client grub.cfg Bootgate renders
 *               -> Debian's signed kernel -> the lab's marker, with the kernel saying Secure Boot is on.
 *
 * The site DHCP server names the appliance as next-server, as the README tells sites to: Debian's
 * signed GRUB configures its network from the DHCP ACK only. Missing prerequisites fail the test with
 * a message naming them; nothing is skipped. BOOTGATE_LAB_KEEP=1 keeps the lab directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomMac, startClient } from '../lab/qemu.js';
import { setBootPassword } from '../lab/appliance.js';
import { MARKER_RE } from '../lab/initramfs.js';
import { HANG_MS, pollUntil } from '../lab/procs.js';
import { startTypingClient, type Vm } from '../lab/keyboard.js';
import { startSecureBootLab, type SecureBootLab } from '../lab/secure-boot.js';
import { openStore } from '../../daemon/store/db.js';

const DENIED_RE = /Access Denied/;
/** The refusal as Bootgate logs it when a DHCPv6 Solicit revealed it. */
const REFUSAL_V6 = (mac: string) => new RegExp(`"mac":"${mac}","reason":"ipv6-pxe-fallback","file":"ipxe.efi"[^\\n]*likely Secure Boot refusal`);
/** The HTTP boot attempt's DISCOVER, refused shim (it loads nothing over HTTP) once the refusal is known. */
const HTTP_ATTEMPT = (mac: string) => new RegExp(`"mac":"${mac}"[^\\n]*"door":"dhcp","decision":"ignore","reason":"secure-boot-pxe-only"`);
const RIGHT = 'open-sesame-16';
const WRONG = 'not-it';

describe('Secure Boot: a refusal noticed, then shim -> GRUB -> signed kernel through Bootgate', { timeout: 40 * 60_000 }, () => {
  let sb: SecureBootLab | undefined;

  before(async () => {
    sb = await startSecureBootLab({
      rootName: 'root-secureboot',
      config: (script) => ({
        profiles: {
          lab: {
            description: 'firmware lab: iPXE for machines without Secure Boot, shim and GRUB for the others',
            bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' },
            secureBootFiles: { 'efi-x64': 'shimx64.efi' },
            ipxeScript: script,
            // panic=-1: a broken boot reboots at once, which -no-reboot turns into QEMU exiting.
            linux: { kernel: 'vmlinuz', initrd: 'initrd.img', cmdline: 'console=ttyS0 panic=-1' },
          },
          gated: {
            description: 'the same behind a boot password: GRUB prompts, Bootgate checks, the kernel is gated',
            bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' },
            secureBootFiles: { 'efi-x64': 'shimx64.efi' },
            ipxeScript: script,
            // Its own copies: a gated profile's files are refused to every client not unlocked for it.
            linux: { kernel: 'gated/vmlinuz', initrd: 'gated/initrd.img', cmdline: 'console=ttyS0 panic=-1' },
            password: { mode: 'required', files: ['gated/'] },
          },
        },
      }),
    });
    mkdirSync(join(sb.root, 'gated'));
    for (const f of ['vmlinuz', 'initrd.img']) copyFileSync(join(sb.root, f), join(sb.root, 'gated', f));
    setBootPassword(sb.lab, 'gated', RIGHT);
  });

  after(async () => {
    await sb?.stop();
  });

  test('refused ipxe.efi is noticed from the DHCPv6 Solicit that follows; the next power-on boots the signed chain with no admin action', { timeout: 4 * HANG_MS }, async (t) => {
    assert.ok(sb);
    const { lab, app, report, metrics } = sb;
    const mac = randomMac();
    const uuid = '00112233-4455-6677-8899-aabbccdd5b01';

    const first = await startClient(lab, { firmware: 'uefi-secureboot', mac, uuid, name: 'sb-first' });
    try {
      const denied = await first.waitForSerial(DENIED_RE, HANG_MS);
      assert.ok(denied, report('the firmware did not refuse ipxe.efi', first.serial()));
      const deniedAt = Date.now();
      t.diagnostic(`power-on 1: Access Denied after ${((deniedAt - first.startedAt) / 1000).toFixed(1)} s`);
      assert.match(first.serial(), /UEFI PXEv4[^\n]*Access Denied/, 'the PXE boot option was the one refused');
      // PXE over IPv6 comes next: its DHCPv6 Solicit is how Bootgate notices the refusal.
      const noticed = await pollUntil(() => (REFUSAL_V6(mac).test(app.log()) ? Date.now() : first.process.exitInfo ? null : undefined), HANG_MS, 200);
      assert.ok(noticed, report('no refusal noticed from a DHCPv6 Solicit', first.serial()));
      t.diagnostic(`power-on 1: refusal noticed from the DHCPv6 Solicit ${((noticed - deniedAt) / 1000).toFixed(1)} s after Access Denied`);
      // Then UEFI HTTP boot over IPv4: the signal the refusal was noticed from before (not answered: shim loads nothing over HTTP).
      const http = await pollUntil(() => (HTTP_ATTEMPT(mac).test(app.log()) ? Date.now() : first.process.exitInfo ? null : undefined), 3 * HANG_MS, 200);
      assert.ok(http, report('no HTTPClient DISCOVER after the refusal', first.serial()));
      t.diagnostic(`power-on 1: HTTPClient DISCOVER ${((http - deniedAt) / 1000).toFixed(1)} s after Access Denied (${((http - noticed) / 1000).toFixed(1)} s after the Solicit)`);
    } finally {
      await first.stop();
    }

    const second = await startClient(lab, { firmware: 'uefi-secureboot', mac, uuid, name: 'sb-second' });
    try {
      const marker = await second.waitForSerial(MARKER_RE, HANG_MS);
      assert.ok(marker, report('no marker through shim and GRUB', second.serial()));
      t.diagnostic(`power-on 2: marker after ${((Date.now() - second.startedAt) / 1000).toFixed(1)} s`);
      assert.equal(marker[1], mac);
      assert.equal(marker[2], uuid);
      assert.match(second.serial(), /Secure boot enabled/i, report('the kernel did not report Secure Boot on', second.serial()));
      await second.waitForExit(HANG_MS);
    } finally {
      await second.stop();
    }

    const log = app.log();
    assert.match(log, REFUSAL_V6(mac), 'the refusal was logged with mac and reason');
    // What the chain fetched from Bootgate, in order: shim, GRUB, its per-client configuration, the kernel.
    const decisions = log.split('\n').filter((l) => l.includes(`"mac":"${mac}"`) && l.includes('"msg":"decision"'))
      .map((l) => JSON.parse(l) as { door: string; file?: string; decision: string });
    const files = decisions.filter((d) => d.door === 'tftp').map((d) => d.file);
    for (const want of ['shimx64.efi', 'grubx64.efi', 'grub/grub.cfg', 'vmlinuz', 'initrd.img']) {
      assert.ok(files.some((f) => f?.replace(/^\//, '') === want), `${want} fetched over TFTP (fetched: ${files.join(', ')})`);
    }
    const text = await metrics();
    assert.match(text, /^bootgate_secure_boot_refusals_total\{reason="ipv6-pxe-fallback"\} 1$/m);
    assert.match(text, /^bootgate_secure_boot_dhcpv6_messages_total\{result="matched"\} [1-9]/m);
    assert.match(text, /^bootgate_secure_boot_offers_total [1-9]/m);

    // Visible per computer: the table and the audit trail (the same rows the API and CLI show).
    const store = openStore(join(lab.dir, 'bootgate.db'), { mustExist: true });
    try {
      const row = store.db.prepare('SELECT source, reason, file FROM secure_boot_clients WHERE mac = ?').get(mac);
      assert.deepEqual(row, { source: 'refusal', reason: 'ipv6-pxe-fallback', file: 'ipxe.efi' });
      const events = store.audit.query({ mac, type: 'secure-boot', limit: 10 });
      assert.equal(events.length, 1);
    } finally {
      store.close();
    }
  });

  test('a machine an admin marked, whose deployment is done: shim, and its GRUB configuration exits to the next boot device', { timeout: 2 * HANG_MS }, async (t) => {
    assert.ok(sb);
    const { lab, app, report, api } = sb;
    const mac = randomMac();
    const marked = await api('PUT', `/secure-boot/${mac}`);
    assert.equal(marked.status, 200, JSON.stringify(marked.json));
    assert.equal((await api('POST', '/computers', { name: 'SB-LOCAL', macs: [mac], profile: 'lab', kind: 'required' })).status, 201);
    assert.equal((await api('POST', '/computers/SB-LOCAL/done')).status, 200);
    const list = (await api('GET', '/secure-boot')).json as Array<{ mac: string; source: string }>;
    assert.ok(list.some((r) => r.mac === mac && r.source === 'admin'), JSON.stringify(list));

    const vm = await startClient(lab, { firmware: 'uefi-secureboot', mac, name: 'sb-local' });
    try {
      const exited = await vm.waitForSerial(/Bootgate: back to the firmware, next boot device/, HANG_MS);
      assert.ok(exited, report('GRUB did not run its local-disk entry', vm.serial()));
      t.diagnostic(`GRUB exit after ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s`);
      assert.match(vm.serial(), /SB-LOCAL [0-9a-f:]{17} local \(boot-once-consumed\)/, 'the configuration was rendered for this computer and decision');
      assert.doesNotMatch(vm.serial(), MARKER_RE);
    } finally {
      await vm.stop();
    }
    assert.doesNotMatch(app.log(), new RegExp(`"mac":"${mac}"[^\\n]*"file":"ipxe.efi"`), 'no unsigned program was offered');
  });

  /** Types `text` into GRUB's password form: one key, then the form Bootgate sends back with one more star. */
  async function typeInGrub(v: Vm, text: string): Promise<void> {
    let n = 0;
    for (const ch of text) {
      await v.type(ch);
      n += 1;
      await v.next(new RegExp(`Password: \\*{${n}}(?!\\*)`));
    }
  }

  test('a marked machine on a password-gated profile: GRUB prompts, a wrong password is refused, the right one boots', { timeout: 3 * HANG_MS }, async (t) => {
    assert.ok(sb);
    const { lab, app, report, api, metrics } = sb;
    const mac = randomMac();
    assert.equal((await api('PUT', `/secure-boot/${mac}`)).status, 200);
    assert.equal((await api('POST', '/computers', { name: 'SB-GATED', macs: [mac], profile: 'gated' })).status, 201);
    const v = await startTypingClient(lab, { firmware: 'uefi-secureboot', mac, name: 'sb-password' });
    try {
      await v.next(/profile gated is password gated\. Type the boot password, then press Tab/);
      t.diagnostic(`GRUB form after ${((Date.now() - v.client.startedAt) / 1000).toFixed(1)} s`);
      await v.next(/Password: (?!\*)/);
      await typeInGrub(v, WRONG);
      await v.press('tab');
      await v.next(/Bootgate: wrong password; \d+ tries left/);
      t.diagnostic(`wrong password refused after ${((Date.now() - v.client.startedAt) / 1000).toFixed(1)} s`);
      assert.doesNotMatch(v.client.serial(), MARKER_RE);
      await v.next(/Password: (?!\*)/);
      await typeInGrub(v, RIGHT);
      await v.press('tab');
      const m = await v.next(MARKER_RE);
      t.diagnostic(`marker after ${((Date.now() - v.client.startedAt) / 1000).toFixed(1)} s`);
      assert.equal(m[1], mac);
      assert.match(v.client.serial(), /Secure boot enabled/i, report('the kernel did not report Secure Boot on', v.client.serial()));
      assert.ok(!v.client.serial().includes(RIGHT), 'the password was echoed on the console');
    } catch (err) {
      throw new Error(report((err as Error).message, v.client.serial()), { cause: err });
    } finally {
      v.kb.close();
      await v.client.stop();
    }
    const log = app.log();
    assert.match(log, new RegExp(`"mac":"${mac}"[^\\n]*"door":"dhcp","decision":"password"[^\\n]*"file":"shimx64.efi"`), 'shim was offered to prompt');
    assert.match(log, /wrong boot password/);
    assert.match(log, /boot password accepted: unlocked/);
    assert.ok(!log.includes(RIGHT) && !log.includes(Buffer.from(RIGHT).toString('hex')), 'the daemon log contains the password');
    const text = await metrics();
    assert.match(text, /^bootgate_password_attempts_total\{result="wrong"\} 1$/m);
    assert.match(text, /^bootgate_password_attempts_total\{result="ok"\} 1$/m);
  });
});
