import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileList, listHasGuid, listHasMac, normalizeMac, normalizeMacPattern } from '../../daemon/policy/identity.js';
import { comparablePath, isCompletionMarker } from '../../daemon/policy/boot-once.js';
import { localBootIpxeScript, pendingIpxeScript } from '../../daemon/policy/scripts.js';
import { validateConfig } from '../../daemon/config/load.js';

test('normalizeMac: the forms admins paste', () => {
  const rows: Array<[string, string | null]> = [
    ['52:54:00:AB:CD:EF', '52:54:00:ab:cd:ef'],
    ['52-54-00-ab-cd-ef', '52:54:00:ab:cd:ef'],
    ['5254.00ab.cdef', '52:54:00:ab:cd:ef'],
    ['525400ABCDEF', '52:54:00:ab:cd:ef'],
    ['  52:54:00:ab:cd:ef ', '52:54:00:ab:cd:ef'],
    ['52:54:00:ab:cd', null],
    ['52:54:00:ab:cd:ef:01', null],
    ['52:54:00:ab:cd:eg', null],
    ['52:54:00-ab:cd:ef:', null],
    ['', null],
  ];
  for (const [input, want] of rows) assert.equal(normalizeMac(input), want, input);
});

test('normalizeMacPattern: OUI and longer prefixes, not 1-2 octets', () => {
  assert.equal(normalizeMacPattern('00-15-5D'), '00:15:5d');
  assert.equal(normalizeMacPattern('00:15:5d:01'), '00:15:5d:01');
  assert.equal(normalizeMacPattern('00:15'), null);
});

test('compileList: exact, prefix and GUID lookups', () => {
  const list = compileList({ macs: ['00:15:5D', '52:54:00:77:00:01', '08:00:27:aa:bb'], guids: ['{00112233-4455-6677-8899-AABBCCDDEE01}'] });
  assert.equal(list.empty, false);
  assert.ok(listHasMac(list, '00:15:5d:12:34:56'));
  assert.ok(listHasMac(list, '52:54:00:77:00:01'));
  assert.ok(!listHasMac(list, '52:54:00:77:00:02'));
  assert.ok(listHasMac(list, '08:00:27:aa:bb:01'));
  assert.ok(!listHasMac(list, '08:00:27:aa:bc:01'));
  assert.ok(listHasGuid(list, '00112233-4455-6677-8899-aabbccddee01'));
  assert.ok(listHasGuid(list, '33221100-5544-7766-8899-aabbccddee01'), 'the other byte order matches too');
  assert.ok(!listHasGuid(list, null));
  assert.equal(compileList({ macs: [], guids: [] }).empty, true);
});

test('boot-once marker: compared as the Windows boot manager spells it', () => {
  assert.equal(comparablePath('\\Sources\\BOOT.WIM'), 'sources/boot.wim');
  assert.equal(comparablePath('//sources//boot.wim'), 'sources/boot.wim');
  const cfg = validateConfig({ profiles: { w: { kind: 'required', bootOnceMarker: 'sources/boot.wim' }, n: {} } }, 't');
  assert.ok(isCompletionMarker(cfg.profiles.w!, '\\sources\\Boot.wim'));
  assert.ok(!isCompletionMarker(cfg.profiles.w!, 'sources/boot.sdi'));
  assert.ok(!isCompletionMarker(cfg.profiles.n!, 'sources/boot.wim'), 'no marker configured: nothing is one');
});

test('iPXE scripts: exit to local disk; pending waits and chains itself again', () => {
  // UEFI exits with a failure status (the firmware then tries its next boot option), BIOS with 0.
  assert.match(localBootIpxeScript(), /^#!ipxe\n[\s\S]*\niseq \$\{platform\} efi && exit 1 \|\|\nexit 0\n$/);
  const s = pendingIpxeScript({ mac: '52:54:00:77:00:01', retrySeconds: 30, retryUrl: 'http://10.77.0.2:8080/ipxe/52-54-00-77-00-01.ipxe' });
  assert.match(s, /^#!ipxe\n/);
  assert.match(s, /sleep 30\n/);
  assert.match(s, /chain --replace --autofree http:\/\/10\.77\.0\.2:8080\/ipxe\/52-54-00-77-00-01\.ipxe \|\| goto retry/);
  assert.throws(() => pendingIpxeScript({ mac: '52:54:00:77:00:01', retrySeconds: 30, retryUrl: 'http://x/a\nshell' }), TypeError);
  assert.throws(() => pendingIpxeScript({ mac: 'x', retrySeconds: 30, retryUrl: 'http://x/a' }), TypeError);
});
