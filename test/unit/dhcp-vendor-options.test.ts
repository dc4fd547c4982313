import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '../../daemon/protocol/errors.js';
import { DhcpOption, PxeVendorOption } from '../../daemon/protocol/dhcp/constants.js';
import {
  decodePxeOptions,
  decodeTlv,
  decodeVendorOptions,
  encodePxeOptions,
  encodeTlv,
  encodeVendorOptions,
  tlvEncodingLength,
  type PxeOptions,
} from '../../daemon/protocol/dhcp/vendor-options.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

function throwsBadOption(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DecodeError && e.code === 'ERR_DHCP_BAD_OPTION' && e.message === message);
}

test('dnsmasq BIOS option 43 (from the fixture): discovery control 8 and menu prompt "PXE"', () => {
  const block = bytes(6, 1, 8, 10, 4, 0, 0x50, 0x58, 0x45, 255);
  const raw = decodeVendorOptions(block);
  assert.deepEqual([...raw.keys()], [6, 10]);
  const pxe = decodePxeOptions(block);
  assert.equal(pxe.discoveryControl, 8);
  assert.deepEqual(pxe.menuPrompt, { timeout: 0, prompt: 'PXE' });
  assert.ok(encodePxeOptions(pxe).equals(block));
  assert.ok(encodeVendorOptions(raw).equals(block));
});

test('TLV: PAD skipped, END stops, missing END tolerated, repeats concatenated, values in order', () => {
  const m = decodeTlv(bytes(0, 71, 2, 0x80, 0x00, 0, 200, 1, 9, 71, 2, 0x00, 0x00, 255, 1, 1, 1), DhcpOption.VENDOR_SPECIFIC);
  assert.deepEqual([...m.keys()], [71, 200]);
  assert.equal(m.get(71)?.toString('hex'), '80000000');
  assert.equal(decodeTlv(bytes(6, 1, 3), DhcpOption.IPXE_ENCAP).get(6)?.toString('hex'), '03');
  assert.equal(decodeTlv(bytes(), DhcpOption.VENDOR_SPECIFIC).size, 0);
});

test('TLV errors name the parent option and the sub-option', () => {
  throwsBadOption(() => decodeVendorOptions(bytes(6, 1, 8, 71, 4, 0x80, 0)), 'option 43 sub-option 71 claims 4 bytes but only 2 remain');
  throwsBadOption(() => decodeTlv(bytes(0xb1, 5, 1), DhcpOption.IPXE_ENCAP), 'option 175 sub-option 177 claims 5 bytes but only 1 remain');
  throwsBadOption(() => decodeVendorOptions(bytes(6)), 'option 43 sub-option 6 has no length byte');
});

test('typed PXE sub-options with wrong shapes are coded errors', () => {
  throwsBadOption(() => decodePxeOptions(bytes(6, 2, 8, 8)), 'option 43 sub-option 6 is 2 bytes; expected 1');
  throwsBadOption(() => decodePxeOptions(bytes(71, 3, 0, 0, 0)), 'option 43 sub-option 71 is 3 bytes; expected 4');
  throwsBadOption(() => decodePxeOptions(bytes(10, 0)), 'option 43 sub-option 10 is 0 bytes; expected at least 1');
  throwsBadOption(
    () => decodePxeOptions(bytes(8, 7, 0x80, 0x00, 2, 10, 0, 0, 1)),
    'option 43 sub-option 8 server type 32768 claims 2 addresses but only 4 bytes remain',
  );
  throwsBadOption(() => decodePxeOptions(bytes(9, 2, 0, 0)), 'option 43 sub-option 9 is 2 bytes; expected type(2) length(1) entries');
  throwsBadOption(
    () => decodePxeOptions(bytes(9, 5, 0x80, 0x00, 9, 0x41, 0x42)),
    'option 43 sub-option 9 item type 32768 claims 9 bytes but only 2 remain',
  );
});

test('typed PXE options round-trip: boot servers, menu, prompt, boot item, other sub-options', () => {
  const o: PxeOptions = {
    discoveryControl: 7,
    bootServers: [
      { type: 0x8000, addresses: ['10.77.0.2', '10.77.0.3'] },
      { type: 0, addresses: [] },
    ],
    bootMenu: [
      { type: 0x8000, description: 'Install Windows' },
      { type: 0, description: 'Local disk' },
    ],
    menuPrompt: { timeout: 10, prompt: 'Press F8' },
    bootItem: { type: 0x8000, layer: 0 },
    other: new Map([[1, bytes(224, 1, 1, 1)]]),
  };
  const block = encodePxeOptions(o);
  assert.deepEqual([...decodeVendorOptions(block).keys()], [6, 8, 9, 10, 71, 1]);
  assert.equal(block[block.length - 1], PxeVendorOption.END);
  assert.deepEqual(decodePxeOptions(block), o);
});

test('encodeTlv splits values over 255 bytes, can omit END, and its length function agrees', () => {
  const big = Buffer.alloc(300, 7);
  const withEnd = encodeTlv(new Map([[9, big]]));
  assert.equal(withEnd.length, tlvEncodingLength(new Map([[9, big]])));
  assert.equal(withEnd.length, 2 + 255 + 2 + 45 + 1);
  assert.ok(decodeVendorOptions(withEnd).get(9)?.equals(big));
  const noEnd = encodeTlv(new Map([[1, bytes(1)]]), false);
  assert.deepEqual([...noEnd], [1, 1, 1]);
  assert.throws(() => encodeTlv(new Map([[255, bytes()]])), RangeError);
});

test('encodePxeOptions refuses values that do not fit', () => {
  const empty: PxeOptions = { discoveryControl: null, bootServers: null, bootMenu: null, menuPrompt: null, bootItem: null, other: new Map() };
  assert.deepEqual([...encodePxeOptions(empty)], [255]);
  assert.throws(() => encodePxeOptions({ ...empty, discoveryControl: 256 }), RangeError);
  assert.throws(() => encodePxeOptions({ ...empty, bootItem: { type: 70000, layer: 0 } }), RangeError);
  assert.throws(() => encodePxeOptions({ ...empty, bootServers: [{ type: 1, addresses: ['10.0.0.256'] }] }), RangeError);
  assert.throws(() => encodePxeOptions({ ...empty, menuPrompt: { timeout: 1, prompt: '\u20ac' } }), RangeError);
});
