/** The dotted-quad helpers the codec and the reply builder use: strict parsing, exact formatting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpv4, ipv4Bytes, parseIpv4 } from '../../daemon/protocol/dhcp/ipv4.js';

/** The definition, written the slow obvious way: four decimal octets 0..255 without leading zeros. */
function reference(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((v, p) => v * 256 + Number(p), 0);
}

test('parseIpv4 takes strict dotted quads', () => {
  assert.equal(parseIpv4('0.0.0.0'), 0);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('10.88.0.2'), 0x0a580002);
  assert.equal(parseIpv4('192.168.100.1'), 0xc0a86401);
});

test('parseIpv4 refuses everything else', () => {
  for (const bad of [
    '', '.', '...', '1.2.3', '1.2.3.4.5', '1.2.3.', '.1.2.3', '1..2.3', '1.2.3.4.', '256.0.0.1', '1.2.3.256', '1.2.3.1000',
    '01.2.3.4', '1.2.3.04', '00.0.0.0', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.-4', '+1.2.3.4', '1.2.3.4x', 'a.b.c.d', '1.2.3.4\0',
    '１.2.3.4', '0x1.2.3.4', '1e2.2.3.4',
  ]) {
    assert.equal(parseIpv4(bad), null, JSON.stringify(bad));
  }
});

test('parseIpv4 agrees with the definition on random and mutated inputs', () => {
  const alphabet = '0123456789..........x -+';
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 20000; i++) {
    let text: string;
    if (i % 2 === 0) {
      text = Array.from({ length: 1 + rnd(18) }, () => alphabet[rnd(alphabet.length)]).join('');
    } else {
      const octets = Array.from({ length: 3 + rnd(3) }, () => String(rnd(300)));
      text = octets.join('.');
      if (rnd(4) === 0) text = text.replace(/\d/, '0$&');
    }
    assert.equal(parseIpv4(text), reference(text), JSON.stringify(text));
  }
});

test('ipv4Bytes and formatIpv4 round-trip, and ipv4Bytes throws a RangeError on a bad address', () => {
  const b = ipv4Bytes('10.77.0.2');
  assert.deepEqual([...b], [10, 77, 0, 2]);
  assert.equal(formatIpv4(b, 0), '10.77.0.2');
  assert.throws(() => ipv4Bytes('10.77.0'), RangeError);
});
