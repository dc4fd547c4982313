/**
 * deploy/bootgate.service: `systemd-analyze verify` finds nothing to say about it (syntax, known keys,
 * executables present), and the keys the deployment relies on have the values it relies on: a dedicated
 * user, only CAP_NET_BIND_SERVICE, the hardening set, reload by SIGHUP, a stop timeout above the
 * daemon's 30-second grace period.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './helpers/ops-catalogue.js';

const UNIT = join(REPO, 'deploy/bootgate.service');
/** Where `npm install -g --prefix /usr/local` puts the command (README, test/e2e/ops-install-debian.test.ts). */
const INSTALLED = '/usr/local/bin/bootgate';
/** The daemon's shutdown grace (daemon/cli.ts: daemon.close(30_000)). */
const GRACE_SECONDS = 30;

/** section -> key -> values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      current = new Map();
      sections.set(sec[1] as string, current);
      return;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && current, `line ${i + 1}: not a key=value inside a section: ${line}`);
    const values = current.get(kv[1] as string) ?? [];
    values.push(kv[2] as string);
    current.set(kv[1] as string, values);
  });
  return sections;
}

const unit = parseUnit(readFileSync(UNIT, 'utf8'));
function get(section: string, key: string): string {
  const v = unit.get(section)?.get(key);
  assert.ok(v && v.length === 1, `[${section}] ${key}: expected exactly one value, found ${JSON.stringify(v)}`);
  return v[0] as string;
}

test('systemd: systemd-analyze verify reports nothing', () => {
  // verify checks that ExecStart's program exists: where bootgate is not installed on this machine,
  // verify a copy that runs this checkout's build with this machine's node (everything else byte for byte).
  let file = UNIT;
  const dir = mkdtempSync(join(tmpdir(), 'bgops-unit-'));
  try {
    if (!existsSync(INSTALLED)) {
      file = join(dir, 'bootgate.service');
      writeFileSync(file, readFileSync(UNIT, 'utf8').replace(`ExecStart=${INSTALLED} `, `ExecStart=${process.execPath} ${join(REPO, 'dist/daemon/bootgate.js')} `));
    }
    verify(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function verify(file: string): void {
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined, `systemd-analyze: ${String(r.error)}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'systemd-analyze verify printed warnings');
  assert.equal(r.status, 0);
}

test('systemd: dedicated user, the serve command with the config file, SIGHUP reload, SIGTERM with 30 s grace', () => {
  assert.equal(get('Service', 'User'), 'bootgate');
  assert.equal(get('Service', 'Group'), 'bootgate');
  assert.equal(get('Service', 'ExecStart'), `${INSTALLED} serve --config /etc/bootgate/bootgate.yaml`);
  assert.equal(get('Service', 'ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(get('Service', 'KillSignal'), 'SIGTERM');
  const stop = Number(get('Service', 'TimeoutStopSec'));
  assert.ok(stop > GRACE_SECONDS && stop <= GRACE_SECONDS + 15, `TimeoutStopSec=${stop}: must leave the ${GRACE_SECONDS} s grace plus store close`);
  // An invalid configuration (exit 2, daemon/cli.ts) is not retried in a loop.
  assert.equal(get('Service', 'RestartPreventExitStatus'), '2');
  assert.match(get('Install', 'WantedBy'), /multi-user\.target/);
});

test('systemd: only CAP_NET_BIND_SERVICE, ambient, bounded, with NoNewPrivileges', () => {
  assert.equal(get('Service', 'AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
  assert.equal(get('Service', 'CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
  assert.equal(get('Service', 'NoNewPrivileges'), 'yes');
});

test('systemd: hardening options', () => {
  const want: Record<string, string> = {
    ProtectSystem: 'strict',
    ReadWritePaths: '/var/lib/bootgate',
    PrivateTmp: 'yes',
    ProtectHome: 'yes',
    PrivateDevices: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectControlGroups: 'yes',
    RestrictNamespaces: 'yes',
    RestrictSUIDSGID: 'yes',
    LockPersonality: 'yes',
    SystemCallArchitectures: 'native',
    SystemCallFilter: '@system-service',
    RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX AF_NETLINK',
  };
  for (const [k, v] of Object.entries(want)) assert.equal(get('Service', k), v, `[Service] ${k}`);
  // The state directory is where data/bootgate.db lands (WorkingDirectory + the config default).
  assert.equal(get('Service', 'WorkingDirectory'), '/var/lib/bootgate');
  assert.deepEqual(get('Service', 'StateDirectory').split(/\s+/), ['bootgate', 'bootgate/data']);
  // V8's JIT needs W+X pages: this option would crash node at start.
  assert.equal(unit.get('Service')?.get('MemoryDenyWriteExecute'), undefined);
});
