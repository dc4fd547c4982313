/**
 * Writes test/fixtures/firmware/<capture>.golden.json: the decode of every DHCP packet in each capture.
 * Run after a deliberate decoder change: `npx tsc -p tsconfig.json && node dist/test/fuzz/make-golden.js`,
 * then review the diff (the goldens were first checked against tshark's dissection, see the commit).
 */
import { writeFileSync } from 'node:fs';
import { decodeDhcp } from '../../daemon/protocol/dhcp/packet.js';
import { captureNames, dhcpPacketsOf, dhcpToJson, goldenPath, pxeToJson, type GoldenFile } from './dhcp-corpus.js';

for (const capture of captureNames()) {
  const golden: GoldenFile = {
    capture,
    note: 'Written by node dist/test/fuzz/make-golden.js; compared field by field in test/unit/dhcp-fixtures.test.ts.',
    packets: dhcpPacketsOf(capture).map((pkt) => {
      const p = decodeDhcp(pkt.payload);
      return { frame: pkt.frame, src: pkt.src, dst: pkt.dst, length: pkt.payload.length, decoded: dhcpToJson(p), pxe: pxeToJson(p) };
    }),
  };
  writeFileSync(goldenPath(capture), `${JSON.stringify(golden, null, 2)}\n`);
  console.log(`${goldenPath(capture)}: ${golden.packets.length} packets`);
}
