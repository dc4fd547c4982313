/**
 * Child processes of the lab: bounded one-shot commands and tracked long-running ones.
 *
 * Every long-running child (dnsmasq, the appliance, QEMU, tshark) is recorded with its PID so the
 * lab can stop exactly what it started, never by name. `ip netns exec` execs its command after
 * setns(2), so the PID we hold is the PID of the real program, not of a wrapper.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, watch, type FSWatcher } from 'node:fs';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly detail: string,
  ) {
    super(`command failed: ${argv.join(' ')}: ${detail}`);
    this.name = 'CommandError';
  }
}

/** Runs one bounded command (default 60 s) and resolves its output; rejects with the stderr on failure. */
export function runCommand(argv: readonly string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new CommandError(argv, 'empty command'));
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, cwd: opts.cwd, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const why = err.killed ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : stderr.trim() || err.message;
          reject(new CommandError(argv, why));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

/** Synchronous variant for exit handlers, where no promise will ever be awaited. Never throws. */
export function runCommandSync(argv: readonly string[]): boolean {
  const [file, ...args] = argv;
  if (file === undefined) return false;
  const r = spawnSync(file, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Tracked {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Where stdout and stderr go (one file, so the order of lines is kept). */
  readonly logPath: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null;
}

/** Starts a long-running process with stdout+stderr appended to logPath. Throws when it cannot start. */
export function spawnTracked(name: string, argv: readonly string[], logPath: string): Tracked {
  const [file, ...args] = argv;
  if (file === undefined) throw new CommandError(argv, 'empty command');
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new CommandError(argv, 'could not start (no pid)');
  const tracked: Tracked = {
    name,
    pid: child.pid,
    child,
    logPath,
    exitInfo: null,
    exited: new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        tracked.exitInfo = { code, signal };
        resolve(tracked.exitInfo);
      });
      child.once('error', () => {
        tracked.exitInfo ??= { code: null, signal: null };
        resolve(tracked.exitInfo);
      });
    }),
  };
  return tracked;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * The lab's safety net for one wait on an event (a log line, a serial-console marker, a process exit,
 * a listening socket). Waits end on the event; this bound only ends a wait whose event never comes
 * (OVMF sitting in its boot menu, a daemon that hangs), so it is set for a hang, not for how long the
 * event takes on an idle machine: on a busy 2-CPU machine TCG boots and process starts take several
 * times longer, and that must make a test slower, never make it fail.
 */
export const HANG_MS = 5 * 60_000;

/**
 * SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. Only ever signals this PID.
 * The grace is the bound for an orderly exit (the daemon checkpoints and closes its store), which a
 * loaded machine can take seconds to schedule; SIGKILL is for a process that ignores SIGTERM.
 */
export async function stopTracked(p: Tracked, graceMs = 30_000): Promise<ExitInfo> {
  if (p.exitInfo) return p.exitInfo;
  p.child.kill('SIGTERM');
  const done = await Promise.race([p.exited, delay(graceMs).then(() => null)]);
  if (done) return done;
  p.child.kill('SIGKILL');
  return p.exited;
}

/** Best effort from a synchronous exit handler: SIGKILL by PID if the process has not exited. */
export function killTrackedSync(p: Tracked): void {
  if (p.exitInfo) return;
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Resolves when the process exits, or null when boundMs passes first (a safety net: HANG_MS unless
 * a caller has a reason for less). Driven by the exit event itself, not by polling.
 */
export async function exitOf(p: Tracked, boundMs = HANG_MS): Promise<ExitInfo | null> {
  if (p.exitInfo) return p.exitInfo;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), boundMs);
    timer.unref();
  });
  try {
    return await Promise.race([p.exited, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with the first match of re in the file at path (a log or serial console), false when `proc`
 * exits without it, or undefined when boundMs passes. Reads the file when it changes (fs.watch, armed
 * as soon as the file exists) and once a second besides, so a missed notification costs a second, never
 * the result.
 */
export async function waitForText(path: string, re: RegExp, proc: Tracked | null, boundMs = HANG_MS): Promise<RegExpExecArray | false | undefined> {
  const read = (): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const hit = re.exec(read());
  if (hit) return hit;
  return new Promise((resolve) => {
    let watcher: FSWatcher | null = null;
    let settled = false;
    const arm = (): void => {
      if (watcher !== null) return;
      try {
        watcher = watch(path, check);
        watcher.on('error', () => undefined);
      } catch {
        // not there yet (QEMU creates its serial file as it starts): the next tick tries again
      }
    };
    const check = (): void => {
      if (settled) return;
      arm();
      const m = re.exec(read());
      if (m) return done(m);
      // The process may have written the line just before it exited: read once more, then give up.
      if (proc?.exitInfo) return done(re.exec(read()) ?? false);
    };
    const tick = setInterval(check, 1_000);
    const bound = setTimeout(() => done(re.exec(read()) ?? undefined), boundMs);
    const onExit = (): void => check();
    function done(v: RegExpExecArray | false | undefined): void {
      if (settled) return;
      settled = true;
      clearInterval(tick);
      clearTimeout(bound);
      watcher?.close();
      resolve(v);
    }
    void proc?.exited.then(onExit);
    arm();
  });
}

/** Polls `check` every intervalMs until it returns a value (not undefined) or timeoutMs passes. */
export async function pollUntil<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await delay(intervalMs);
  }
}
