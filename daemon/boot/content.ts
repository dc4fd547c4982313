/**
 * One answer for "client X asks for file Y", shared by the TFTP and HTTP doors: per-client iPXE scripts
 * are rendered through the policy; plain files are served when the policy does not refuse the client.
 */
import { readFile } from 'node:fs/promises';
import { resolveInRoot } from '../files/root.js';
import type { Gatekeeper } from './gatekeeper.js';
import type { ProfileConfig } from '../config/schema.js';
import { ipxeScriptPath, macFromScriptPath } from '../policy/target.js';
import type { ClientInfo, Decision, Door } from '../policy/types.js';
import type { ClientDirectory } from './clients.js';
import { scriptForDecision } from './scripts.js';

/**
 * The password gate as BootContent sees it. The boot path owns this seam and the password feature
 * implements it (features/password/gate.ts PasswordGate), so boot/ needs nothing from the feature.
 */
export interface ContentGate {
  file(req: GatedFileRequest): Promise<GatedFile>;
  script(client: ClientInfo, decision: Decision, vars: Record<string, string>): GatedScript;
}

export interface GatedFileRequest {
  door: 'tftp' | 'http';
  clientIp: string;
  /** The path as requested (a signed one included), relative or with leading separators. */
  path: string;
}

/** `allow`: serve `path` (a signed path stripped to the file); `refuse`: answer with `message`. */
export type GatedFile = { kind: 'allow'; path: string } | { kind: 'refuse'; reason: string; message: string };

/** `as-is`: render as without a gate; `vars`: render the template with these vars; `text`: send this script. */
export type GatedScript =
  | { kind: 'as-is' }
  | { kind: 'vars'; vars: Record<string, string> }
  | { kind: 'text'; text: string };

export type ContentAnswer =
  | { kind: 'file'; path: string; client: ClientInfo | null; decision: Decision | null }
  | { kind: 'content'; data: Buffer; client: ClientInfo; decision: Decision }
  | { kind: 'refuse'; reason: 'policy' | 'not-found'; message: string };

export interface ContentRequest {
  path: string;
  clientIp: string;
  door: Extract<Door, 'tftp' | 'http'>;
  /** The address the request reached us on (for `{{server}}` in scripts). */
  serverIp: string;
}

export interface ContentSettings {
  root: string;
  httpPort: number | null;
  scriptTransport: 'http' | 'tftp';
  /** How often a pending iPXE client asks again. */
  retrySeconds: number;
  profile(name: string): ProfileConfig | undefined;
}

/** Strips the leading separators both TFTP clients and URLs put in front of a path. */
function relative(path: string): string {
  return path.replace(/^[/\\]+/, '');
}

function anonymous(mac: string, ip: string): ClientInfo {
  return { mac, archCode: null, arch: null, httpBoot: false, ipxe: true, guid: null, guidSwapped: null, vendorClass: '', ip, door: 'ipxe-script' };
}

export class BootContent {
  constructor(
    private readonly gate: Gatekeeper,
    private readonly clients: ClientDirectory,
    private readonly settings: () => ContentSettings,
    private readonly passwords?: ContentGate,
  ) {}

  async answer(req: ContentRequest): Promise<ContentAnswer> {
    let rel = relative(req.path);
    const mac = macFromScriptPath(rel);
    if (mac) return this.script(mac, req);
    if (this.passwords) {
      // Password-gated files need an unlock; a signed path (`_signed/<token>/...`) is checked and stripped.
      const g = await this.passwords.file({ door: req.door, clientIp: req.clientIp, path: rel });
      if (g.kind === 'refuse') return { kind: 'refuse', reason: 'policy', message: g.message };
      rel = relative(g.path);
    }
    const knownMac = this.clients.macOfIp(req.clientIp);
    const known = knownMac ? this.clients.byMacAddress(knownMac) : undefined;
    if (!known) return { kind: 'file', path: rel, client: null, decision: null };
    const client: ClientInfo = { ...known, ip: req.clientIp, door: req.door };
    const decision = this.gate.decide(client, { file: rel });
    if (decision.kind === 'ignore') return { kind: 'refuse', reason: 'policy', message: 'Access violation' };
    return { kind: 'file', path: rel, client, decision };
  }

  private async script(mac: string, req: ContentRequest): Promise<ContentAnswer> {
    const s = this.settings();
    const known = this.clients.byMacAddress(mac);
    const client: ClientInfo = { ...(known ?? anonymous(mac, req.clientIp)), ipxe: true, ip: req.clientIp, door: 'ipxe-script' };
    this.clients.bind(req.clientIp, mac);
    const decision = this.gate.decide(client, { file: ipxeScriptPath(mac) });
    const profile = 'profile' in decision ? s.profile(decision.profile) : undefined;
    const template = profile ? await this.template(profile, s.root) : null;
    const http = s.httpPort === null ? '' : `http://${req.serverIp}:${s.httpPort}`;
    const tftp = `tftp://${req.serverIp}`;
    const vars = {
      server: req.serverIp,
      http,
      tftp,
      mac,
      // SMBIOS reading (what `-uuid` and dmidecode print); `guidwire` is the byte order on the wire.
      guid: client.guidSwapped ?? '',
      uuid: client.guidSwapped ?? '',
      guidwire: client.guid ?? '',
      arch: client.arch ?? '',
      profile: 'profile' in decision ? decision.profile : '',
      computer: ('computer' in decision && decision.computer) || '',
      script: `${s.scriptTransport === 'http' && http ? http : tftp}/${ipxeScriptPath(mac)}`,
    };
    const gated: GatedScript = this.passwords?.script(client, decision, vars) ?? { kind: 'as-is' };
    if (gated.kind === 'text') return { kind: 'content', data: Buffer.from(gated.text), client, decision };
    const text = scriptForDecision(decision, template, gated.kind === 'vars' ? { ...vars, ...gated.vars } : vars, s.retrySeconds);
    if (text === null) return { kind: 'refuse', reason: 'policy', message: 'Access violation' };
    return { kind: 'content', data: Buffer.from(text), client, decision };
  }

  /** The profile's template: inline, or a file under the root read fresh each time (admins edit it live). */
  private async template(profile: ProfileConfig, root: string): Promise<string | null> {
    if (profile.ipxeScript !== null) return profile.ipxeScript;
    if (profile.ipxeScriptFile === null) return null;
    const r = await resolveInRoot(root, profile.ipxeScriptFile);
    if (!r.ok) return null;
    try {
      return await readFile(r.abs, 'utf8');
    } catch {
      return null;
    }
  }
}
