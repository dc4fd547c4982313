/**
 * Performs a Dockerfile's steps without a Docker engine, for test/e2e/ops-docker-steps.test.ts. Each
 * stage gets a directory standing for its filesystem root: FROM a stage copies that stage's directory,
 * COPY copies from the build context or another stage, WORKDIR/ENV/USER are tracked, and RUN runs its
 * `&&`-joined commands in order. Commands that change the project (npm) run for real in the stage's
 * working directory. Commands that change the machine (apt-get, useradd, setcap) must not run on the
 * test host: each is checked instead (the packages it installs are installed here, the capability text
 * is one setcap accepts) and recorded; the image's user is played by `nobody`. Any other command fails
 * the build, so the Dockerfile cannot grow a step this harness silently skips.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, cpSync, mkdirSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { execForm, healthcheckCommand, parseDockerfile, runCommands, shellWords, type Instruction } from '../unit/helpers/ops-dockerfile.js';

export interface StageState {
  name: string;
  /** The directory standing for this stage's `/`. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | null;
  volumes: string[];
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[] | null;
  /** setcap steps: path in the image -> capability text. */
  fileCaps: Record<string, string>;
  /** Users and groups groupadd/useradd would create. */
  accounts: string[];
}

export interface StepRecord {
  stage: string;
  line: number;
  command: string;
  /** ran (executed here), checked (machine step verified, not executed), recorded (nothing to do). */
  how: 'ran' | 'checked' | 'recorded';
  ms: number;
}

export interface BuildOptions {
  dockerfileText: string;
  /** The build context (a clean checkout). */
  context: string;
  /** Where stage directories go. */
  workDir: string;
  /** Who plays the image's user (uid/gid of `nobody`). */
  runtimeIds: { uid: number; gid: number };
  /** Bound on each executed command. */
  commandTimeoutMs: number;
  /** Environment for executed commands besides the stage's ENV (PATH, HOME for the npm cache, proxies). */
  hostEnv: Record<string, string>;
}

export interface BuildResult {
  stages: Map<string, StageState>;
  final: StageState;
  steps: StepRecord[];
}

/** An absolute image path inside a stage directory. */
export function inStage(stage: StageState, imagePath: string): string {
  return join(stage.root, posix.isAbsolute(imagePath) ? imagePath : posix.join(stage.workdir, imagePath));
}

/** Runs a command with a time bound; resolves with the exit code and the last part of its output. */
export function runBounded(argv: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs: number; uid?: number; gid?: number }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], uid: opts.uid, gid: opts.gid });
    let output = '';
    const keep = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-8000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n[killed after ${opts.timeoutMs} ms]`;
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function aptPackages(words: string[]): string[] {
  return words.slice(2).filter((w) => !w.startsWith('-'));
}

function checkInstalled(pkgs: string[]): void {
  for (const p of pkgs) {
    const r = spawnSync('dpkg-query', ['-W', '-f=${db:Status-Status}', p], { encoding: 'utf8' });
    if (r.stdout !== 'installed') throw new Error(`the image installs ${p}, which this machine lacks: the steps here would not match the image's`);
  }
}

/** setcap accepts this capability text (tried on a scratch file, never on a real binary). */
function checkCapText(caps: string, workDir: string): void {
  const scratch = join(workDir, 'setcap-scratch');
  copyFileSync('/bin/true', scratch);
  const r = spawnSync('setcap', [caps, scratch], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`setcap rejects "${caps}": ${r.stderr.trim()}`);
}

async function runStep(words: string[], st: StageState, ins: Instruction, opts: BuildOptions): Promise<StepRecord['how']> {
  const [cmd, sub] = words;
  if (cmd === 'npm') {
    const env = { ...opts.hostEnv, ...st.env };
    const r = await runBounded(words, { cwd: inStage(st, '.'), env, timeoutMs: opts.commandTimeoutMs });
    if (r.code !== 0) throw new Error(`line ${ins.line}: ${words.join(' ')} exited ${String(r.code)}:\n${r.output}`);
    return 'ran';
  }
  if (cmd === 'apt-get' && sub === 'install') {
    checkInstalled(aptPackages(words));
    return 'checked';
  }
  if (cmd === 'apt-get' && (sub === 'update' || sub === 'purge')) return 'recorded';
  if (cmd === 'rm' && words.slice(1).join(' ') === '-rf /var/lib/apt/lists/*') return 'recorded';
  if (cmd === 'setcap' && words.length === 3) {
    checkCapText(words[1] as string, opts.workDir);
    st.fileCaps[words[2] as string] = words[1] as string;
    return 'checked';
  }
  if (cmd === 'groupadd' || cmd === 'useradd') {
    st.accounts.push(words.at(-1) as string);
    return 'recorded';
  }
  if (cmd === 'mkdir' && sub === '-p') {
    for (const p of words.slice(2)) mkdirSync(inStage(st, p), { recursive: true });
    return 'ran';
  }
  if (cmd === 'chown' && words.length >= 3) {
    const owner = (words[1] as string).split(':')[0] as string;
    if (!st.accounts.includes(owner)) throw new Error(`line ${ins.line}: chown to ${owner}, whom no useradd step created`);
    for (const p of words.slice(2)) chownSync(inStage(st, p), opts.runtimeIds.uid, opts.runtimeIds.gid);
    return 'ran';
  }
  throw new Error(`Dockerfile line ${ins.line}: RUN step "${words.join(' ')}" is not one this harness knows; teach test/e2e/ops-image-steps.ts`);
}

