/**
 * The OACK carries only options the client asked for (RFC 2347): PXELINUX aborts a transfer whose OACK
 * names an option it did not request. A property over random option sets, plus the requests the real
 * loaders send (PXELINUX, GRUB, shim through EDK2, iPXE).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { negotiate, type NegotiationLimits } from '../../daemon/tftp/negotiate.js';
import { TFTP_OPTION } from '../../daemon/protocol/tftp/codec.js';

const LIMITS: NegotiationLimits = { blockSizeMax: 1468, windowSizeMax: 64, inflightBytesMax: 98304, timeoutMs: 1000 };
const NAMES = [...Object.values(TFTP_OPTION), 'multicast', 'rollover', 'utimeout', 'x-unknown'];

test('every OACK option was in the request', () => {
  const value = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.string({ maxLength: 6 }));
  fc.assert(fc.property(fc.dictionary(fc.constantFrom(...NAMES), value), fc.integer({ min: 0, max: 1 << 30 }), (options, size) => {
    const n = negotiate(options, size, LIMITS);
    if (!n.ok || n.params.oack === null) return;
    for (const key of Object.keys(n.params.oack)) assert.ok(key in options, `OACK names ${key}, not requested in ${JSON.stringify(options)}`);
  }), { numRuns: 2000 });
});

test('what the real loaders ask is answered with exactly those options', () => {
  const rows: Array<[string, Record<string, string>, string[]]> = [
    ['PXELINUX', { tsize: '0', blksize: '1408' }, ['blksize', 'tsize']],
    ['GRUB', { blksize: '1024', tsize: '0' }, ['blksize', 'tsize']],
    ['EDK2 (shim, OVMF)', { tsize: '0', blksize: '1468', windowsize: '4' }, ['blksize', 'tsize', 'windowsize']],
    ['iPXE', { blksize: '1432', tsize: '0' }, ['blksize', 'tsize']],
    ['shim (no options)', {}, []],
  ];
  for (const [who, options, keys] of rows) {
    const n = negotiate(options, 1234, LIMITS);
    assert.ok(n.ok, who);
    assert.deepEqual(Object.keys(n.params.oack ?? {}).sort(), keys, who);
  }
});
