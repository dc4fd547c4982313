/**
 * Registry hives through hivex (Debian `libhivex-bin`): `hivexml` reads a whole hive, `hivexsh -w`
 * adds keys and sets values, then commits. Nothing here writes hive bytes itself.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** REG_* value types (winnt.h). */
export const REG = { SZ: 1, BINARY: 3, DWORD: 4, MULTI_SZ: 7 } as const;

export interface HiveValue {
  name: string;
  /** hivexml's type name: string, string-list, binary, int32, int64, ... */
  type: string;
  text?: string;
  list?: string[];
  bytes?: Buffer;
  int?: number;
}

export interface HiveNode {
  name: string;
  values: HiveValue[];
  children: HiveNode[];
}

export interface ValueToSet {
  name: string;
  type: number;
  data: Buffer;
}

/** Sets (replacing all values of) the key at `path`, creating missing keys on the way. */
export interface KeyEdit {
  path: string[];
  values: ValueToSet[];
}

export class HiveToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HiveToolError';
  }
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e] ?? '';
  });
}

function attrs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([A-Za-z_]+)="([^"]*)"/g)) out[m[1] as string] = unescapeXml(m[2] as string);
  return out;
}

/** Parses hivexml's output (its own small, regular dialect) into a tree. */
export function parseHivexml(xml: string): HiveNode {
  const stack: HiveNode[] = [];
  let root: HiveNode | null = null;
  let value: HiveValue | null = null;
  for (const m of xml.matchAll(/<(\/?)(node|value|string)\b([^>]*?)(\/?)>(?:([^<]*)<\/string>)?/g)) {
    const [, close, tag, rest, selfClose, stringBody] = m;
    if (tag === 'node') {
      if (close) { stack.pop(); continue; }
      const node: HiveNode = { name: attrs(rest ?? '').name ?? '', values: [], children: [] };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(node); else root = node;
      if (!selfClose) stack.push(node);
    } else if (tag === 'value') {
      if (close) { value = null; continue; }
      const a = attrs(rest ?? '');
      const v: HiveValue = { name: a.key ?? '', type: a.type ?? 'unknown' };
      if (a.encoding === 'base64') v.bytes = Buffer.from(a.value ?? '', 'base64');
      else if (a.type === 'int32' || a.type === 'int64') v.int = Number(a.value);
      else if (a.value !== undefined) v.text = a.value;
      if (a.type === 'string-list') v.list = [];
      stack[stack.length - 1]?.values.push(v);
      value = selfClose ? null : v;
    } else if (tag === 'string' && value?.list) {
      value.list.push(unescapeXml(stringBody ?? ''));
    }
  }
  if (!root) throw new HiveToolError('hivexml printed no root key');
  return root;
}

/** The whole hive as a tree, or a HiveToolError naming the file (not a hive, truncated, ...). */
export async function readHive(file: string): Promise<HiveNode> {
  // hivexml writes through libxml's /dev/stdout, which cannot be opened on the socket Node gives a
  // child for stdout (ENXIO): the shell sends it to a file instead.
  const dir = await mkdtemp(join(tmpdir(), 'bootgate-hivexml-'));
  try {
    await run('sh', ['-c', 'exec hivexml "$1" > "$2"', 'hivexml', file, join(dir, 'out.xml')]);
    return parseHivexml(await readFile(join(dir, 'out.xml'), 'utf8'));
  } catch (err) {
    if (err instanceof HiveToolError) throw err;
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new HiveToolError('hivexml not found: install Debian package libhivex-bin');
    if (e.code === 127 as unknown) throw new HiveToolError('hivexml not found: install Debian package libhivex-bin');
    throw new HiveToolError(`${file} is not a readable registry hive: ${(e.stderr ?? e.message).trim().split('\n')[0]}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function childAt(node: HiveNode, path: string[]): HiveNode | null {
  let cur: HiveNode | undefined = node;
  for (const p of path) {
    cur = cur?.children.find((c) => c.name.toLowerCase() === p.toLowerCase());
    if (!cur) return null;
  }
  return cur ?? null;
}

/** hivexsh names a key with no separators or newlines; BCD keys are GUIDs and hex IDs. */
function safeName(s: string): string {
  if (!/^[A-Za-z0-9{}._ -]+$/.test(s)) throw new HiveToolError(`unsupported key or value name for hivexsh: ${JSON.stringify(s)}`);
  return s;
}

/** The hivexsh script for a list of edits on a hive whose current tree is `tree`. */
export function hivexshScript(tree: HiveNode, edits: KeyEdit[]): string {
  const lines: string[] = [];
  // Keys this script creates, so a second edit under the same new key does not add it twice.
  const created = new Set<string>();
  for (const edit of edits) {
    lines.push('cd \\');
    let cur: HiveNode | null = tree;
    const so: string[] = [];
    for (const part of edit.path) {
      so.push(part.toLowerCase());
      const next: HiveNode | null = cur ? childAt(cur, [part]) : null;
      if (!next && !created.has(so.join('\\'))) {
        lines.push(`add ${safeName(part)}`);
        created.add(so.join('\\'));
      }
      lines.push(`cd ${safeName(part)}`);
      cur = next;
    }
    lines.push(`setval ${edit.values.length}`);
    for (const v of edit.values) {
      lines.push(safeName(v.name));
      lines.push(`hex:${v.type}:${[...v.data].map((b) => b.toString(16).padStart(2, '0')).join(',')}`);
    }
  }
  lines.push('commit');
  return lines.join('\n') + '\n';
}

/** Applies edits in place with hivexsh -w (it commits all of them or, on an error, none). */
export async function editHive(file: string, edits: KeyEdit[]): Promise<void> {
  const tree = await readHive(file);
  const script = hivexshScript(tree, edits);
  await new Promise<void>((resolve, reject) => {
    const child = execFile('hivexsh', ['-w', file], { maxBuffer: 16 * 1024 * 1024 }, (err, _out, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException;
        reject(new HiveToolError(e.code === 'ENOENT' ? 'hivexsh not found: install Debian package libhivex-bin' : `hivexsh failed on ${file}: ${stderr.trim() || e.message}`));
      } else if (stderr.trim() !== '') {
        reject(new HiveToolError(`hivexsh on ${file}: ${stderr.trim()}`));
      } else {
        resolve();
      }
    });
    child.stdin?.end(script);
  });
}

export const sz = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf16le');
export const multiSz = (list: string[]): Buffer => Buffer.from(`${list.join('\0')}\0\0`, 'utf16le');
export const dword = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
