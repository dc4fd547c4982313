/**
 * Reading `store.url` as libpq would: host lists, ports, target_session_attrs, sslmode; and hostile
 * input refused with a clear error naming store.url that never shows the password.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../daemon/store/db.js';
import { parsePgUrl, redactUrl } from '../../daemon/store/pg-conn.js';

test('a host list with ports and target_session_attrs is read in order', () => {
  const u = parsePgUrl('postgres://u@db1:5432,db2:5433/bootgate?target_session_attrs=read-write');
  assert.deepEqual(u.hosts, [{ host: 'db1', port: 5432 }, { host: 'db2', port: 5433 }]);
  assert.equal(u.user, 'u');
  assert.equal(u.password, null);
  assert.equal(u.database, 'bootgate');
  assert.equal(u.targetSessionAttrs, 'read-write');
  assert.equal(u.sslmode, 'prefer', 'libpq\'s default');

  const v6 = parsePgUrl('postgresql://u:p%40ss@[::1]:6000,db3/x?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=1');
  assert.deepEqual(v6.hosts, [{ host: '::1', port: 6000 }, { host: 'db3', port: 5432 }]);
  assert.equal(v6.password, 'p@ss');
  assert.equal(v6.sslmode, 'verify-full');
  assert.equal(v6.sslrootcert, '/etc/ca.pem');
  assert.equal(v6.connectTimeoutMs, 2000, 'libpq counts less than 2 s as 2 s');

  // Unix socket folders in ?host=, one port for all of them, as libpq.
  const sock = parsePgUrl('postgres://postgres@localhost:7000/bootgate?host=%2Ftmp%2Fa,%2Ftmp%2Fb&target_session_attrs=prefer-standby');
  assert.deepEqual(sock.hosts, [{ host: '/tmp/a', port: 7000 }, { host: '/tmp/b', port: 7000 }]);
  assert.equal(sock.targetSessionAttrs, 'prefer-standby');
  const ports = parsePgUrl('postgres:///bootgate?host=a,b&port=1,2');
  assert.deepEqual(ports.hosts, [{ host: 'a', port: 1 }, { host: 'b', port: 2 }]);
  assert.deepEqual(parsePgUrl('postgres://').hosts, [{ host: 'localhost', port: 5432 }]);
  for (const attrs of ['any', 'read-only', 'primary', 'standby']) assert.equal(parsePgUrl(`postgres://h/d?target_session_attrs=${attrs}`).targetSessionAttrs, attrs);
});

test('hostile store.url values are refused with a reason, and the password never shows', () => {
  const bad: Array<[string, RegExp]> = [
    ['postgres://u:secret@db1,,db2/x', /host 2 of the host list is empty/],
    ['postgres://u:secret@db1,/x', /host 2 of the host list is empty/],
    ['postgres://u:secret@db1:99999/x', /port 99999 is out of range/],
    ['postgres://u:secret@db1:0/x', /port 0 is out of range/],
    ['postgres://u:secret@db1:54a2/x', /port "54a2" is not a number/],
    ['postgres://u:secret@db1:/x', /port "" is not a number/],
    ['postgres://u:secret@:5432/x', /has a port but no name/],
    ['postgres://u:secret@[::1/x', /unclosed \[/],
    ['postgres://u:secret@[nothost]:5/x', /not an IPv6 address/],
    ['postgres://u:secret@[::1]x/x', /text after "\]"/],
    ['postgres://u:secret@db1,db2,db3/x?port=1,2', /3 hosts but 2 ports/],
    ['postgres://u:secret@db1/x?target_session_attrs=read-wrte', /target_session_attrs "read-wrte" is not one of any, read-write/],
    ['postgres://u:secret@db1/x?sslmode=maybe', /sslmode "maybe" is not one of disable, allow, prefer, require, verify-ca, verify-full/],
    ['postgres://u:secret@db1/x?sslmode=verify-ca', /verify-ca needs sslrootcert/],
    ['postgres://u:secret@db1/x?sslmode=require&sslmode=disable', /sslmode is given twice/],
    ['postgres://u:secret@db1/x?nosuch=1', /unknown parameter "nosuch"/],
    ['postgres://u:secret@db1/x?sslmode', /parameter "sslmode" has no value/],
    ['postgres://u:secret@db1/x?connect_timeout=-1', /connect_timeout "-1" is not a whole number/],
    ['postgres://u:secret@db%zz/x', /broken %-escape/],
    ['postgres://u:secret@db1/x%2Fy', /database name holds a "\/"/],
    ['postgres://u:secret@db1/x#frag', /#fragment/],
    ['postgres://u:secret@db1/x?host=a,,b', /host 2 of the host= list is empty/],
    ['postgres://u:secret@db 1/x', /spaces or control characters/],
    ['postgres://u:secret@db1/x\u0000', /spaces or control characters/],
    [`postgres://u:secret@${Array.from({ length: 17 }, (_, i) => `h${i}`).join(',')}/x`, /17 hosts; at most 16/],
    [`postgres://u:secret@db1/${'x'.repeat(5000)}`, /longer than 4096 characters/],
  ];
  for (const [url, why] of bad) {
    assert.throws(() => parsePgUrl(url), (e: Error) => why.test(e.message) && !e.message.includes('secret'), url.slice(0, 80));
    assert.throws(() => openStore(url), (e: Error) => e.name === 'StoreError' && e.message.startsWith('store.url postgres://u:***@')
      && why.test(e.message) && !e.message.includes('secret'), `openStore ${url.slice(0, 80)}`);
  }
  assert.equal(redactUrl('postgres://u:secret@db1/x?password=hunter2&sslmode=require'), 'postgres://u:***@db1/x?password=***&sslmode=require');
});
