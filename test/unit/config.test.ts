import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, NON_CONFIG_ENV, configKeys, loadConfig, movedPathProblems, unknownEnvProblems, validateConfig } from '../../daemon/config/load.js';
import { configProblems, effectiveConfig } from '../../daemon/config/defaults.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

test('an empty config gets every default', () => {
  const c = validateConfig({}, 'x');
  assert.equal(c.server.dhcpPort, 67);
  assert.equal(c.server.pxePort, 4011);
  assert.equal(c.tftp.blockSizeMax, 1468);
  assert.equal(c.http.port, 8080);
  assert.equal(c.policy.unknown.action, 'boot');
  assert.deepEqual(c.server.interfaces, []);
});

test('errors name the file, the key path, what was expected and what was found', () => {
  const p = problemsOf(() => validateConfig({ tftp: { blockSizeMax: 70000 }, server: { dhcpPort: 'x', bogus: 1 }, http: { port: -1 } }, 'site.yaml'));
  assert.ok(p.includes('site.yaml: tftp.blockSizeMax: expected a number <= 65464, found number 70000'), p.join('\n'));
  assert.ok(p.includes('site.yaml: server.dhcpPort: expected integer, found string "x"'), p.join('\n'));
  assert.ok(p.includes('site.yaml: server.bogus: expected no key "bogus" (unknown key), found that key'), p.join('\n'));
  assert.ok(p.includes('site.yaml: http.port: expected a number >= 0, found number -1'), p.join('\n'));
});

