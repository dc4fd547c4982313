/**
 * DHCPv6 as a Secure Boot refusal signal: the codec for the client messages Bootgate reads (never
 * answers), hostile datagrams dropped and counted, the DUID and EUI-64 mappings to a machine, and the
 * refusal watch concluding from a Solicit that the firmware refused the program it fetched.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { secureboot } from '../../daemon/features/index.js';
import { SecureBootAdmin } from '../../daemon/features/secureboot/service.js';
import { DHCPV6_PER_SECOND } from '../../daemon/features/secureboot/watch.js';
import { Gatekeeper } from '../../daemon/boot/gatekeeper.js';
import { createLogger } from '../../daemon/log.js';
import { createMetrics } from '../../daemon/metrics.js';
import { DecodeError } from '../../daemon/protocol/errors.js';
import { MAX_OPTIONS, decodeDhcpv6, duidIdentity, macOfLinkLocal } from '../../daemon/protocol/dhcpv6/codec.js';
import { watchStep } from '../../daemon/policy/secure-boot.js';
import type { ClientInfo } from '../../daemon/policy/types.js';
import { createStoreBackend } from '../../daemon/store/backend.js';
import { openStore } from '../../daemon/store/db.js';

const MAC = '52:54:00:77:00:06';
/** Option 97's 16 GUID bytes as OVMF sends them (and as its DUID-UUID carries them). */
const GUID_BYTES = Buffer.from('33221100554477668899aabbccdd5b06', 'hex');

function opt(code: number, data: Uint8Array): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(code, 0);
  h.writeUInt16BE(data.length, 2);
  return Buffer.concat([h, data]);
}

function solicit(...options: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([1, 0x12, 0x34, 0x56]), ...options]);
}

const duidUuid = Buffer.concat([Buffer.from([0, 4]), GUID_BYTES]);
const duidLl = Buffer.from('00030001525400770006', 'hex');
const duidLlt = Buffer.from('0001000129a3c0de525400770006', 'hex');
const arch7 = opt(61, Buffer.from([0, 7]));

