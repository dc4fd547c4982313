/**
 * Readiness that means it: every file a profile names is checked per architecture; a missing one is
 * named (profile, arch, path) and counted; it makes the appliance not ready only when it belongs to the
 * profile unknown machines get. Templates with unknown placeholders are refused. The served root hands
 * out boot files only: templates and hidden files are not served, `/` is a page, /readyz says ok or why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { countMissing, describeMissing, missingProfileFiles, profileReadiness, templateProblems } from '../../daemon/boot/readiness.js';
import { BootContent } from '../../daemon/boot/content.js';
import { ClientDirectory } from '../../daemon/boot/clients.js';
import { Gatekeeper, configOnlyBackend } from '../../daemon/boot/gatekeeper.js';
import { effectiveConfig } from '../../daemon/config/defaults.js';
import { validateConfig } from '../../daemon/config/load.js';
import { notServedReason } from '../../daemon/files/servable.js';
import { buildHttpApp } from '../../daemon/http/app.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import { snapshotFromConfig } from '../../daemon/policy/decide.js';

function tree(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'bg-ready-'));
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), f.endsWith('.ipxe') ? '#!ipxe\nkernel {{http}}/vmlinuz\n' : 'x');
  }
  return dir;
}

const EXAMPLE = {
  profiles: {
    linux: { bootFiles: { bios: 'undionly.kpxe', 'efi-x64': 'ipxe.efi' }, ipxeScriptFile: 'linux.ipxe' },
    winpe: { bootFiles: { bios: 'wdsnbp.com', 'efi-x64': 'bootmgfw.efi' }, bootOnceMarker: 'sources/boot.wim' },
  },
};

test('a profile naming files not in the root: each named by profile, arch and path, counted per profile', async () => {
  const root = tree(['undionly.kpxe', 'ipxe.efi', 'linux.ipxe', 'wdsnbp.com']);
  try {
    const cfg = effectiveConfig(validateConfig({ root, ...EXAMPLE, policy: { unknown: { profile: 'linux' } } }, 'test'));
    const missing = await missingProfileFiles(cfg);
    assert.deepEqual(missing.map(describeMissing), [
      'profile winpe: efi-x64 boot file bootmgfw.efi is not in the boot root',
      'profile winpe: boot-once marker sources/boot.wim is not in the boot root',
    ]);
    // Only winpe misses files, and unknown machines get linux: listed, but ready.
    assert.equal((await profileReadiness(cfg)).unknownProfile, 'ok');
    const metrics = createMetrics(new Registry());
    countMissing(metrics.profileMissingFiles, cfg.profiles, missing);
    const text = await metrics.registry.getSingleMetricAsString('bootgate_profile_missing_files');
    assert.match(text, /bootgate_profile_missing_files\{profile="winpe"\} 2/);
    assert.match(text, /bootgate_profile_missing_files\{profile="linux"\} 0/);
    assert.match(text, /bootgate_profile_missing_files\{profile="menu"\} 0/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a missing file of the profile unknown machines get is not ready; an empty root names fetch-boot', async () => {
  const root = tree([]);
  try {
    const cfg = effectiveConfig(validateConfig({ root, ...EXAMPLE, policy: { unknown: { profile: 'winpe' } } }, 'test'));
    assert.match((await profileReadiness(cfg)).unknownProfile, /^profile winpe: bios boot file wdsnbp\.com is not in the boot root; /);
    const ignoring = effectiveConfig(validateConfig({ root, ...EXAMPLE, policy: { unknown: { action: 'ignore', profile: 'winpe' } } }, 'test'));
    assert.equal((await profileReadiness(ignoring)).unknownProfile, 'ok', 'unknown machines are ignored: nothing of theirs to miss');
    const zero = effectiveConfig(validateConfig({ root }, 'test'));
    assert.equal((await profileReadiness(zero)).unknownProfile,
      'profile menu: bios boot file undionly.kpxe is not in the boot root; profile menu: efi-x64 boot file ipxe.efi is not in the boot root (npm run fetch-boot puts iPXE there)');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a template with an unknown placeholder does not render: a config problem naming it', () => {
  const root = tree(['t.ipxe']);
  try {
    writeFileSync(join(root, 'bad.ipxe'), '#!ipxe\nkernel {{htpp}}/vmlinuz\n');
    const cfg = validateConfig({
      root,
      profiles: { a: { ipxeScript: 'kernel {{http}}/x {{ mac }}' }, b: { ipxeScriptFile: 'bad.ipxe' }, c: { ipxeScriptFile: 't.ipxe' }, d: { ipxeScriptFile: 'gone.ipxe' } },
    }, 'test');
    assert.deepEqual(templateProblems(cfg), [
      'profiles.b.ipxeScriptFile (bad.ipxe): unknown placeholder {{htpp}} (known: server, http, tftp, mac, guid, uuid, guidwire, arch, profile, computer, script)',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('served-root rules: templates and hidden files are not boot files, whatever the case or slashes', () => {
  assert.equal(notServedReason('boot.ipxe', []), 'template');
  assert.equal(notServedReason('\\Linux\\Menu.IPXE', []), 'template');
  assert.equal(notServedReason('linux/menu.txt', ['Linux/Menu.txt']), 'template');
  assert.equal(notServedReason('.git/config', []), 'hidden');
  assert.equal(notServedReason('a/.secret', []), 'hidden');
  assert.equal(notServedReason('ipxe.efi', []), null);
  assert.equal(notServedReason('Boot/BCD', ['linux.ipxe']), null);
});

test('HTTP: a template is 404 (raw or not), a boot file is served, / is a page with version, checks and links', async () => {
  const root = tree(['ipxe.efi', 'undionly.kpxe', 'menu.ipxe', 'site/template.txt', '.hidden']);
  const cfg = effectiveConfig(validateConfig({ root, profiles: { site: { ipxeScriptFile: 'site/template.txt' } } }, 'test'));
  const metrics = createMetrics(new Registry());
  const gate = new Gatekeeper(configOnlyBackend(snapshotFromConfig(cfg)), createLogger('silent'), metrics);
  const content = new BootContent(gate, new ClientDirectory(), () => ({
    root, httpPort: 8080, scriptTransport: 'http', retrySeconds: 30, profile: (n) => cfg.profiles[n], profiles: cfg.profiles, menu: cfg.menu, version: '9.9.9',
  }));
  const app = await buildHttpApp({
    logger: createLogger('silent'), metrics, content, root: () => root, version: '9.9.9', adminApi: true,
    ready: async () => ({ checks: { sockets: 'ok', root: 'ok', store: 'ok', unknownProfile: 'ok' }, missingFiles: ['profile site: x <y> is not in the boot root'] }),
  });
  try {
    for (const path of ['/menu.ipxe', '/MENU.IPXE', '/site/template.txt', '/.hidden']) {
      const r = await app.inject(path);
      assert.equal(r.statusCode, 404, path);
      assert.doesNotMatch(r.body, /\{\{http\}\}/);
    }
    assert.equal((await app.inject('/ipxe.efi')).statusCode, 200);
    const home = await app.inject('/');
    assert.equal(home.statusCode, 200);
    assert.match(home.headers['content-type'] as string, /text\/html/);
    assert.match(home.body, /<h1>Bootgate 9\.9\.9<\/h1>/);
    assert.match(home.body, /Readiness: <span class="ok">ready<\/span>/);
    assert.match(home.body, /<tr><td>unknownProfile<\/td><td class="ok">ok<\/td><\/tr>/);
    assert.match(home.body, /<li>profile site: x &#60;y&#62; is not in the boot root<\/li>/);
    assert.match(home.body, /href="\/api\/v1\/openapi\.json"/);
    assert.match(home.body, /href="\/metrics"/);
    const ready = await app.inject('/readyz');
    assert.deepEqual(ready.json(), { ready: true, checks: { sockets: 'ok', root: 'ok', store: 'ok', unknownProfile: 'ok' }, missingFiles: ['profile site: x <y> is not in the boot root'] });
  } finally {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('/readyz is 503 with the reason when a check is not ok, and / says not ready', async () => {
  const app = await buildHttpApp({
    logger: createLogger('silent'), metrics: createMetrics(new Registry()), content: {} as BootContent, root: () => '/nonexistent', version: '1', adminApi: false,
    ready: async () => ({ checks: { sockets: 'ok', unknownProfile: 'profile menu: bios boot file undionly.kpxe is not in the boot root' }, missingFiles: [] }),
  });
  try {
    const r = await app.inject('/readyz');
    assert.equal(r.statusCode, 503);
    assert.equal(r.json().checks.unknownProfile, 'profile menu: bios boot file undionly.kpxe is not in the boot root');
    assert.match((await app.inject('/')).body, /not ready[\s\S]*admin API is disabled/);
  } finally {
    await app.close();
  }
});
