/**
 * The appliance the console's browser tests drive: a daemon on 127.0.0.1 (DHCP on a free port answered
 * to a TestClient, TFTP and HTTP on ephemeral ports), a boot root with the given files, admin tokens,
 * a `lab` profile and unknown machines held as pending unless the test says otherwise.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { validateConfig } from '../../daemon/config/load.js';
import { createLogger } from '../../daemon/log.js';
import { startDaemon, type Daemon } from '../../daemon/main.js';
import { TestClient, freePort, pxeRequest } from '../unit/helpers/dhcp-client.js';

export const WAIT_MS = Number(process.env.CONSOLE_WAIT_MS ?? 120_000);
export const ARTIFACTS = resolve('test/artifacts');

export interface ConsoleRig {
  dir: string;
  root: string;
  storePath: string;
  daemon: Daemon;
  client: TestClient;
  dhcpPort: number;
  close(): Promise<void>;
}

export interface ConsoleRigOptions {
  /** Temporary folder prefix. */
  prefix: string;
  /** Lines of the admin tokens file (`token` or `token:ro`). */
  tokens: string[];
  /** Files of the boot root; a 4 KiB ipxe.efi when not given. */
  files?: Record<string, Buffer>;
  /** Config keys merged over the rig's (admin is merged with the tokens file, profiles replace `lab`). */
  config?: Record<string, unknown>;
}

export async function startConsoleRig(opts: ConsoleRigOptions): Promise<ConsoleRig> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  const root = join(dir, 'root');
  mkdirSync(root);
  for (const [name, data] of Object.entries(opts.files ?? { 'ipxe.efi': Buffer.alloc(4096, 7) })) writeFileSync(join(root, name), data);
  const tokensFile = join(dir, 'tokens');
  writeFileSync(tokensFile, `${opts.tokens.join('\n')}\n`);
  const storePath = join(dir, 'store.db');
  const client = await TestClient.open();
  try {
    const dhcpPort = await freePort();
    const { admin, ...rest } = opts.config ?? {};
    const config = validateConfig({
      root,
      server: { bindAddress: '127.0.0.1', dhcpPort, pxePort: 0, clientPort: client.port, broadcastAddress: '127.0.0.1' },
      tftp: { port: 0 },
      http: { port: 0, address: '127.0.0.1' },
      store: { path: storePath },
      profiles: { lab: { description: 'lab image', bootFiles: { 'efi-x64': 'ipxe.efi' } } },
      policy: { unknown: { action: 'pending', profile: 'lab' } },
      log: { level: 'silent' },
      ...rest,
      admin: { tokensFile, ...(admin as Record<string, unknown> | undefined) },
    }, 'test');
    const daemon = await startDaemon({ config, logger: createLogger('silent') });
    return {
      dir, root, storePath, daemon, client, dhcpPort,
      close: async () => {
        client.close();
        await daemon.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    client.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A UEFI x64 PXE DISCOVER from `mac` (with an SMBIOS GUID of its own, made from the MAC: a shared one
 * would make the machines one computer); the boot file answered, or '' when none came within 3 s.
 */
export async function discover(rig: Pick<ConsoleRig, 'client' | 'dhcpPort'>, mac: string): Promise<{ file: string; ms: number }> {
  const req = pxeRequest({ mac, arch: 7, guid: Buffer.from(`00112233445566778899${mac.replace(/:/g, '')}`, 'hex') });
  const t0 = Date.now();
  rig.client.send(req, rig.dhcpPort);
  try {
    const reply = await rig.client.reply(req.xid, 3000);
    return { file: reply.file, ms: Date.now() - t0 };
  } catch {
    return { file: '', ms: Date.now() - t0 };
  }
}
