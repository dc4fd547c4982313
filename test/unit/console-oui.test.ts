/**
 * MAC vendors from the IEEE registry (Debian's ieee-data oui.csv): the CSV reader copes with quoting,
 * CRLF, a BOM and hostile or truncated input without throwing; only MA-L rows of six hex digits with a
 * name count; the file is read once, lazily; no file means no vendor and no error; the console's
 * Pending and Computers rows carry the vendor.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { validateConfig } from '../../daemon/config/load.js';
import { consoleFeature } from '../../daemon/features/console/index.js';
import { csvRecords, OuiVendors, parseOui, parseOuiSliced } from '../../daemon/features/console/oui.js';
import { createLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/store/db.js';

const dir = mkdtempSync(join(tmpdir(), 'bg-oui-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = 'Registry,Assignment,Organization Name,Organization Address\r\n'
  + 'MA-L,525400,QEMU virtual NIC,nowhere\r\n'
  + 'MA-L,F4BD9E,"Cisco Systems, Inc",80 West Tasman Drive San Jose CA US 94568 \r\n'
  + 'MA-L,00d0ef,"The ""Quoted"" Co","Line one\nline two"\r\n'
  + 'MA-L,3C5AB4,Google LLC,"1600 Amphitheatre Parkway Mountain View CA US 94043 "';

test('the registry CSV: quoted commas, doubled quotes, line breaks inside quotes, CRLF and the last line without one', () => {
  const t = parseOui(`\ufeff${GOOD}`);
  assert.deepEqual([...t.entries()], [
    ['525400', 'QEMU virtual NIC'], ['F4BD9E', 'Cisco Systems, Inc'], ['00D0EF', 'The "Quoted" Co'], ['3C5AB4', 'Google LLC'],
  ]);
});

test('hostile and short input: never throws, keeps only well-formed MA-L rows', () => {
  const hostile = [
    '', 'Registry', 'MA-L', 'MA-L,', 'MA-L,525400', 'MA-L,525400,', 'MA-L,52540,Short prefix,x', 'MA-L,5254000,Long prefix,x',
    'MA-L,ZZZZZZ,Not hex,x', 'MA-M,0055DA1,A 28-bit block,x', 'MA-S,70B3D5123,A 36-bit block,x', ',,,,',
    'MA-L,112233,"Ctl\u0000\u0007chars\u001b[31m red",x', `MA-L,445566,${'N'.repeat(10_000)},x`,
    'MA-L,778899,First wins,x', 'MA-L,778899,Second loses,x', 'MA-L , aabbcc , Spaced ,x',
    'MA-L,DDEEFF,"unterminated quote, to the end of the file',
  ].join('\n');
  const t = parseOui(hostile);
  assert.equal(t.get('112233'), 'Ctl chars [31m red');
  assert.equal(t.get('445566')?.length, 120);
  assert.equal(t.get('778899'), 'First wins');
  assert.equal(t.get('AABBCC'), 'Spaced');
  assert.equal(t.get('DDEEFF'), 'unterminated quote, to the end of the file');
  assert.deepEqual([...t.keys()].sort(), ['112233', '445566', '778899', 'AABBCC', 'DDEEFF']);
  for (const junk of ['"', '""', '\n\n\n', '"a""', 'a,"b', '\r', ',"\n"']) assert.doesNotThrow(() => [...csvRecords(junk)]);
  assert.equal(parseOui('"').size, 0);
  assert.equal(parseOui('\0\0\0\xff\xfe').size, 0);
});

test('read once, when first wanted; no file or no path: no vendor and no error; random (locally administered) MACs have none', async () => {
  const file = join(dir, 'oui.csv');
  writeFileSync(file, GOOD);
  const v = new OuiVendors(() => file);
  assert.equal(v.vendorOf('F4:BD:9E:01:02:03'), null, 'nothing before it is read');
  await v.loaded();
  assert.equal(v.vendorOf('F4:BD:9E:01:02:03'), 'Cisco Systems, Inc');
  assert.equal(v.vendorOf('f4-bd-9e-01-02-03'), 'Cisco Systems, Inc');
  writeFileSync(file, 'MA-L,F4BD9E,Changed,x\n');
  await v.loaded();
  assert.equal(v.vendorOf('f4:bd:9e:00:00:00'), 'Cisco Systems, Inc', 'not read again');
  v.reset();
  await v.loaded();
  assert.equal(v.vendorOf('f4:bd:9e:00:00:00'), 'Changed');
  assert.equal(v.vendorOf('52:54:00:12:34:56'), null, '52 has the locally administered bit');
  assert.equal(v.vendorOf('00:11:22:33:44:55'), null, 'unknown prefix');
  assert.equal(v.vendorOf('zz'), null);
  for (const path of [join(dir, 'missing.csv'), null, dir]) {
    const none = new OuiVendors(() => path);
    await none.loaded();
    assert.equal(none.vendorOf('f4:bd:9e:00:00:00'), null, String(path));
  }
  // The large registry parsed in slices gives what the one-go parse gives.
  const big = Array.from({ length: 5000 }, (_, i) => `MA-L,${i.toString(16).toUpperCase().padStart(6, '0')},Vendor ${i},x`).join('\n');
  assert.deepEqual([...(await parseOuiSliced(big)).entries()], [...parseOui(big).entries()]);
});

test('the console\'s Pending and Computers rows name the vendor; without the file the column is empty', async () => {
  const file = join(dir, 'oui-console.csv');
  writeFileSync(file, GOOD);
  const tokensFile = join(dir, 'tokens');
  writeFileSync(tokensFile, 'rw-token-0123456789abcdef\n');
  for (const [ouiFile, vendor] of [[file, 'Cisco Systems, Inc'], [join(dir, 'absent.csv'), null]] as const) {
    const cfg = validateConfig({ admin: { tokensFile, ouiFile }, profiles: { winpe: {} }, policy: { unknown: { action: 'pending', profile: 'winpe' } } }, 'test');
    const store = openStore(':memory:');
    const attached = consoleFeature.attach({ store, config: () => cfg, logger: createLogger('silent'), registry: new Registry(), macOfIp: () => undefined, sessions: () => [] });
    const app = Fastify();
    try {
      await attached.mount(app);
      store.devices.seen({ mac: 'f4:bd:9e:00:00:01', guid: null, arch: 'bios', archCode: 0, vendorClass: 'PXEClient', ip: null, firstSeen: 1, lastSeen: 2, attempts: 1 }, true);
      store.computers.insert({ name: 'PC-1', macs: ['f4:bd:9e:00:00:02'], guid: null, profile: 'winpe', kind: null, notes: '', sourceComputer: null }, 1);
      const signIn = await app.inject({ method: 'POST', url: '/console/api/session', payload: { token: 'rw-token-0123456789abcdef' } });
      const cookie = String(signIn.headers['set-cookie']).split(';')[0] as string;
      const pending = (await app.inject({ method: 'GET', url: '/console/api/pending', headers: { cookie } })).json() as { devices: Array<{ vendor: string | null }> };
      assert.deepEqual(pending.devices.map((d) => d.vendor), [vendor]);
      const computers = (await app.inject({ method: 'GET', url: '/console/api/computers', headers: { cookie } })).json() as { computers: Array<{ vendor: string | null }> };
      assert.deepEqual(computers.computers.map((c) => c.vendor), [vendor]);
    } finally {
      attached.close?.();
      await app.close();
      store.close();
    }
  }
});