function copy(ins: Instruction, st: StageState, stages: Map<string, StageState>, opts: BuildOptions): void {
  const parts = shellWords(ins.args);
  const dest = parts.pop() as string;
  const from = ins.flags.from ? stages.get(ins.flags.from) : null;
  if (ins.flags.from && !from) throw new Error(`line ${ins.line}: COPY --from=${ins.flags.from}: no such stage`);
  for (const src of parts) {
    const source = from ? inStage(from, src) : join(opts.context, src);
    const isDir = statSync(source).isDirectory();
    // Docker: a directory's contents go into dest; a file goes to dest, or into it when dest ends in '/'.
    const target = !isDir && (dest.endsWith('/') || parts.length > 1) ? inStage(st, posix.join(dest, basename(src))) : inStage(st, dest);
    mkdirSync(isDir ? target : join(target, '..'), { recursive: true });
    cpSync(source, target, { recursive: true, verbatimSymlinks: true });
  }
}

function envPairs(args: string): Array<[string, string]> {
  const words = shellWords(args);
  if (words.length === 2 && !(words[0] as string).includes('=')) return [[words[0] as string, words[1] as string]];
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`ENV ${args}: expected NAME=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function newStage(name: string, from: string, stages: Map<string, StageState>, opts: BuildOptions): StageState {
  const root = join(opts.workDir, 'stages', name);
  const parent = stages.get(from);
  if (parent) {
    cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
    return { ...structuredClone({ ...parent, root }), name };
  }
  // A base image: its node is this machine's node, so the major versions must agree.
  const m = /^node:(\d+)-/.exec(from);
  if (!m) throw new Error(`FROM ${from}: only node:<major>-... base images are understood`);
  if (process.versions.node.split('.')[0] !== m[1]) throw new Error(`FROM ${from}, but this machine runs node ${process.version}`);
  mkdirSync(root, { recursive: true });
  return { name, root, workdir: '/', env: {}, user: null, volumes: [], entrypoint: [], cmd: [], healthcheck: null, fileCaps: {}, accounts: [] };
}

async function apply(ins: Instruction, st: StageState, stages: Map<string, StageState>, opts: BuildOptions, steps: StepRecord[]): Promise<void> {
  const started = Date.now();
  const record = (command: string, how: StepRecord['how']): void => {
    steps.push({ stage: st.name, line: ins.line, command, how, ms: Date.now() - started });
  };
  switch (ins.op) {
    case 'RUN':
      for (const words of runCommands(ins.args)) {
        const t0 = Date.now();
        const how = await runStep(words, st, ins, opts);
        steps.push({ stage: st.name, line: ins.line, command: words.join(' '), how, ms: Date.now() - t0 });
      }
      return;
    case 'COPY':
      copy(ins, st, stages, opts);
      return record(`COPY ${ins.flags.from ? `--from=${ins.flags.from} ` : ''}${ins.args}`, 'ran');
    case 'WORKDIR':
      st.workdir = posix.resolve(st.workdir, ins.args.trim());
      mkdirSync(inStage(st, '.'), { recursive: true });
      return;
    case 'ENV':
      for (const [k, v] of envPairs(ins.args)) st.env[k] = v;
      return;
    case 'USER':
      st.user = ins.args.trim();
      return;
    case 'VOLUME':
      st.volumes = execForm(ins.args) ?? shellWords(ins.args);
      for (const v of st.volumes) mkdirSync(inStage(st, v), { recursive: true });
      return;
    case 'ENTRYPOINT':
    case 'CMD': {
      const argv = execForm(ins.args);
      if (!argv) throw new Error(`line ${ins.line}: ${ins.op} in shell form (signals would go to a shell, not node)`);
      if (ins.op === 'ENTRYPOINT') st.entrypoint = argv;
      else st.cmd = argv;
      return;
    }
    case 'HEALTHCHECK':
      st.healthcheck = healthcheckCommand(ins);
      return;
    case 'ARG':
    case 'EXPOSE':
    case 'STOPSIGNAL':
    case 'LABEL':
      return;
    default:
      throw new Error(`Dockerfile line ${ins.line}: instruction ${ins.op} is not one this harness knows`);
  }
}

/** Performs every stage of the Dockerfile in order. */
export async function performBuild(opts: BuildOptions): Promise<BuildResult> {
  const parsed = parseDockerfile(opts.dockerfileText);
  const stages = new Map<string, StageState>();
  const steps: StepRecord[] = [];
  let final: StageState | null = null;
  for (const stage of parsed.stages) {
    const st = newStage(stage.name, stage.from, stages, opts);
    stages.set(stage.name, st);
    for (const ins of stage.instructions) await apply(ins, st, stages, opts, steps);
    final = st;
  }
  if (!final) throw new Error('Dockerfile without a stage');
  return { stages, final, steps };
}

/** An image path in a command line or ENV value, mapped into the stage when its top directory is there. */
export function mapArg(st: StageState, arg: string): string {
  if (!posix.isAbsolute(arg)) return arg;
  const top = arg.split('/')[1] ?? '';
  try {
    statSync(join(st.root, top));
    return inStage(st, arg);
  } catch {
    return arg;
  }
}
