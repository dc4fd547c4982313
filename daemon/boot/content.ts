/**
 * One answer for "client X asks for file Y", shared by the TFTP and HTTP doors: per-client iPXE scripts
 * are rendered through the policy; plain files are served when the policy does not refuse the client.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requestComponents, resolveInRoot } from '../files/root.js';
import type { Gatekeeper } from './gatekeeper.js';
import type { BootgateConfig, ProfileConfig } from '../config/schema.js';
import { notServedReason } from '../files/servable.js';
import { choiceFromScriptPath, ipxeChoicePath, ipxeScriptPath, macFromScriptPath, menuProfileNames } from '../policy/target.js';
import type { ClientInfo, Decision, Door } from '../policy/types.js';
import type { ClientDirectory } from './clients.js';
import { menuScript, menuText } from './menu.js';
import { grubConfig, loaderConfigPath, pxelinuxConfig, redactLoaderPath, type GrubPasswordStep, type LoaderInput } from './loader-config.js';
import { PxelinuxPrompts, promptRequest, type PxelinuxPrompt } from './pxelinux-prompt.js';
import { scriptForDecision } from './scripts.js';
import { TFTP_ERROR } from '../protocol/tftp/codec.js';
import type { TftpAnswer } from '../tftp/server.js';

/** A plain file asked for by a client, as a gate sees it. */
export interface FileRequest {
  door: 'tftp' | 'http';
  clientIp: string;
  /** The path as requested (a signed one included), relative or with leading separators. */
  path: string;
}

/** `allow` serves `path` (a signed path comes back unsigned); `refuse` says why. */
export type FileGate = { kind: 'allow'; path: string } | { kind: 'refuse'; reason: string; message: string };

/** `as-is`: render as without a gate; `vars`: render the template with these vars; `text`: send this script. */
export type ScriptGate = { kind: 'as-is' } | { kind: 'vars'; vars: Record<string, string> } | { kind: 'text'; text: string };

/** A typed password checked for a client (the GRUB form's Tab); `door` is where it arrived. */
export interface PasswordAttempt {
  mac: string;
  ip: string;
  profile: string;
  computer: string | null;
  password: string;
  door: 'tftp' | 'http';
}

/** What a check says (the password feature's AttemptOutcome, as far as a door needs it). */
export type PasswordCheck =
  | { result: 'ok' }
  | { result: 'wrong'; triesLeft: number; lockedOut: boolean; retryAfterMs?: number }
  | { result: 'locked'; retryAfterMs: number }
  | { result: 'no-password' }
  | { result: 'busy' };

/** A gate on what the doors serve: the password feature's PasswordGate is one. */
export interface ContentGate {
  file(req: FileRequest): Promise<FileGate>;
  script(client: ClientInfo, decision: Decision, vars: Record<string, string>): ScriptGate;
  /** Checks a password typed into a boot loader's form (same lockouts, audit and metrics as iPXE's). */
  attempt(req: PasswordAttempt): Promise<PasswordCheck>;
}

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
  /** Every profile (the menu lists those with a script; their template files are never served raw). */
  profiles: Record<string, ProfileConfig>;
  menu: BootgateConfig['menu'];
  version: string;
}

/** The template files profiles name: rendered per client, never served raw. */
export function templateFiles(profiles: Record<string, ProfileConfig>): string[] {
  return Object.values(profiles).flatMap((p) => (p.ipxeScriptFile === null ? [] : [p.ipxeScriptFile]));
}

/** Strips the leading separators both TFTP clients and URLs put in front of a path. */
function relative(path: string): string {
  return path.replace(/^[/\\]+/, '');
}

function anonymous(mac: string, ip: string): ClientInfo {
  return { mac, archCode: null, arch: null, httpBoot: false, ipxe: true, guid: null, guidSwapped: null, vendorClass: '', ip, door: 'ipxe-script' };
}

/** What a door logs instead of a word typed at PXELINUX's password prompt. */
export const PXELINUX_INPUT_SHOWN = 'pxelinux/password/…';

const NOT_FOUND = { kind: 'refuse', reason: 'not-found', message: 'File not found' } as const;

