/**
 * Lab check, not a unit test (it needs tshark): compares every golden decode with Wireshark's own DHCP
 * dissection of the same capture, so the goldens are not only "what our decoder said once".
 * Run: `npx tsc -p tsconfig.json && node dist/test/fuzz/crosscheck-tshark.js`; exits 1 on any mismatch.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { FIRMWARE_DIR, captureNames, goldenPath, type GoldenFile } from './dhcp-corpus.js';

const FIELDS = ['frame.number', 'dhcp.id', 'dhcp.hw.mac_addr', 'dhcp.ip.server', 'dhcp.file', 'dhcp.server', 'dhcp.option.type', 'dhcp.option.length'];

interface TsharkRow {
  frame: number;
  xid: string;
  mac: string;
  siaddr: string;
  file: string;
  sname: string;
  codes: number[];
  lengths: number[];
}

function tsharkRows(capture: string): TsharkRow[] {
  const args = ['-r', `${FIRMWARE_DIR}${capture}`, '-Y', 'dhcp', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of FIELDS) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [frame, xid, mac, siaddr, file, sname, codes, lengths] = line.split('\t');
      const numbers = (s: string | undefined): number[] => (s ? s.split(',').map(Number) : []);
      return {
        frame: Number(frame),
        xid: xid ?? '',
        mac: (mac ?? '').split(',')[0] ?? '',
        siaddr: siaddr ?? '',
        file: file ?? '',
        sname: sname ?? '',
        // Wireshark lists END (and sometimes a trailing 0) as options of its own; the decoder does not.
        codes: numbers(codes).filter((c) => c !== 0 && c !== 255),
        lengths: numbers(lengths),
      };
    });
}

let mismatches = 0;
let compared = 0;
for (const capture of captureNames()) {
  const golden = JSON.parse(readFileSync(goldenPath(capture), 'utf8')) as GoldenFile;
  const rows = new Map(tsharkRows(capture).map((r) => [r.frame, r]));
  for (const pkt of golden.packets) {
    const row = rows.get(pkt.frame);
    const d = pkt.decoded;
    const ours = {
      xid: d.xid,
      mac: d.mac,
      siaddr: d.siaddr,
      file: d.file,
      sname: d.sname,
      codes: d.options.map((o) => o.code).join(','),
      lengths: d.options.map((o) => o.hex.length / 2).join(','),
    };
    const theirs = row && {
      xid: row.xid,
      mac: row.mac,
      siaddr: row.siaddr,
      file: row.file,
      sname: row.sname,
      codes: row.codes.join(','),
      lengths: row.lengths.slice(0, row.codes.length).join(','),
    };
    compared += 1;
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      mismatches += 1;
      console.log(`${capture} frame ${pkt.frame}: ours ${JSON.stringify(ours)}\n  tshark ${JSON.stringify(theirs)}`);
    }
  }
}
console.log(`compared ${compared} packets with tshark: ${mismatches} mismatches`);
process.exitCode = mismatches === 0 ? 0 : 1;
