/**
 * A PXE client's DHCP side, run inside a client namespace by test/e2e/subnets-host.test.ts (which cannot
 * enter a namespace itself): sends the requests it is given from port 68 with the lab's DHCP client
 * helpers, waits for the replies it must get, and prints what arrived and when as one JSON line.
 *
 *   node subnets-probe.js dhcp '{"sends":[{"mac":"..","to":"255.255.255.255","port":67}],"waitFor":[0]}'
 *   node subnets-probe.js tftp-rrq '{"to":"10.81.1.1","port":69}'   -> answered | refused (ICMP port unreachable)
 */
import dgram from 'node:dgram';
import { DhcpMessageType, DhcpOption } from '../../daemon/protocol/dhcp/constants.js';
import { encodeTftp } from '../../daemon/protocol/tftp/codec.js';
import { TestClient, pxeRequest } from '../unit/helpers/dhcp-client.js';

interface Send { mac: string; to: string; port: number; type?: 'discover' | 'request'; ciaddr?: string; arch?: number }

/** The bound is a safety net for a reply that never comes, not an expected time. */
const SAFETY_MS = 5 * 60_000;

function ipOf(buf: Buffer | undefined): string | null {
  return buf && buf.length === 4 ? [...buf].join('.') : null;
}

async function dhcp(spec: { sends: Send[]; waitFor: number[] }): Promise<unknown> {
  const client = await TestClient.open('0.0.0.0', 68);
  try {
    const sent: Array<{ xid: number; at: number }> = [];
    for (const s of spec.sends) {
      const req = pxeRequest({ mac: s.mac, arch: s.arch ?? 7, type: s.type === 'request' ? DhcpMessageType.REQUEST : DhcpMessageType.DISCOVER, ciaddr: s.ciaddr ?? '0.0.0.0' });
      sent.push({ xid: req.xid, at: performance.now() });
      client.send(req, s.port, s.to);
    }
    const arrived = new Map<number, number>();
    for (const i of spec.waitFor) {
      const xid = sent[i]?.xid ?? 0;
      await client.reply(xid, SAFETY_MS);
      if (!arrived.has(xid)) arrived.set(xid, performance.now());
    }
    const replies = client.replies.map((r) => ({
      xid: r.xid,
      send: sent.findIndex((x) => x.xid === r.xid),
      afterMs: arrived.has(r.xid) ? Math.round((arrived.get(r.xid) as number) - (sent.find((x) => x.xid === r.xid)?.at ?? 0)) : null,
      type: r.options.get(DhcpOption.MESSAGE_TYPE)?.[0] ?? null,
      serverId: ipOf(r.options.get(DhcpOption.SERVER_ID)),
      siaddr: r.siaddr,
      file: r.file,
    }));
    return { replies };
  } finally {
    client.close();
  }
}

/** An RRQ on a connected socket: a reply, or the ICMP port unreachable the kernel reports as ECONNREFUSED. */
async function tftpRrq(spec: { to: string; port: number }): Promise<unknown> {
  const sock = dgram.createSocket('udp4');
  try {
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('no event'), SAFETY_MS);
      sock.on('message', () => { clearTimeout(timer); resolve('answered'); });
      sock.on('error', (err: NodeJS.ErrnoException) => { clearTimeout(timer); resolve(err.code === 'ECONNREFUSED' ? 'refused' : `error ${err.code ?? err.message}`); });
      sock.connect(spec.port, spec.to, () => sock.send(encodeTftp({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: {} })));
    });
    return { outcome };
  } finally {
    sock.close();
  }
}

const [mode, json] = process.argv.slice(2);
// Without a mode (a test runner given the whole folder loads every file) there is nothing to do.
if (mode !== undefined) {
  const spec = JSON.parse(json ?? '{}') as never;
  const result = mode === 'dhcp' ? await dhcp(spec) : mode === 'tftp-rrq' ? await tftpRrq(spec) : { error: `unknown mode ${mode}` };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
