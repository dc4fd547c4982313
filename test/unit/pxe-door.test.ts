/**
 * Every DHCP request path through the real daemon on 127.0.0.1: DISCOVER on 67, REQUEST on 4011 from
 * 4011 and from 68, relay via giaddr, iPXE, HTTPClient, response delay, non-PXE packets ignored.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../daemon/config/load.js';
import { startDaemon, type Daemon } from '../../daemon/main.js';
import { createLogger } from '../../daemon/log.js';
import { DhcpMessageType, DhcpOption, PxeVendorOption } from '../../daemon/protocol/dhcp/constants.js';
import { decodeVendorOptions, encodeVendorOptions } from '../../daemon/protocol/dhcp/vendor-options.js';
import { TestClient, freePort, pxeRequest } from './helpers/dhcp-client.js';

async function counter(d: Daemon, labels: Record<string, string>): Promise<number> {
  const m = await d.metrics.dhcpPackets.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k as 'port'] === val)).reduce((a, v) => a + v.value, 0);
}

async function until(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('DHCP doors on 127.0.0.1', () => {
  let root: string;
  let daemon: Daemon;
  let client: TestClient;
  let dhcpPort: number;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'bg-door-'));
    for (const f of ['undionly.kpxe', 'ipxe.efi']) writeFileSync(join(root, f), 'x');
    writeFileSync(join(root, 'boot.ipxe'), '#!ipxe\nkernel {{http}}/vmlinuz mac={{mac}} uuid={{uuid}}\nboot\n');
    client = await TestClient.open();
    dhcpPort = await freePort();
    const config = validateConfig(
      {
        root,
        server: { bindAddress: '127.0.0.1', dhcpPort, pxePort: 0, clientPort: client.port, broadcastAddress: '127.0.0.1' },
        tftp: { enabled: false },
        http: { port: 0, address: '127.0.0.1' },
        store: { path: join(root, 'store.db') },
        log: { level: 'silent' },
      },
      'test',
    );
    daemon = await startDaemon({ config, logger: createLogger('silent') });
  });

  after(async () => {
    client.close();
    await daemon.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('UEFI DISCOVER on 67 gets a proxy offer: no address, option 60 PXEClient, 97 echoed, no option 43', async () => {
    const req = pxeRequest({ arch: 7 });
    client.send(req, dhcpPort);
    const offer = await client.reply(req.xid);
    assert.equal(offer.options.get(DhcpOption.MESSAGE_TYPE)?.[0], DhcpMessageType.OFFER);
    assert.equal(offer.yiaddr, '0.0.0.0');
    assert.equal(offer.siaddr, '127.0.0.1');
    assert.equal(offer.file, 'ipxe.efi');
    assert.equal(offer.options.get(DhcpOption.VENDOR_CLASS_ID)?.toString(), 'PXEClient');
    assert.deepEqual(offer.options.get(DhcpOption.SERVER_ID), Buffer.from([127, 0, 0, 1]));
    assert.deepEqual(offer.options.get(DhcpOption.CLIENT_MACHINE_ID), req.options.get(DhcpOption.CLIENT_MACHINE_ID));
    assert.equal(offer.options.has(DhcpOption.VENDOR_SPECIFIC), false, 'EDK2 must go to 4011');
  });

  test('BIOS DISCOVER gets undionly.kpxe and discovery control 8', async () => {
    const req = pxeRequest({ arch: 0, mac: '52:54:00:77:00:01' });
    client.send(req, dhcpPort);
    const offer = await client.reply(req.xid);
    assert.equal(offer.file, 'undionly.kpxe');
    const vendor = decodeVendorOptions(offer.options.get(DhcpOption.VENDOR_SPECIFIC) ?? Buffer.alloc(0));
    assert.deepEqual(vendor.get(PxeVendorOption.DISCOVERY_CONTROL), Buffer.from([8]));
  });

  test('REQUEST on 4011 sent from port 4011 is answered to port 4011 with the boot file and item 71 echoed', async () => {
    const from4011 = await TestClient.open('127.0.0.1', 4011);
    try {
      const item = encodeVendorOptions(new Map([[PxeVendorOption.BOOT_ITEM, Buffer.from([0x80, 0x00, 0x00, 0x00])]]));
      const req = pxeRequest({ type: DhcpMessageType.REQUEST, ciaddr: '127.0.0.1', vendorOptions: item });
      from4011.send(req, daemon.ports.pxe[0] ?? 0);
      const ack = await from4011.reply(req.xid);
      assert.equal(ack.options.get(DhcpOption.MESSAGE_TYPE)?.[0], DhcpMessageType.ACK);
      assert.equal(ack.file, 'ipxe.efi');
      const vendor = decodeVendorOptions(ack.options.get(DhcpOption.VENDOR_SPECIFIC) ?? Buffer.alloc(0));
      assert.deepEqual(vendor.get(PxeVendorOption.BOOT_ITEM), Buffer.from([0x80, 0x00, 0x00, 0x00]));
    } finally {
      from4011.close();
    }
  });

  test('REQUEST on 4011 from port 68-style client port is answered to that port', async () => {
    const req = pxeRequest({ type: DhcpMessageType.REQUEST, ciaddr: '127.0.0.1' });
    client.send(req, daemon.ports.pxe[0] ?? 0);
    const ack = await client.reply(req.xid);
    assert.equal(ack.options.get(DhcpOption.MESSAGE_TYPE)?.[0], DhcpMessageType.ACK);
  });

  test('a relayed DISCOVER (giaddr set) is unicast to the relay on the server port', async () => {
    const relay = await TestClient.open('127.0.0.2', dhcpPort);
    try {
      const req = pxeRequest({ giaddr: '127.0.0.2' });
      relay.send(req, dhcpPort);
      const offer = await relay.reply(req.xid);
      assert.equal(offer.giaddr, '127.0.0.2');
      assert.equal(offer.file, 'ipxe.efi');
    } finally {
      relay.close();
    }
  });

  test('iPXE gets its per-client script URL, and the script is rendered for it over HTTP', async () => {
    const req = pxeRequest({ arch: 0, ipxe: true, mac: '52:54:00:77:00:01' });
    client.send(req, dhcpPort);
    const offer = await client.reply(req.xid);
    const url = `http://127.0.0.1:${daemon.ports.http}/ipxe/52-54-00-77-00-01.ipxe`;
    assert.equal(offer.file, url);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^#!ipxe\n/);
    // Zero config: the built-in menu, for this machine, defaulting to the local disk.
    assert.match(text, /item --gap -- Machine +52:54:00:77:00:01\n/);
    assert.match(text, /item --gap -- GUID +00112233-4455-6677-8899-aabbccddee01\n/);
    assert.match(text, /item --gap -- Decision +boot menu \(unknown-boot\)\n/);
    assert.match(text, /choose --default local --timeout 5000 target/);
    // No vmlinuz + initrd.img in this root: no Linux entry.
    assert.doesNotMatch(text, /item linux/);
  });

  test('a template in the root is never served raw, by HTTP', async () => {
    const res = await fetch(`http://127.0.0.1:${daemon.ports.http}/boot.ipxe`);
    assert.equal(res.status, 404);
    assert.doesNotMatch(await res.text(), /\{\{http\}\}/);
  });

  test('a UEFI HTTP boot client gets option 60 HTTPClient and a URL', async () => {
    const req = pxeRequest({ arch: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' });
    client.send(req, dhcpPort);
    const offer = await client.reply(req.xid);
    assert.equal(offer.options.get(DhcpOption.VENDOR_CLASS_ID)?.toString(), 'HTTPClient');
    assert.equal(offer.file, `http://127.0.0.1:${daemon.ports.http}/ipxe.efi`);
  });

  test('/readyz reports sockets, boot root, store and the profile unknown machines get, each ok; /healthz answers', async () => {
    const ready = await fetch(`http://127.0.0.1:${daemon.ports.http}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, checks: { sockets: 'ok', root: 'ok', store: 'ok', unknownProfile: 'ok' }, missingFiles: [] });
    assert.equal((await fetch(`http://127.0.0.1:${daemon.ports.http}/healthz`)).status, 200);
    assert.match(await daemon.metrics.registry.getSingleMetricAsString('bootgate_ready'), /bootgate_ready 1/);
  });

  test('a DISCOVER without PXE option 60 is ignored and counted', async () => {
    const before = await counter(daemon, { port: '67', result: 'ignored' });
    const req = pxeRequest({ vendorClass: 'MSFT 5.0' });
    client.send(req, dhcpPort);
    await until(async () => (await counter(daemon, { port: '67', result: 'ignored' })) === before + 1);
    assert.equal(client.replies.some((r) => r.xid === req.xid), false);
  });

  test('a burst of DISCOVERs queued at once is answered in full, each with its own xid and MAC (batched receive)', async () => {
    const reqs = Array.from({ length: 400 }, (_, i) => pxeRequest({ mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`, xid: 0x5a000000 + i }));
    // 100 at a time without yielding: the daemon finds them queued together and reads them in batches.
    // Each chunk's offers are collected before the next chunk goes: 100 replies fit the test client's own
    // receive queue (about 166 did here), 200 may not, and that would be the test's loss, not the daemon's.
    for (let i = 0; i < reqs.length; i += 100) {
      const chunk = reqs.slice(i, i + 100);
      for (const r of chunk) client.send(r, dhcpPort);
      for (const r of chunk) {
        const offer = await client.reply(r.xid);
        assert.deepEqual(offer.chaddr.subarray(0, 6), r.chaddr.subarray(0, 6));
        assert.equal(offer.file, 'ipxe.efi');
      }
    }
  });

  test('an undecodable packet is counted as malformed, and the daemon keeps answering', async () => {
    const before = await counter(daemon, { result: 'malformed' });
    client.send({ ...pxeRequest(), options: new Map() }, dhcpPort); // decodes fine, no type: ignored
    client.sendRaw(Buffer.alloc(100, 0xff), dhcpPort);
    await until(async () => (await counter(daemon, { result: 'malformed' })) === before + 1);
    const req = pxeRequest();
    client.send(req, dhcpPort);
    await client.reply(req.xid);
  });
});

describe('response delay', () => {
  test('a client whose secs already exceed the delay is answered at once; a younger one after the rest of the delay', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bg-delay-'));
    writeFileSync(join(root, 'ipxe.efi'), 'x');
    const client = await TestClient.open();
    const dhcpPort = await freePort();
    const config = validateConfig(
      {
        root,
        server: { bindAddress: '127.0.0.1', dhcpPort, pxePort: 0, clientPort: client.port, broadcastAddress: '127.0.0.1', responseDelaySeconds: 1 },
        tftp: { enabled: false },
        http: { enabled: false },
        store: { path: join(root, 'store.db') },
        log: { level: 'silent' },
      },
      'test',
    );
    const daemon = await startDaemon({ config, logger: createLogger('silent') });
    try {
      const old = pxeRequest({ secs: 4 });
      client.send(old, dhcpPort);
      await client.reply(old.xid);
      assert.equal(await counter(daemon, { result: 'delayed' }), 0);

      const young = pxeRequest({ secs: 0 });
      const sent = Date.now();
      client.send(young, dhcpPort);
      await until(async () => (await counter(daemon, { result: 'delayed' })) === 1);
      await client.reply(young.xid, 5000);
      assert.ok(Date.now() - sent >= 900, 'the reply waited for the configured delay');
    } finally {
      client.close();
      await daemon.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
