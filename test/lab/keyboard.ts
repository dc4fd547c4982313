/**
 * A VM's keyboard and a serial console read from a moving position: typing into firmware and iPXE
 * forms (password prompts) through QMP `send-key`, and waiting for each answer on the console.
 */
import { existsSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Lab } from './netns.js';
import { HANG_MS, pollUntil } from './procs.js';
import { startClient, type Client, type ClientOptions } from './qemu.js';

/**
 * The safety net for one step (a console line, a keystroke's echo): HANG_MS. Every step waits on the
 * serial console; TCG takes ~7 s (BIOS) / ~20 s (UEFI) to boot on an idle machine, several times that
 * on a busy one, and the bound is only there to end a VM that hangs.
 */
export const STEP_MS = HANG_MS;

/** QMP (QEMU's JSON machine protocol) just far enough to press keys. */
export class Keyboard {
  private buf = '';
  private waiters: Array<(line: Record<string, unknown>) => void> = [];

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('event' in msg) continue;
        this.waiters.shift()?.(msg);
      }
    });
  }

  static async open(path: string, qemu: Client['process']): Promise<Keyboard> {
    // QEMU creates the socket as it starts; a QEMU that exits first ends the wait too.
    const ready = await pollUntil(() => (existsSync(path) ? true : qemu.exitInfo ? false : undefined), HANG_MS, 100);
    if (!ready) throw new Error(`QMP socket ${path} did not appear (${qemu.exitInfo ? `QEMU exited ${JSON.stringify(qemu.exitInfo)}` : `within ${HANG_MS} ms`})`);
    const sock = createConnection(path);
    const kb = new Keyboard(sock);
    await kb.next(); // greeting
    await kb.cmd({ execute: 'qmp_capabilities' });
    return kb;
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async cmd(c: unknown): Promise<Record<string, unknown>> {
    const reply = this.next();
    this.sock.write(`${JSON.stringify(c)}\n`);
    const r = await reply;
    if ('error' in r) throw new Error(`QMP: ${JSON.stringify(r.error)}`);
    return r;
  }

  /** Sends one key press and release (QMP answers once QEMU has queued it, not once the guest read it). */
  async send(qcode: string): Promise<void> {
    await this.cmd({ execute: 'send-key', arguments: { keys: [{ type: 'qcode', data: qcode }], 'hold-time': 60 } });
  }

  close(): void {
    this.sock.destroy();
  }
}

/**
 * The console's text without terminal control sequences (cursor moves, colours): under TCG a loader's
 * redraw can land in the middle of a word (`gat<ESC>[25;39Hed.`), which must still read as `gated.`.
 */
export function consoleText(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78c]/g, '');
}

/** A VM with a keyboard and a serial console read from a moving position (of its text, control sequences left out). */
export class Vm {
  private pos = 0;
  constructor(readonly client: Client, readonly kb: Keyboard) {}

  /** The next match of re in the serial console after the previous match. */
  async next(re: RegExp, timeoutMs = STEP_MS): Promise<RegExpExecArray> {
    const m = await pollUntil(() => {
      const text = consoleText(this.client.serial()).slice(this.pos);
      const hit = re.exec(text);
      if (hit) {
        this.pos += hit.index + hit[0].length;
        return hit;
      }
      return this.client.process.exitInfo ? null : undefined;
    }, timeoutMs, 200);
    if (!m) throw new Error(`no ${re} on the serial console of ${this.client.name} within ${timeoutMs} ms:\n${this.client.serial().slice(-3000)}`);
    return m;
  }

  /**
   * Presses one key and waits until the guest has taken it: iPXE answers every key in its forms on the
   * console (a '*' per password character, a redraw on Enter), so the serial console grows. TCG
   * firmware polls the keyboard slowly and keystrokes sent back to back get lost; sending the next key
   * only after this one's echo keeps them apart however slowly a loaded machine runs the guest.
   */
  async press(qcode: string): Promise<void> {
    const before = this.client.serial().length;
    await this.kb.send(qcode);
    const echoed = await pollUntil(() => (this.client.serial().length > before ? true : this.client.process.exitInfo ? false : undefined), STEP_MS, 20);
    if (!echoed) throw new Error(`no console output after key ${qcode} on ${this.client.name} (${this.client.process.exitInfo ? 'VM exited' : `within ${STEP_MS} ms`}):\n${this.client.serial().slice(-3000)}`);
  }

  async type(text: string): Promise<void> {
    for (const ch of text) {
      if (/^[a-z0-9]$/.test(ch)) await this.press(ch);
      else if (ch === '-') await this.press('minus');
      else throw new Error(`Vm.type: no key for ${JSON.stringify(ch)}`);
    }
  }

  /** Waits for the login form, skips the username field and types `password`. */
  async login(password: string): Promise<void> {
    await this.next(/Password:/);
    await this.press('ret');
    await this.type(password);
    await this.press('ret');
  }
}

/** Starts a VM with a QMP socket and opens its keyboard. */
export async function startTypingClient(lab: Lab, opts: ClientOptions & { name: string }): Promise<Vm> {
  const qmp = join(lab.dir, `${opts.name}.qmp`);
  const client = await startClient(lab, { ...opts, extraArgs: [...(opts.extraArgs ?? []), '-qmp', `unix:${qmp},server=on,wait=off`] });
  return new Vm(client, await Keyboard.open(qmp, client.process));
}
