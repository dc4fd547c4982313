/**
 * Sharing a subnet with another PXE server: the pure rule (policy/coexist.ts), decide() with it, its
 * configuration keys and variables, and the daemon applying it on reload through the DHCP door.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, validateConfig } from '../../daemon/config/load.js';
import { startDaemon, type Daemon } from '../../daemon/main.js';
import { createLogger } from '../../daemon/log.js';
import { offerWaitSeconds, type CoexistRule } from '../../daemon/policy/coexist.js';
import { decide, snapshotFromConfig } from '../../daemon/policy/decide.js';
import { buildInventoryIndex } from '../../daemon/policy/inventory.js';
import type { ClientInfo, Decision } from '../../daemon/policy/types.js';
import { openStore } from '../../daemon/store/db.js';
import { TestClient, freePort, pxeRequest } from './helpers/dhcp-client.js';

const KNOWN_MAC = '52:54:00:77:00:01';
const STRANGER_MAC = '52:54:00:99:99:99';

const bootUnknown: Decision = { kind: 'boot', profile: 'menu', target: { transport: 'tftp', path: 'ipxe.efi' }, computer: null, reason: 'unknown-boot' };
const bootKnown: Decision = { ...bootUnknown, computer: 'PC-1', reason: 'known' };
const pendingUnknown: Decision = { kind: 'pending', reason: 'unknown-pending' };
const localKnown: Decision = { kind: 'local', computer: 'PC-1', reason: 'boot-once-consumed' };

describe('offerWaitSeconds', () => {
  const none: CoexistRule = { mode: 'none', delaySeconds: 5 };
  const knownOnly: CoexistRule = { mode: 'known-only', delaySeconds: 5 };
  const delay: CoexistRule = { mode: 'delay', delaySeconds: 5 };
  const rows: Array<[string, CoexistRule, number, Decision, number, number, string | null]> = [
    // name, rule, responseDelaySeconds, decision, secs, expected seconds, expected reason
    ['none, no delay: at once', none, 0, bootUnknown, 0, 0, null],
    ['none: the response delay for everyone', none, 3, bootUnknown, 0, 3, 'response-delay'],
    ['known-only does not delay (decide() already ignored the unknown)', knownOnly, 0, bootKnown, 0, 0, null],
    ['delay: an unknown machine waits the coexistence delay', delay, 0, bootUnknown, 0, 5, 'coexist-delay'],
    ['delay: a pending (unknown) machine waits too', delay, 0, pendingUnknown, 0, 5, 'coexist-delay'],
    ['delay: a known computer is answered at once', delay, 0, bootKnown, 0, 0, null],
    ['delay: a known computer sent to its disk is answered at once', delay, 0, localKnown, 0, 0, null],
    ['delay: a known computer keeps the response delay', delay, 2, bootKnown, 0, 2, 'response-delay'],
    ['delay: an unknown machine waits the longer of the two (coexistence)', delay, 2, bootUnknown, 0, 5, 'coexist-delay'],
    ['delay: an unknown machine waits the longer of the two (response)', delay, 8, bootUnknown, 0, 8, 'response-delay'],
    ['delay: judged against secs (what is left)', delay, 0, bootUnknown, 3, 2, 'coexist-delay'],
    ['delay: a client left waiting longer is answered at once', delay, 0, bootUnknown, 6, 0, null],
  ];
  for (const [name, rule, response, decision, secs, seconds, reason] of rows) {
    test(name, () => {
      assert.deepEqual(offerWaitSeconds(rule, response, decision, secs), { seconds, reason });
    });
  }
});

describe('decide() with server.coexist', () => {
  const client = (mac: string): ClientInfo => ({
    mac, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: null, guidSwapped: null,
    vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ip: null, door: 'dhcp',
  });
  const snap = (coexist: string, action = 'boot') => {
    const cfg = validateConfig({
      server: { coexist },
      policy: { unknown: { action, profile: 'linux' } },
      profiles: { linux: { bootFiles: { 'efi-x64': 'ipxe.efi' } } },
    }, 'test');
    return {
      ...snapshotFromConfig(cfg),
      inventory: buildInventoryIndex([{ name: 'PC-1', macs: [KNOWN_MAC], guid: null, profile: 'linux', kind: null, bootOnceConsumed: false }]),
    };
  };

  test('known-only: an unknown machine is ignored with its own reason', () => {
    assert.deepEqual(decide(client(STRANGER_MAC), snap('known-only')), { kind: 'ignore', reason: 'coexist-known-only' });
  });
  test('known-only: an unknown machine is not recorded as pending either', () => {
    assert.deepEqual(decide(client(STRANGER_MAC), snap('known-only', 'pending')), { kind: 'ignore', reason: 'coexist-known-only' });
  });
  test('known-only: a known computer boots its profile', () => {
    const d = decide(client(KNOWN_MAC), snap('known-only'));
    assert.equal(d.kind, 'boot');
    assert.equal(d.reason, 'known');
  });
  for (const mode of ['none', 'delay']) {
    test(`${mode}: an unknown machine gets the unknown-computer action (delay is the door's, not a decision)`, () => {
      const d = decide(client(STRANGER_MAC), snap(mode));
      assert.equal(d.kind, 'boot');
      assert.equal(d.reason, 'unknown-boot');
    });
  }
});

describe('server.coexist configuration', () => {
  test('defaults: none, 5 seconds', () => {
    const c = validateConfig({}, 'test');
    assert.equal(c.server.coexist, 'none');
    assert.equal(c.server.coexistDelaySeconds, 5);
  });
  test('set by BOOTGATE_SERVER_COEXIST and BOOTGATE_SERVER_COEXIST_DELAY_SECONDS', () => {
    const c = loadConfig({ env: { BOOTGATE_SERVER_COEXIST: 'delay', BOOTGATE_SERVER_COEXIST_DELAY_SECONDS: '12' } });
    assert.equal(c.server.coexist, 'delay');
    assert.equal(c.server.coexistDelaySeconds, 12);
  });
  test('a wrong mode names the key, the choices and what was found', () => {
    assert.throws(() => validateConfig({ server: { coexist: 'wds' } }, 'site.yaml'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, ['site.yaml: server.coexist: expected one of "none", "known-only", "delay", found string "wds"']);
      return true;
    });
  });
  test('the delay is 1 to 60 seconds', () => {
    assert.throws(() => validateConfig({ server: { coexistDelaySeconds: 0 } }, 't'), /server\.coexistDelaySeconds: expected a number >= 1, found number 0/);
    assert.throws(() => validateConfig({ server: { coexistDelaySeconds: 61 } }, 't'), /server\.coexistDelaySeconds: expected a number <= 60, found number 61/);
  });
});

async function counter(d: Daemon, reason: string): Promise<number> {
  const m = await d.metrics.decisions.get();
  return m.values.filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
}

async function heldCount(d: Daemon): Promise<number> {
  const m = await d.metrics.dhcpOffersHeld.get();
  return m.values.filter((v) => v.labels.reason === 'coexist-delay').reduce((a, v) => a + v.value, 0);
}

describe('the daemon applies server.coexist at start and on reload', () => {
  test('none answers a stranger; reloaded to known-only it withholds and counts; delay holds the stranger only', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bg-coexist-'));
    writeFileSync(join(root, 'ipxe.efi'), 'x');
    const storePath = join(root, 'store.db');
    const store = openStore(storePath);
    store.computers.insert({ name: 'PC-1', macs: [KNOWN_MAC], guid: null, profile: 'menu', kind: null, notes: '', sourceComputer: null }, Date.now());
    store.close();
    const client = await TestClient.open();
    const dhcpPort = await freePort();
    const raw = (coexist: string) => ({
      root,
      server: { bindAddress: '127.0.0.1', dhcpPort, pxePort: 0, clientPort: client.port, broadcastAddress: '127.0.0.1', coexist, coexistDelaySeconds: 1 },
      tftp: { enabled: false },
      http: { enabled: false },
      store: { path: storePath },
      log: { level: 'silent' },
    });
    const daemon = await startDaemon({ config: validateConfig(raw('none'), 'test'), logger: createLogger('silent') });
    try {
      const first = pxeRequest({ mac: STRANGER_MAC });
      client.send(first, dhcpPort);
      await client.reply(first.xid, 60_000);

      assert.deepEqual(daemon.reload(validateConfig(raw('known-only'), 'test')).restartNeeded, []);
      const stranger = pxeRequest({ mac: STRANGER_MAC });
      client.send(stranger, dhcpPort);
      const known = pxeRequest({ mac: KNOWN_MAC });
      client.send(known, dhcpPort);
      // The known computer's offer comes after the stranger's DISCOVER was decided (one socket, in order).
      await client.reply(known.xid, 60_000);
      assert.equal(await counter(daemon, 'coexist-known-only'), 1);
      assert.equal(client.replies.filter((r) => r.xid === stranger.xid).length, 0, 'the stranger got no offer');

      daemon.reload(validateConfig(raw('delay'), 'test'));
      const knownAgain = pxeRequest({ mac: KNOWN_MAC });
      client.send(knownAgain, dhcpPort);
      await client.reply(knownAgain.xid, 60_000);
      assert.equal(await heldCount(daemon), 0, 'a known computer is not held');
      const held = pxeRequest({ mac: STRANGER_MAC });
      const sent = performance.now();
      client.send(held, dhcpPort);
      await client.reply(held.xid, 60_000);
      assert.ok(performance.now() - sent >= 950, `the stranger's offer waited the coexistence delay (${Math.round(performance.now() - sent)} ms)`);
      assert.equal(await heldCount(daemon), 1);
    } finally {
      client.close();
      await daemon.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
