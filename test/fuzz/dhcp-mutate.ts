/**
 * Structure-aware mutations of DHCP packets for the fuzz run and the property tests. Deterministic for a
 * given random source, so a failing input can be regenerated from its seed.
 */
import { BootpLayout, DHCP_MAGIC_COOKIE, DhcpOption } from '../../daemon/protocol/dhcp/constants.js';

export interface Rng {
  /** Integer in [0, n). */
  int(n: number): number;
}

/** mulberry32: small, fast, good enough to spread fuzz inputs; not for anything secret. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return {
    int(n: number): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    },
  };
}

/** Byte values that sit on decoder boundaries: PAD, END, overload values, length edges, option 52. */
const INTERESTING = [0, 1, 2, 3, 4, 0x34, 0x35, 0x7f, 0x80, 0xfe, 0xff];

export function randomBytes(rng: Rng, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 1) out[i] = rng.int(256);
  return out;
}

function interesting(rng: Rng): number {
  return rng.int(2) === 0 ? INTERESTING[rng.int(INTERESTING.length)]! : rng.int(256);
}

/** Offsets of the code byte of each option in the options area (stops at END or a bad length). */
export function optionOffsets(buf: Buffer, start = BootpLayout.OPTIONS, end = buf.length): number[] {
  const offsets: number[] = [];
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === DhcpOption.PAD) {
      i += 1;
      continue;
    }
    if (code === DhcpOption.END || i + 1 >= end) break;
    offsets.push(i);
    i += 2 + buf[i + 1]!;
  }
  return offsets;
}

/** A run of random TLVs, sometimes with lengths that lie. */
function randomOptions(rng: Rng, maxBytes: number): Buffer {
  const parts: number[] = [];
  while (parts.length < maxBytes && rng.int(8) !== 0) {
    const code = rng.int(4) === 0 ? DhcpOption.OVERLOAD : rng.int(256);
    const length = rng.int(6) === 0 ? rng.int(256) : rng.int(12);
    parts.push(code, length);
    for (let k = 0; k < Math.min(length, 16) && parts.length < maxBytes; k += 1) parts.push(interesting(rng));
  }
  return Buffer.from(parts.slice(0, maxBytes));
}

type Mutator = (b: Buffer, rng: Rng, seeds: readonly Buffer[]) => Buffer;

const flipBits: Mutator = (b, rng) => {
  for (let n = 1 + rng.int(4); n > 0 && b.length > 0; n -= 1) {
    const at = rng.int(b.length);
    b[at] = b[at]! ^ (1 << rng.int(8));
  }
  return b;
};

const setBytes: Mutator = (b, rng) => {
  for (let n = 1 + rng.int(4); n > 0 && b.length > 0; n -= 1) b[rng.int(b.length)] = interesting(rng);
  return b;
};

const truncate: Mutator = (b, rng) => b.subarray(0, rng.int(b.length + 1));

const extend: Mutator = (b, rng) => {
  const tail = rng.int(2) === 0 ? randomBytes(rng, rng.int(300)) : randomOptions(rng, 300);
  // Drop the END (if any) first half the time, so the extension is read as options.
  const body = rng.int(2) === 0 ? b : b.subarray(0, Math.max(BootpLayout.OPTIONS, b.lastIndexOf(DhcpOption.END)));
  return Buffer.concat([body, tail]);
};

const corruptLength: Mutator = (b, rng) => {
  const offsets = optionOffsets(b);
  if (offsets.length === 0) return setBytes(b, rng, []);
  const at = offsets[rng.int(offsets.length)]! + 1;
  const current = b[at]!;
  const choices = [0, 255, current + 1, current - 1, b.length - at, b.length - at - 1, rng.int(256)];
  b[at] = choices[rng.int(choices.length)]! & 0xff;
  return b;
};

/** Put option 52 first with a value from 0..4 (or random), and fill file/sname with options or garbage. */
const overloadGames: Mutator = (b, rng) => {
  if (b.length < BootpLayout.OPTIONS) return b;
  const out = Buffer.from(b);
  out.writeUInt32BE(DHCP_MAGIC_COOKIE, BootpLayout.COOKIE);
  const value = rng.int(3) === 0 ? rng.int(256) : rng.int(5);
  const length = rng.int(6) === 0 ? rng.int(4) : 1;
  const opt52 = Buffer.from([DhcpOption.OVERLOAD, length, value, value, value].slice(0, 2 + length));
  for (const [start, size] of [
    [BootpLayout.FILE, BootpLayout.FILE_LENGTH],
    [BootpLayout.SNAME, BootpLayout.SNAME_LENGTH],
  ] as const) {
    const r = rng.int(3);
    if (r === 0) continue;
    const fill = r === 1 ? randomOptions(rng, size) : randomBytes(rng, size);
    out.fill(0, start, start + size);
    fill.copy(out, start, 0, Math.min(fill.length, size));
  }
  return Buffer.concat([out.subarray(0, BootpLayout.OPTIONS), opt52, out.subarray(BootpLayout.OPTIONS)]);
};

/** Repeat one option (RFC 3396 concatenation) or splice the tail of another seed in. */
const repeatOrSplice: Mutator = (b, rng, seeds) => {
  const offsets = optionOffsets(b);
  if (rng.int(2) === 0 && offsets.length > 0) {
    const at = offsets[rng.int(offsets.length)]!;
    const option = b.subarray(at, Math.min(b.length, at + 2 + b[at + 1]!));
    return Buffer.concat([b.subarray(0, at), option, option, b.subarray(at)]);
  }
  const other = seeds[rng.int(seeds.length)]!;
  const cut = rng.int(b.length + 1);
  return Buffer.concat([b.subarray(0, cut), other.subarray(rng.int(other.length + 1))]);
};

export const MUTATORS = { flipBits, setBytes, truncate, extend, corruptLength, overloadGames, repeatOrSplice } as const;
export type MutatorName = keyof typeof MUTATORS;
const NAMES = Object.keys(MUTATORS) as MutatorName[];

/** One to three stacked mutations of a copy of a seed packet. */
export function mutate(seeds: readonly Buffer[], rng: Rng): { input: Buffer; kinds: MutatorName[] } {
  let input: Buffer = Buffer.from(seeds[rng.int(seeds.length)]!);
  const kinds: MutatorName[] = [];
  for (let n = 1 + rng.int(3); n > 0; n -= 1) {
    const name = NAMES[rng.int(NAMES.length)]!;
    kinds.push(name);
    input = MUTATORS[name](input, rng, seeds);
  }
  return { input, kinds };
}

/** A random buffer that starts like a DHCP packet (op 1/2, cookie), so the options walker gets exercised. */
export function randomDhcpLike(rng: Rng, maxLength: number): Buffer {
  const b = randomBytes(rng, BootpLayout.OPTIONS + rng.int(maxLength - BootpLayout.OPTIONS + 1));
  b[BootpLayout.OP] = 1 + rng.int(2);
  b.writeUInt32BE(DHCP_MAGIC_COOKIE, BootpLayout.COOKIE);
  if (rng.int(2) === 0) randomOptions(rng, b.length - BootpLayout.OPTIONS).copy(b, BootpLayout.OPTIONS);
  return b;
}
