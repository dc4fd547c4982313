/**
 * A small Dockerfile reader for the tests that check the image without a Docker engine
 * (test/unit/ops-dockerfile.test.ts, test/e2e/ops-docker-steps.test.ts). It understands what our
 * Dockerfile uses: line continuations, comments, global and stage ARGs with defaults, stages, flags
 * (`--from=`, `--mount=`), exec-form (JSON) and shell-form arguments, and .dockerignore patterns.
 */

export interface Instruction {
  op: string;
  /** `--name=value` flags before the arguments (`COPY --from=build`, `RUN --mount=...`). */
  flags: Record<string, string>;
  /** The rest of the line, ARGs substituted. */
  args: string;
  /** 1-based line where the instruction starts (for messages). */
  line: number;
}

export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  stages: Stage[];
}

/** Joins `\` continuations and drops comment and blank lines, keeping each instruction's first line number. */
function logicalLines(text: string): Array<{ text: string; line: number }> {
  const out: Array<{ text: string; line: number }> = [];
  let cur: { text: string; line: number } | null = null;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    // Docker drops comment lines, also in the middle of a continued instruction.
    if (trimmed.startsWith('#') || (trimmed === '' && cur === null)) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (cur === null) cur = { text: part, line: i + 1 };
    else cur.text = `${cur.text} ${part}`.trim();
    if (!continued) {
      out.push(cur);
      cur = null;
    }
  });
  if (cur !== null) out.push(cur);
  return out;
}

/** `${NAME}` and `$NAME` replaced by the ARG value (unknown names are left as they are). */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a?: string, b?: string) => {
    const name = a ?? b ?? '';
    return Object.hasOwn(vars, name) ? (vars[name] as string) : whole;
  });
}

function splitFlags(rest: string): { flags: Record<string, string>; args: string } {
  const flags: Record<string, string> = {};
  let args = rest;
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(args);
    if (!m) break;
    flags[m[1] as string] = m[2] ?? 'true';
    args = args.slice(m[0].length);
  }
  return { flags, args };
}

export function parseDockerfile(text: string): Dockerfile {
  const globals: Record<string, string> = {};
  const stages: Stage[] = [];
  let stageVars: Record<string, string> = {};
  for (const { text: lineText, line } of logicalLines(text)) {
    const m = /^([A-Za-z]+)\s*(.*)$/.exec(lineText);
    if (!m) throw new Error(`Dockerfile line ${line}: cannot read "${lineText}"`);
    const op = (m[1] as string).toUpperCase();
    const current = stages[stages.length - 1];
    const vars = current ? stageVars : globals;
    const rest = m[2] as string;
    if (op === 'ARG') {
      const eq = rest.indexOf('=');
      const name = eq < 0 ? rest : rest.slice(0, eq);
      const value = eq < 0 ? undefined : rest.slice(eq + 1);
      // A stage's bare `ARG NAME` brings a global default into scope; `ARG NAME=v` sets one.
      vars[name.trim()] = value !== undefined ? substitute(value.trim().replace(/^"(.*)"$/, '$1'), vars) : (globals[name.trim()] ?? '');
      if (current) current.instructions.push({ op, flags: {}, args: substitute(rest, vars), line });
      continue;
    }
    if (op === 'FROM') {
      const fm = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(substitute(rest, globals));
      if (!fm) throw new Error(`Dockerfile line ${line}: FROM ${rest}`);
      stages.push({ from: fm[1] as string, name: fm[2] ?? String(stages.length), instructions: [] });
      stageVars = {};
      continue;
    }
    if (!current) throw new Error(`Dockerfile line ${line}: ${op} before the first FROM`);
    const { flags, args } = splitFlags(rest);
    current.instructions.push({ op, flags, args: substitute(args, { ...globals, ...stageVars }), line });
  }
  return { stages };
}

/** Exec-form arguments (`["node", "x.js"]`), or null for shell form. */
export function execForm(args: string): string[] | null {
  const t = args.trim();
  if (!t.startsWith('[')) return null;
  const parsed: unknown = JSON.parse(t);
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) throw new Error(`not a JSON string array: ${t}`);
  return parsed as string[];
}

/** Words of a shell command, honouring single and double quotes (no expansions: our RUNs use none). */
export function shellWords(cmd: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  let inWord = false;
  for (const ch of cmd) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unbalanced quote in: ${cmd}`);
  if (inWord) words.push(cur);
  return words;
}

/** A shell-form RUN split into its `&&`-joined commands, each as words. */
export function runCommands(args: string): string[][] {
  const words = shellWords(args);
  const cmds: string[][] = [[]];
  for (const w of words) {
    if (w === '&&') cmds.push([]);
    else (cmds[cmds.length - 1] as string[]).push(w);
  }
  if (cmds.some((c) => c.length === 0)) throw new Error(`empty command in RUN ${args}`);
  return cmds;
}

/** A HEALTHCHECK's exec-form command (its --interval etc. are in the instruction's flags). */
export function healthcheckCommand(ins: Instruction): string[] {
  const m = /^CMD\s+(.*)$/s.exec(ins.args.trim());
  if (!m) throw new Error(`HEALTHCHECK without CMD: ${ins.args}`);
  const cmd = execForm(m[1] as string);
  if (!cmd) throw new Error(`HEALTHCHECK CMD in shell form: ${ins.args}`);
  return cmd;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether a context path reaches the build under these .dockerignore lines: the last matching
 * pattern wins, `!` re-includes, and a pattern matching a parent directory matches what is inside.
 */
export function dockerignoreAllows(ignoreText: string, path: string): boolean {
  const patterns = ignoreText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const clean = path.replace(/^\.\//, '').replace(/\/$/, '');
  const prefixes = clean.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let allowed = true;
  for (const p of patterns) {
    const negate = p.startsWith('!');
    const re = globToRegExp((negate ? p.slice(1) : p).replace(/^\//, '').replace(/\/$/, ''));
    if (prefixes.some((pre) => re.test(pre))) allowed = negate;
  }
  return allowed;
}