describe('the DHCPv6 codec', () => {
  test('a firmware Solicit: type, transaction id, DUID, client architecture', () => {
    const m = decodeDhcpv6(solicit(opt(1, duidUuid), opt(8, Buffer.from([0, 0])), arch7));
    assert.equal(m.type, 1);
    assert.equal(m.xid, 0x123456);
    assert.deepEqual(Buffer.from(m.duid ?? []), duidUuid);
    assert.deepEqual(m.archTypes, [7]);
    assert.deepEqual(m.userClasses, []);
  });

  test('iPXE\'s user class is read', () => {
    const uc = Buffer.concat([Buffer.from([0, 4]), Buffer.from('iPXE')]);
    assert.deepEqual(decodeDhcpv6(solicit(opt(15, uc))).userClasses, ['iPXE']);
  });

  const hostile: Array<[string, Buffer, string]> = [
    ['empty', Buffer.alloc(0), 'ERR_DHCPV6_TRUNCATED'],
    ['three bytes', Buffer.from([1, 0, 0]), 'ERR_DHCPV6_TRUNCATED'],
    ['an Advertise (a server\'s message)', Buffer.from([2, 0, 0, 1]), 'ERR_DHCPV6_NOT_CLIENT'],
    ['a Relay-forward', Buffer.from([12, 0, 0, 1]), 'ERR_DHCPV6_NOT_CLIENT'],
    ['type 0', Buffer.from([0, 0, 0, 0]), 'ERR_DHCPV6_NOT_CLIENT'],
    ['an option header cut short', Buffer.concat([solicit(), Buffer.from([0, 1, 0])]), 'ERR_DHCPV6_TRUNCATED'],
    ['an option longer than the packet', Buffer.concat([solicit(), Buffer.from([0, 1, 0xff, 0xff, 0, 4])]), 'ERR_DHCPV6_TRUNCATED'],
    ['two client identifiers', solicit(opt(1, duidLl), opt(1, duidLl)), 'ERR_DHCPV6_BAD_OPTION'],
    ['a one-byte DUID', solicit(opt(1, Buffer.from([0]))), 'ERR_DHCPV6_BAD_OPTION'],
    ['a DUID over 130 bytes', solicit(opt(1, Buffer.alloc(131, 1))), 'ERR_DHCPV6_BAD_OPTION'],
    ['an odd client architecture', solicit(opt(61, Buffer.from([0, 7, 0]))), 'ERR_DHCPV6_BAD_OPTION'],
    ['an empty client architecture', solicit(opt(61, Buffer.alloc(0))), 'ERR_DHCPV6_BAD_OPTION'],
    ['a user class entry claiming more than it has', solicit(opt(15, Buffer.from([0, 9, 0x41]))), 'ERR_DHCPV6_BAD_OPTION'],
    ['more options than any client sends', solicit(...Array.from({ length: MAX_OPTIONS + 1 }, () => opt(8, Buffer.from([0, 0])))), 'ERR_DHCPV6_BAD_OPTION'],
  ];
  for (const [name, buf, code] of hostile) {
    test(`hostile: ${name}`, () => {
      assert.throws(() => decodeDhcpv6(buf), (e: unknown) => e instanceof DecodeError && e.code === code);
    });
  }

  test('random bytes never throw anything but a DecodeError', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) & 0xff;
    for (let k = 0; k < 3000; k++) {
      const buf = Buffer.from(Array.from({ length: rnd() % 96 }, rnd));
      if (k % 2 === 0 && buf.length > 0) buf[0] = 1;
      try {
        decodeDhcpv6(buf);
      } catch (err) {
        assert.ok(err instanceof DecodeError, String(err));
      }
    }
  });
});

describe('who sent it', () => {
  test('DUID-UUID, DUID-LL and DUID-LLT on Ethernet; others say nothing', () => {
    const u = duidIdentity(duidUuid);
    assert.equal(u.kind, 'uuid');
    assert.deepEqual(Buffer.from(u.kind === 'uuid' ? u.bytes : []), GUID_BYTES);
    assert.deepEqual(duidIdentity(duidLl), { kind: 'mac', mac: MAC });
    assert.deepEqual(duidIdentity(duidLlt), { kind: 'mac', mac: MAC });
    assert.deepEqual(duidIdentity(Buffer.from('0002000001370102', 'hex')), { kind: 'other' });
    assert.deepEqual(duidIdentity(Buffer.from('00030006525400770006', 'hex')), { kind: 'other' }, 'not Ethernet');
    assert.deepEqual(duidIdentity(Buffer.from('0004' + '00'.repeat(15), 'hex')), { kind: 'other' }, 'UUID cut short');
  });

  test('the MAC in an EUI-64 link-local address; none in other addresses', () => {
    assert.equal(macOfLinkLocal('fe80::5054:ff:fe77:6'), MAC);
    assert.equal(macOfLinkLocal('fe80::5054:ff:fe77:6%veth0'), MAC);
    assert.equal(macOfLinkLocal('fe80:0:0:0:5054:00ff:fe77:0006'), MAC);
    assert.equal(macOfLinkLocal('fe80::1'), null);
    assert.equal(macOfLinkLocal('fe80::a1b2:c3d4:e5f6:1234'), null, 'a stable-opaque address');
    assert.equal(macOfLinkLocal('2001:db8::5054:ff:fe77:6'), null, 'not link-local');
    assert.equal(macOfLinkLocal('10.0.0.1'), null);
    assert.equal(macOfLinkLocal('fe80::5054:ff:fe77:6::1'), null);
    assert.equal(macOfLinkLocal('fe80::zzzz:ff:fe77:6'), null);
    assert.equal(macOfLinkLocal(`fe80::${'1:'.repeat(200)}1`), null);
  });
});

