/**
 * PXELINUX's password prompt, the server side: which machines sit at it, and which of their TFTP
 * requests carry what was typed there. Pure: a map and a clock, no sockets or files.
 *
 * PXELINUX loads a word typed at its `boot:` prompt as a kernel: it asks for the word with each of
 * `.c32 .img .bss .bin .bs .0` appended, then for the word itself (syslinux 6.04 ldlinux.c,
 * get_extension and load_kernel), all relative to its working directory (the directory its
 * configuration was asked for from). So, from a machine the prompt was sent to, a request for one
 * name in that directory that is not a file in the root is input: never logged, always "not found".
 * The bare name is the attempt; the names with an extension appended are the probes before it.
 */

/** What a prompt remembers: for whom it was rendered, where PXELINUX runs, what the last try said. */
export interface PxelinuxPrompt {
  mac: string;
  /** The directory of the configuration path PXELINUX asked for (`''` or `bios/`), lower-case. */
  dir: string;
  /** When the prompt was last sent. */
  at: number;
  /** What the next rendering says about the last try (once), or null. */
  note: string | null;
  /** The check found no password to check against: the next rendering boots the local disk. */
  local: boolean;
}

/** The longest word taken as an attempt (a longer one is input, refused unchecked). */
export const PXELINUX_PASSWORD_MAX = 64;

/** How long a prompt is remembered after it was sent: its wait for a key, and slack for a slow machine. */
export const PXELINUX_PROMPT_TTL_MS = 15 * 60_000;

/** Machines remembered at once; the oldest is forgotten first (each costs a TFTP request to make). */
export const PXELINUX_PROMPTS_MAX = 4096;

/** The extensions PXELINUX tries on a typed word before the word itself (ldlinux.c, file_extensions). */
const PROBE_EXTENSIONS = ['.c32', '.img', '.bss', '.bin', '.bs', '.0'] as const;

/** Printable ASCII without the space: what PXELINUX's prompt sends as one word (a US keyboard). */
const WORD = /^[\x21-\x7e]+$/;

/** The directory part of a PXELINUX configuration path (`bios/pxelinux.cfg/01-...` -> `bios/`). */
export function pxelinuxDir(configPath: string): string {
  const rel = configPath.replace(/^[/\\]+/, '').toLowerCase();
  const at = rel.lastIndexOf('pxelinux.cfg/');
  return at < 0 ? '' : rel.slice(0, at);
}

/**
 * What a request from a machine at the prompt is: `input` (typed: the attempt itself when `attempt` is
 * set, else a probe, a word that cannot be the password, or anything hostile in that directory), or
 * `other` (not in the prompt's directory: a configuration, a file elsewhere). Whether the name is a file
 * in the root is for the caller to check: a file is served as ever, typed or not.
 */
export type PromptRequest = { kind: 'input'; attempt: string | null } | { kind: 'other' };

export function promptRequest(path: string, dir: string): PromptRequest {
  const rel = path.replace(/^[/\\]+/, '');
  if (!rel.toLowerCase().startsWith(dir)) return { kind: 'other' };
  const word = rel.slice(dir.length);
  // PXELINUX's own configuration names (`pxelinux.cfg/<uuid>` before `01-<mac>`) are its, not typed.
  if (/^pxelinux\.cfg[/\\]/i.test(word)) return { kind: 'other' };
  // Nothing, or more than one name (`a/b`, `../x`): typed, and never the password (it is one word).
  if (word.length === 0 || /[/\\]/.test(word)) return { kind: 'input', attempt: null };
  const lower = word.toLowerCase();
  const probe = PROBE_EXTENSIONS.some((e) => lower.endsWith(e));
  if (probe || word.length > PXELINUX_PASSWORD_MAX || !WORD.test(word)) return { kind: 'input', attempt: null };
  return { kind: 'input', attempt: word };
}

/** The machines at a PXELINUX password prompt, by the address they ask from. */
export class PxelinuxPrompts {
  private readonly byIp = new Map<string, PxelinuxPrompt>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The prompt was sent to `ip` (again): remembered, keeping a note not shown yet. */
  sent(ip: string, mac: string, configPath: string): void {
    const prev = this.byIp.get(ip);
    this.byIp.delete(ip);
    const keep = prev && prev.mac === mac ? prev : null;
    this.byIp.set(ip, { mac, dir: pxelinuxDir(configPath), at: this.now(), note: keep?.note ?? null, local: keep?.local ?? false });
    while (this.byIp.size > PXELINUX_PROMPTS_MAX) {
      const oldest = this.byIp.keys().next().value;
      if (oldest === undefined) break;
      this.byIp.delete(oldest);
    }
  }

  /** The live prompt at `ip`, if the machine there is still `mac` (the address may have changed hands). */
  at(ip: string, mac: string | undefined): PxelinuxPrompt | undefined {
    const p = this.byIp.get(ip);
    if (!p) return undefined;
    if (this.now() - p.at > PXELINUX_PROMPT_TTL_MS || (mac !== undefined && p.mac !== mac)) {
      this.byIp.delete(ip);
      return undefined;
    }
    return p;
  }

  /** What the last try said, for the next rendering. */
  tried(ip: string, result: { note: string | null; local: boolean }): void {
    const p = this.byIp.get(ip);
    if (p) Object.assign(p, result);
  }

  /** The note for the rendering now (shown once) and whether to boot the local disk instead. */
  take(ip: string, mac: string): { note: string | null; local: boolean } {
    const p = this.at(ip, mac);
    if (!p) return { note: null, local: false };
    const r = { note: p.note, local: p.local };
    p.note = null;
    p.local = false;
    return r;
  }

  /** The machine at `ip` got another configuration (unlocked, approved, changed): no prompt any more. */
  ended(ip: string): void {
    this.byIp.delete(ip);
  }
}