/** Whole seconds of a wait, at least one (what PXELINUX's prompt says). */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export class BootContent {
  /** Machines at PXELINUX's password prompt (their TFTP requests may carry what they typed). */
  readonly prompts: PxelinuxPrompts;

  constructor(
    private readonly gate: Gatekeeper,
    private readonly clients: ClientDirectory,
    private readonly settings: () => ContentSettings,
    private readonly passwords?: ContentGate,
    now: () => number = Date.now,
  ) {
    this.prompts = new PxelinuxPrompts(now);
  }

  /**
   * What the TFTP door logs for a request: a GRUB form's path without its attempt; from a machine at
   * PXELINUX's prompt, a name in its directory that is no file (what was typed) as PXELINUX_INPUT_SHOWN.
   * Synchronous (the door logs before it answers): a name whose case differs from the file's is hidden too.
   */
  redactTftp(path: string, clientIp: string): string {
    const grub = redactLoaderPath(path);
    if (grub !== path) return grub;
    const prompt = this.prompts.at(clientIp, this.clients.macOfIp(clientIp));
    if (!prompt || promptRequest(path, prompt.dir).kind === 'other') return path;
    const parts = requestComponents(this.settings().root, path);
    if (!Array.isArray(parts) || parts.length === 0) return PXELINUX_INPUT_SHOWN;
    try {
      return statSync(join(this.settings().root, ...parts)).isFile() ? path : PXELINUX_INPUT_SHOWN;
    } catch {
      return PXELINUX_INPUT_SHOWN;
    }
  }

  async answer(req: ContentRequest): Promise<ContentAnswer> {
    let rel = relative(req.path);
    const mac = macFromScriptPath(rel);
    if (mac) return this.script(mac, req);
    const choice = choiceFromScriptPath(rel);
    if (choice) return this.script(choice.mac, req, choice.profile);
    const loader = loaderConfigPath(rel);
    // A configuration the admin put in the root is served as it is; otherwise it is rendered per client.
    if (loader?.password) return this.loaderConfig(loader, rel, req);
    if (loader && !(await resolveInRoot(this.settings().root, rel)).ok) return this.loaderConfig(loader, rel, req);
    // Typed at PXELINUX's password prompt: checked (the bare word) and "not found", before any log line.
    if (await this.promptInput(rel, req)) return NOT_FOUND;
    if (notServedReason(rel, templateFiles(this.settings().profiles)) !== null) {
      return { kind: 'refuse', reason: 'not-found', message: 'File not found' };
    }
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

  /** The TFTP door's answer: scripts and files as for HTTP, refusals as TFTP's access violation. */
  async forTftp(path: string, clientIp: string, defaultServer: string): Promise<TftpAnswer> {
    const mac = this.clients.macOfIp(clientIp);
    const serverIp = (mac && this.clients.serverFor(mac)) || defaultServer;
    const a = await this.answer({ path, clientIp, door: 'tftp', serverIp });
    if (a.kind === 'refuse') {
      const code = a.reason === 'not-found' ? TFTP_ERROR.FILE_NOT_FOUND : TFTP_ERROR.ACCESS_VIOLATION;
      return { kind: 'refuse', code, message: a.message, reason: a.reason };
    }
    if (a.kind === 'content') return { kind: 'content', data: a.data };
    return { kind: 'file', path: a.path };
  }

  /** The decision the script door makes now for `mac` asking from `ip` (what a typed password unlocks). */
  decideForScript(mac: string, ip: string): Decision {
    const known = this.clients.byMacAddress(mac);
    const client: ClientInfo = { ...(known ?? anonymous(mac, ip)), ipxe: true, ip, door: 'ipxe-script' };
    return this.gate.decide(client, { file: 'unlock' });
  }

  /** The per-client script as the HTTP script door answers it now; null when refused. */
  async scriptFor(mac: string, ip: string, serverIp: string): Promise<Buffer | null> {
    const a = await this.answer({ path: ipxeScriptPath(mac), clientIp: ip, door: 'http', serverIp });
    return a.kind === 'content' ? a.data : null;
  }

  /** `choice`: the profile picked from the built-in menu (the policy decides whether it counts). */
  private async script(mac: string, req: ContentRequest, choice?: string): Promise<ContentAnswer> {
    const s = this.settings();
    const known = this.clients.byMacAddress(mac);
    const client: ClientInfo = { ...(known ?? anonymous(mac, req.clientIp)), ipxe: true, ip: req.clientIp, door: 'ipxe-script' };
    this.clients.bind(req.clientIp, mac);
    const file = choice === undefined ? ipxeScriptPath(mac) : ipxeChoicePath(mac, choice);
    const decision = this.gate.decide(client, choice === undefined ? { file } : { file, choice });
    const profile = 'profile' in decision ? s.profile(decision.profile) : undefined;
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
    const gated: ScriptGate = this.passwords?.script(client, decision, vars) ?? { kind: 'as-is' };
    if (gated.kind === 'text') return { kind: 'content', data: Buffer.from(gated.text), client, decision };
    if (decision.kind === 'boot' && profile?.menu) {
      return { kind: 'content', data: Buffer.from(await this.menu(s, decision, vars)), client, decision };
    }
    const template = profile ? await this.template(profile, s.root) : null;
    const text = scriptForDecision(decision, template, gated.kind === 'vars' ? { ...vars, ...gated.vars } : vars, s.retrySeconds);
    if (text === null) return { kind: 'refuse', reason: 'policy', message: 'Access violation' };
    return { kind: 'content', data: Buffer.from(text), client, decision };
  }

  /**
   * GRUB's or PXELINUX's configuration for the client asking: by the MAC its name carries, else by the
   * address it asks from (Debian's network GRUB asks for one name whoever it runs on; the DHCP doors
   * bound that address to the MAC when the firmware asked port 4011).
   */
  private async loaderConfig(loader: { loader: 'grub' | 'pxelinux'; mac: string | null; password?: GrubPasswordStep }, rel: string, req: ContentRequest): Promise<ContentAnswer> {
    const s = this.settings();
    const mac = loader.mac ?? this.clients.macOfIp(req.clientIp);
    if (!mac) return { kind: 'refuse', reason: 'not-found', message: 'File not found' };
    const known = this.clients.byMacAddress(mac);
    // Not seen on port 67 (a DHCP server that hands out pxelinux.0 itself): PXELINUX runs on a PC BIOS.
    const unseen: ClientInfo = { ...anonymous(mac, req.clientIp), ...(loader.loader === 'pxelinux' ? { arch: 'bios', archCode: 0 } : {}) };
    const client: ClientInfo = { ...(known ?? unseen), ipxe: false, ip: req.clientIp, door: req.door };
    if (loader.mac) this.clients.bind(req.clientIp, mac);
    // A password form's path carries the attempt: the decision (and its log line) sees it without.
    const file = loader.password ? 'grub/password' : rel;
    let decision = this.gate.decide(client, { file });
    if (decision.kind === 'ignore') return { kind: 'refuse', reason: 'policy', message: 'Access violation' };
    let password: LoaderInput['password'];
    // The form itself, after a malformed path or a key: shown again with what was typed so far.
    const selfPath = loader.password ? 'grub/grub.cfg' : rel;
    if (decision.kind === 'password' && loader.password) {
      const step = loader.password;
      if (step.step === 'malformed') password = { attempt: '', note: 'that input was not understood; type the password again' };
      else if (step.step === 'key') password = { attempt: step.attempt, note: null };
      else {
        const checked = await this.check(decision, mac, req, step.attempt);
        if (checked.unlocked) decision = this.gate.decide(client, { file });
        password = checked.password;
        if (checked.local) decision = { kind: 'local', computer: decision.kind === 'password' ? decision.computer : null, reason: 'password-required' };
      }
    }
    if (loader.loader === 'pxelinux') ({ decision, password } = this.pxelinuxPrompt(decision, mac, rel, req, password));
    const profile = 'profile' in decision ? s.profile(decision.profile) : undefined;
    const input: LoaderInput = {
      mac,
      computer: ('computer' in decision && decision.computer) || '',
      decision,
      server: req.serverIp,
      linux: profile?.linux ?? null,
      menu: profile?.menu ? s.menu : null,
      retrySeconds: s.retrySeconds,
      selfPath,
      version: s.version,
      ...(password ? { password } : {}),
    };
    const text = loader.loader === 'grub' ? grubConfig(input) : pxelinuxConfig(input);
    return { kind: 'content', data: Buffer.from(text), client, decision };
  }

  /**
   * PXELINUX's configuration for a machine: a `password` decision is the prompt (over TFTP, where what is
   * typed comes back), with what the last try said; any other decision ends the prompt.
   */
  private pxelinuxPrompt(decision: Decision, mac: string, rel: string, req: ContentRequest, password: LoaderInput['password']): { decision: Decision; password: LoaderInput['password'] } {
    if (decision.kind !== 'password') {
      this.prompts.ended(req.clientIp);
      return { decision, password };
    }
    const local = (note: string): { decision: Decision; password: LoaderInput['password'] } =>
      ({ decision: { kind: 'local', computer: decision.computer, reason: 'password-required' }, password: { attempt: '', note } });
    if (req.door !== 'tftp') return local(`profile ${menuText(decision.profile)} is password gated: PXELINUX's password prompt works over TFTP only`);
    this.prompts.sent(req.clientIp, mac, rel);
    const last = this.prompts.take(req.clientIp, mac);
    if (last.local && last.note) return local(last.note);
    return { decision, password: { attempt: '', note: last.note } };
  }

  /**
   * A request from a machine at PXELINUX's password prompt for a name in its directory that is no file:
   * what was typed there. The bare word is checked as the password (the probes with an extension are
   * not); true when the request is such input (the door answers "not found" either way).
   */
  private async promptInput(rel: string, req: ContentRequest): Promise<boolean> {
    if (req.door !== 'tftp') return false;
    const mac = this.clients.macOfIp(req.clientIp);
    const prompt = this.prompts.at(req.clientIp, mac);
    if (!prompt) return false;
    const typed = promptRequest(rel, prompt.dir);
    if (typed.kind === 'other' || (await resolveInRoot(this.settings().root, rel)).ok) return false;
    if (typed.attempt !== null) await this.pxelinuxAttempt(prompt, typed.attempt, req);
    return true;
  }

  /** A word typed at PXELINUX's prompt, checked while the machine's decision is still `password`. */
  private async pxelinuxAttempt(prompt: PxelinuxPrompt, word: string, req: ContentRequest): Promise<void> {
    const known = this.clients.byMacAddress(prompt.mac);
    const client: ClientInfo = { ...(known ?? { ...anonymous(prompt.mac, req.clientIp), arch: 'bios', archCode: 0 }), ipxe: false, ip: req.clientIp, door: req.door };
    // The decision's log line names the prompt, never the word.
    const decision = this.gate.decide(client, { file: 'pxelinux/password' });
    if (decision.kind !== 'password') return;
    const checked = await this.check(decision, prompt.mac, req, word, 'pxelinux');
    this.prompts.tried(req.clientIp, { note: checked.password?.note ?? null, local: checked.local });
  }

  /** A typed password checked by the password gate (GRUB's Tab, PXELINUX's Enter), and what the next form says. */
  private async check(
    decision: Extract<Decision, { kind: 'password' }>, mac: string, req: ContentRequest, attempt: string, loader: 'grub' | 'pxelinux' = 'grub',
  ): Promise<{ unlocked: boolean; local: boolean; password?: { attempt: string; note: string | null } }> {
    const unset = { unlocked: false, local: true, password: { attempt: '', note: 'no boot password is set for this profile (bootgate password set)' } };
    if (!this.passwords) return unset;
    const r = await this.passwords.attempt({ mac, ip: req.clientIp, profile: decision.profile, computer: decision.computer, password: attempt, door: req.door });
    switch (r.result) {
      case 'ok': return { unlocked: true, local: false };
      case 'wrong': {
        const locked = loader === 'pxelinux' && r.retryAfterMs !== undefined ? `locked for ${seconds(r.retryAfterMs)} s` : 'locked out';
        return { unlocked: false, local: false, password: { attempt: '', note: r.lockedOut ? `wrong password; too many wrong passwords, ${locked}` : `wrong password; ${r.triesLeft} tries left` } };
      }
      case 'locked': {
        const wait = loader === 'grub' ? `try again in ${Math.max(1, Math.ceil(r.retryAfterMs / 60_000))} min` : `locked for ${seconds(r.retryAfterMs)} s`;
        return { unlocked: false, local: false, password: { attempt: '', note: `locked out after too many wrong passwords; ${wait}` } };
      }
      case 'busy': return { unlocked: false, local: false, password: { attempt, note: `the appliance is busy checking passwords; ${loader === 'grub' ? 'press Tab' : 'type it'} again` } };
      case 'no-password': return unset;
    }
  }

  /** The built-in menu for this client: the small Linux entry only when its files are in the root. */
  private async menu(s: ContentSettings, decision: Extract<Decision, { kind: 'boot' }>, vars: Record<string, string>): Promise<string> {
    const present = async (f: string) => (await resolveInRoot(s.root, f)).ok;
    const linux = (await present('vmlinuz')) && (await present('initrd.img'));
    const scriptBase = vars.script?.slice(0, vars.script.indexOf('/ipxe/')) ?? '';
    return menuScript({
      mac: vars.mac ?? '',
      guid: vars.guid ?? '',
      computer: vars.computer ?? '',
      decision: `${decision.kind} ${decision.profile}`,
      reason: decision.reason,
      base: vars.http || (vars.tftp ?? ''),
      linux,
      profiles: menuProfileNames(s.profiles).map((name) => ({
        name,
        description: s.profiles[name]?.description ?? '',
        url: `${scriptBase}/${ipxeChoicePath(vars.mac ?? '', name)}`,
      })),
      default: s.menu.default,
      timeoutSeconds: s.menu.timeoutSeconds,
      version: s.version,
    });
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