describe('the refusal rule', () => {
  test('a Solicit after the program was fetched in full is a refusal; before, or from iPXE, it is not', () => {
    const fetched = { phase: 'fetched' as const, file: 'ipxe.efi', at: 0 };
    assert.deepEqual(watchStep(fetched, { kind: 'dhcpv6', ipxe: false }, 1_000), { state: null, refusal: 'ipv6-pxe-fallback' });
    assert.deepEqual(watchStep(fetched, { kind: 'dhcpv6', ipxe: true }, 1_000), { state: null, refusal: null });
    const offered = { phase: 'offered' as const, file: 'ipxe.efi', at: 0 };
    assert.deepEqual(watchStep(offered, { kind: 'dhcpv6', ipxe: false }, 1_000), { state: offered, refusal: null });
    assert.deepEqual(watchStep(null, { kind: 'dhcpv6', ipxe: false }, 1_000), { state: null, refusal: null });
  });
});

describe('the watch hears a Solicit', () => {
  const cfg = validateConfig({
    policy: { unknown: { action: 'boot', profile: 'lab' } },
    profiles: { lab: { bootFiles: { 'efi-x64': 'ipxe.efi' }, secureBootFiles: { 'efi-x64': 'shimx64.efi' }, ipxeScript: 'boot' } },
  }, 'test');
  const client = (over: Partial<ClientInfo> = {}): ClientInfo => ({
    mac: MAC, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: '33221100-5544-7766-8899-aabbccdd5b06', guidSwapped: '00112233-4455-6677-8899-aabbccdd5b06',
    vendorClass: 'PXEClient:Arch:00007:UNDI:003000', ip: null, door: 'dhcp', ...over,
  });

  function setup(guids: Record<string, string> = {}) {
    let now = 5_000_000;
    const store = openStore(':memory:');
    const registry = new Registry();
    const logger = createLogger('silent');
    const attached = secureboot.attach({
      store, config: () => cfg, logger, registry, now: () => now, macOfIp: () => undefined, macOfGuid: (g) => guids[g], sessions: () => [],
    });
    const backend = createStoreBackend(cfg, store, { logger, parts: attached.snapshot ?? {} });
    const gate = new Gatekeeper(backend, logger, createMetrics(new Registry()));
    if (attached.precede) gate.precede(attached.precede);
    if (attached.observe) gate.observe(attached.observe);
    const offerAndFetch = () => {
      assert.equal(((d) => ('target' in d ? d.target.path : ''))(gate.decide(client())), 'ipxe.efi');
      gate.decide(client({ door: 'pxe' }));
      gate.decide(client({ door: 'tftp' }), { file: 'ipxe.efi' });
      attached.served?.(MAC, 'ipxe.efi');
    };
    const counts = async () => Object.fromEntries(((await registry.getSingleMetric('bootgate_secure_boot_dhcpv6_messages_total')?.get())?.values ?? [])
      .map((v) => [v.labels.result, v.value]));
    return { store, registry, gate, attached, offerAndFetch, counts, tick: (ms: number) => { now += ms; }, done: () => { backend.close(); store.close(); } };
  }

  test('by DUID-UUID (the option 97 GUID): recorded as ipv6-pxe-fallback; the next DISCOVER gets shim', async () => {
    const s = setup({ '33221100-5544-7766-8899-aabbccdd5b06': MAC });
    s.offerAndFetch();
    s.tick(3_000);
    s.attached.dhcpv6?.(solicit(opt(1, duidUuid), arch7), 'fe80::1');
    const row = new SecureBootAdmin(s.store).show(MAC);
    assert.equal(row.reason, 'ipv6-pxe-fallback');
    assert.equal(row.file, 'ipxe.efi');
    const after = s.gate.decide(client());
    assert.equal('target' in after && after.target.path, 'shimx64.efi');
    assert.deepEqual(await s.counts(), { matched: 1 });
    const metric = await s.registry.getSingleMetric('bootgate_secure_boot_refusals_total')?.get();
    assert.deepEqual(metric?.values.map((v) => [v.labels.reason, v.value]), [['ipv6-pxe-fallback', 1]]);
    s.done();
  });

  test('by DUID-LL, and by the EUI-64 source when the DUID names no one', async () => {
    const a = setup();
    a.offerAndFetch();
    a.attached.dhcpv6?.(solicit(opt(1, duidLl)), 'fe80::1');
    assert.equal(new SecureBootAdmin(a.store).show(MAC).reason, 'ipv6-pxe-fallback');
    a.done();
    const b = setup();
    b.offerAndFetch();
    b.attached.dhcpv6?.(solicit(opt(1, Buffer.from('0002000001370102', 'hex'))), 'fe80::5054:ff:fe77:6');
    assert.equal(new SecureBootAdmin(b.store).show(MAC).reason, 'ipv6-pxe-fallback');
    b.done();
  });

  test('hostile and unrelated datagrams are dropped and counted; a machine not watched is left alone; iPXE\'s Solicit is not a refusal', async () => {
    const s = setup();
    s.attached.dhcpv6?.(Buffer.from([1, 2]), 'fe80::1');
    s.attached.dhcpv6?.(Buffer.from([7, 0, 0, 1]), 'fe80::1');
    s.attached.dhcpv6?.(solicit(opt(1, Buffer.from('0002000001370102', 'hex'))), 'fe80::1');
    s.attached.dhcpv6?.(solicit(opt(1, duidLl)), 'fe80::1');
    assert.throws(() => new SecureBootAdmin(s.store).show(MAC), /not marked/);
    s.offerAndFetch();
    const uc = opt(15, Buffer.concat([Buffer.from([0, 4]), Buffer.from('iPXE')]));
    s.attached.dhcpv6?.(solicit(opt(1, duidLl), uc), 'fe80::1');
    assert.throws(() => new SecureBootAdmin(s.store).show(MAC), /not marked/);
    assert.deepEqual(await s.counts(), { malformed: 1, 'not-client': 1, unmatched: 1, matched: 2 });
    s.done();
  });

  test('a flood is bounded: past the per-second bound datagrams are counted, not read', async () => {
    const s = setup();
    for (let k = 0; k < DHCPV6_PER_SECOND + 50; k++) s.attached.dhcpv6?.(Buffer.from([1, 2]), 'fe80::1');
    assert.deepEqual(await s.counts(), { malformed: DHCPV6_PER_SECOND, limited: 50 });
    s.tick(1_000);
    s.attached.dhcpv6?.(Buffer.from([1, 2]), 'fe80::1');
    assert.deepEqual(await s.counts(), { malformed: DHCPV6_PER_SECOND + 1, limited: 50 });
    s.done();
  });
});

describe('the client directory by GUID', () => {
  test('either reading of option 97 finds the MAC; an unknown GUID finds nothing', async () => {
    const { ClientDirectory } = await import('../../daemon/boot/clients.js');
    const d = new ClientDirectory();
    d.seen({
      mac: MAC, archCode: 7, arch: 'efi-x64', httpBoot: false, ipxe: false, guid: '33221100-5544-7766-8899-aabbccdd5b06',
      guidSwapped: '00112233-4455-6677-8899-aabbccdd5b06', vendorClass: '', ip: null, door: 'dhcp',
    }, '10.77.0.2');
    assert.equal(d.macOfGuid('33221100-5544-7766-8899-AABBCCDD5B06'), MAC);
    assert.equal(d.macOfGuid('00112233-4455-6677-8899-aabbccdd5b06'), MAC);
    assert.equal(d.macOfGuid('00112233-4455-6677-8899-aabbccdd5b07'), undefined);
  });
});