test('a YAML syntax error names the file and the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-cfg-'));
  try {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'server:\n  dhcpPort: [1,\n');
    const p = problemsOf(() => loadConfig({ file: f }));
    assert.match(p[0] ?? '', new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*line 3`));
    const missing = problemsOf(() => loadConfig({ file: join(dir, 'nope.yaml') }));
    assert.match(missing[0] ?? '', /nope\.yaml: cannot read: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BOOTGATE_* variables override the file and flags override both', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-cfg-'));
  try {
    const f = join(dir, 'c.yaml');
    writeFileSync(f, 'http:\n  port: 8081\ntftp:\n  windowSizeMax: 8\n');
    const c = loadConfig({
      file: f,
      env: { BOOTGATE_HTTP_PORT: '9090', BOOTGATE_SERVER_INTERFACES: 'eth1, eth2', BOOTGATE_TFTP_BLOCK_SIZE_MAX: '1428', BOOTGATE_SERVER_ANSWERING: 'false' },
      overrides: { 'tftp.windowSizeMax': 16 },
    });
    assert.equal(c.http.port, 9090);
    assert.deepEqual(c.server.interfaces, ['eth1', 'eth2']);
    assert.equal(c.tftp.blockSizeMax, 1428);
    assert.equal(c.tftp.windowSizeMax, 16);
    assert.equal(c.server.answering, false);
    const bad = problemsOf(() => loadConfig({ env: { BOOTGATE_HTTP_PORT: 'eighty' } }));
    assert.deepEqual(bad, ['(defaults): http.port: expected integer, found string "eighty"']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every scalar key has an environment variable name', () => {
  const names = configKeys.map((k) => k.env);
  assert.ok(names.includes('BOOTGATE_ROOT'));
  assert.ok(names.includes('BOOTGATE_SERVER_RESPONSE_DELAY_SECONDS'));
  assert.equal(new Set(names).size, names.length);
});

test('a BOOTGATE_ variable that names no key is refused like an unknown YAML key, with the key it likely meant', () => {
  // The mistake that made the daemon answer on every interface: the key is server.interfaces, plural.
  assert.deepEqual(problemsOf(() => loadConfig({ env: { BOOTGATE_SERVER_INTERFACE: 'eth1' } })), [
    'environment: BOOTGATE_SERVER_INTERFACE: not a configuration key (did you mean BOOTGATE_SERVER_INTERFACES, the key server.interfaces?)',
  ]);
  // The section left out: the one key that ends the same way.
  assert.deepEqual(unknownEnvProblems({ BOOTGATE_BLOCK_SIZE_MAX: '1428' }), [
    'environment: BOOTGATE_BLOCK_SIZE_MAX: not a configuration key (did you mean BOOTGATE_TFTP_BLOCK_SIZE_MAX, the key tftp.blockSizeMax?)',
  ]);
  // A typo of a variable the CLI reads is pointed at that variable.
  assert.deepEqual(unknownEnvProblems({ BOOTGATE_ADMIN_TOKNE: 'x' }), [
    'environment: BOOTGATE_ADMIN_TOKNE: not a configuration key (did you mean BOOTGATE_ADMIN_TOKEN?)',
  ]);
  // Nothing close: no guess.
  assert.deepEqual(unknownEnvProblems({ BOOTGATE_FROBNICATE: '1' }), ['environment: BOOTGATE_FROBNICATE: not a configuration key']);
});

test('unknown variables are reported together with the config\'s other problems, in name order', () => {
  const p = problemsOf(() => loadConfig({ env: { BOOTGATE_ZZZ: '1', BOOTGATE_HTTP_PORT: 'eighty', BOOTGATE_AAA: '1' } }));
  assert.deepEqual(p, [
    'environment: BOOTGATE_AAA: not a configuration key',
    'environment: BOOTGATE_ZZZ: not a configuration key',
    '(defaults): http.port: expected integer, found string "eighty"',
  ]);
});

test('other variables, and BOOTGATE_ variables the product reads that are not keys, are let through', () => {
  const env = { PATH: '/usr/bin', bootgate_lower: 'x', BOOTGATEX: 'y', ...Object.fromEntries([...NON_CONFIG_ENV.keys()].map((k) => [k, '1'])) };
  assert.deepEqual(unknownEnvProblems(env), []);
  assert.equal(loadConfig({ env: { ...env, BOOTGATE_HTTP_PORT: '9090' } }).http.port, 9090);
});

test('every BOOTGATE_ name in the tree is a configuration key or in the documented allow-list', () => {
  // Run from dist/test/unit: the sources are three levels up. A variable the product starts to read
  // must be added to NON_CONFIG_ENV, or the daemon would refuse to start when it is set.
  const root = join(import.meta.dirname, '..', '..', '..');
  const names = new Set<string>();
  const scan = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) scan(rel);
      else if (/\.(ts|sh|ya?ml|md)$/.test(e.name)) {
        for (const m of readFileSync(join(root, rel), 'utf8').matchAll(/\bBOOTGATE_[A-Z0-9_]*[A-Z0-9]\b/g)) names.add(m[0]);
      }
    }
  };
  for (const dir of ['daemon', 'test', 'bench', 'deploy', 'config']) scan(dir);
  for (const file of ['README.md', 'Dockerfile', 'compose.yaml']) {
    for (const m of readFileSync(join(root, file), 'utf8').matchAll(/\bBOOTGATE_[A-Z0-9_]*[A-Z0-9]\b/g)) names.add(m[0]);
  }
  assert.ok(names.has('BOOTGATE_API') && names.has('BOOTGATE_SERVER_INTERFACES'), 'the scan found the sources');
  const strays = unknownEnvProblems(Object.fromEntries([...names].map((n) => [n, '1'])));
  // This file's own examples of mistakes are not variables anyone sets.
  const examples = ['BOOTGATE_SERVER_INTERFACE', 'BOOTGATE_BLOCK_SIZE_MAX', 'BOOTGATE_ADMIN_TOKNE', 'BOOTGATE_FROBNICATE', 'BOOTGATE_ZZZ', 'BOOTGATE_AAA'];
  assert.deepEqual(strays.filter((p) => !examples.some((x) => p.includes(`${x}:`))), []);
});

test('zero-config: the profile comes from the files present in the root', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-root-'));
  try {
    for (const f of ['undionly.kpxe', 'snponly.efi', 'boot.ipxe', 'wdsnbp.com']) writeFileSync(join(dir, f), 'x');
    const c = effectiveConfig(validateConfig({ root: dir }, 'x'));
    const p = c.profiles.default;
    assert.ok(p);
    assert.equal(p.bootFiles.bios, 'undionly.kpxe');
    assert.equal(p.bootFiles['efi-x64'], 'snponly.efi');
    assert.equal(p.ipxeScriptFile, 'boot.ipxe');
    assert.deepEqual(configProblems(c), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Windows-only tree boots wdsnbp.com and bootmgfw.efi', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-root-'));
  try {
    for (const f of ['wdsnbp.com', 'bootmgfw.efi', 'BCD']) writeFileSync(join(dir, f), 'x');
    const p = effectiveConfig(validateConfig({ root: dir }, 'x')).profiles.default;
    assert.equal(p?.bootFiles.bios, 'wdsnbp.com');
    assert.equal(p?.bootFiles['efi-x64'], 'bootmgfw.efi');
    assert.equal(p?.ipxeScriptFile, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown-computer profile that does not exist is a config problem', () => {
  const c = validateConfig({ policy: { unknown: { action: 'boot', profile: 'nope' } }, profiles: { winpe: {} } }, 'x');
  assert.deepEqual(configProblems(c), ['policy.unknown.profile: expected the name of a profile (winpe), found "nope"']);
});

test('relative paths: from the config file\'s folder in the file and for its defaults, from the working directory in variables and flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-cfgpaths-'));
  try {
    const conf = join(dir, 'etc');
    mkdirSync(conf);
    const file = join(conf, 'bootgate.yaml');
    writeFileSync(file, 'root: boot\nadmin:\n  tokensFile: tokens\n');
    const c = loadConfig({ file, env: {}, cwd: '/somewhere/else' });
    assert.equal(c.root, join(conf, 'boot'));
    assert.equal(c.admin.tokensFile, join(conf, 'tokens'));
    assert.equal(c.store.path, join(conf, 'data/bootgate.db'), 'a default the file leaves out belongs to its folder too');
    const shell = loadConfig({ file, env: { BOOTGATE_STORE_PATH: 'mine.db' }, overrides: { root: 'tree' }, cwd: '/work/here' });
    assert.equal(shell.store.path, '/work/here/mine.db');
    assert.equal(shell.root, '/work/here/tree');
    writeFileSync(file, 'root: /srv/boot\nstore:\n  path: ":memory:"\n');
    const abs = loadConfig({ file, env: {}, cwd: '/x' });
    assert.equal(abs.root, '/srv/boot');
    assert.equal(abs.store.path, ':memory:');
    // Without a file nothing has a folder: the defaults stay relative (to the working directory).
    assert.equal(loadConfig({ env: {} }).store.path, 'data/bootgate.db');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database an earlier release kept relative to the working directory is named, not replaced by an empty one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-cfgmoved-'));
  try {
    const conf = join(dir, 'etc');
    const state = join(dir, 'state');
    mkdirSync(conf);
    mkdirSync(join(state, 'data'), { recursive: true });
    mkdirSync(join(conf, 'boot'));
    const file = join(conf, 'bootgate.yaml');
    writeFileSync(file, 'root: boot\nstore:\n  path: data/bootgate.db\n');
    writeFileSync(join(state, 'data/bootgate.db'), '');
    const cfg = loadConfig({ file, env: {}, cwd: state });
    const problems = movedPathProblems(file, cfg, state);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /store\.path: data\/bootgate\.db is taken from the config file's folder \(.*etc\/data\/bootgate\.db, which does not exist\), no longer from the working directory \(.*state\/data\/bootgate\.db, which does\); set store\.path: .*state\/data\/bootgate\.db/);
    // Once the database is where the config says (moved, or the path made absolute), nothing to say.
    mkdirSync(join(conf, 'data'));
    writeFileSync(join(conf, 'data/bootgate.db'), '');
    assert.deepEqual(movedPathProblems(file, cfg, state), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
