/**
 * Maintenance windows: "Mon-Fri 20:00-06:00" in a time zone. Outside its window a machine is not
 * offered a required deployment (the gate in daemon/policy/rollout.ts asks `inWindow`).
 *
 * Grammar (case-insensitive), one or more rules separated by `;` (or given as a list):
 *   rule  = [days " "] time "-" time          no days = every day
 *   days  = item ("," item)*                  item = day | day "-" day (ranges wrap: Fri-Mon)
 *   day   = Mon Tue Wed Thu Fri Sat Sun (or the full English name), `daily`, `*`
 *   time  = HH:MM, 00:00-23:59; the end may be 24:00
 *
 * Semantics, chosen because deployment teams write windows in wall-clock time:
 * - A window whose end is not after its start crosses midnight and belongs to the day it starts on:
 *   with "Mon-Fri 20:00-06:00", Saturday 03:00 is inside (Friday's window), Monday 03:00 is not
 *   (Sunday has no window).
 * - Membership is judged on the local wall clock: the night the clocks go forward the window is an
 *   hour shorter (02:00-03:00 does not exist), the night they go back it is an hour longer (02:00-03:00
 *   happens twice and both are inside). This is what a person reading the wall clock would expect.
 */
import { checkTimeZone, localTime, TimeZoneError } from './clock.js';

export type WindowErrorCode = 'ERR_WINDOW_SYNTAX' | 'ERR_WINDOW_DAY' | 'ERR_WINDOW_TIME' | 'ERR_WINDOW_EMPTY' | 'ERR_TIME_ZONE';

export class WindowSpecError extends Error {
  constructor(readonly code: WindowErrorCode, message: string) {
    super(message);
    this.name = 'WindowSpecError';
  }
}

export interface WindowRule {
  /** ISO weekdays (0 = Monday) the window starts on. */
  days: ReadonlySet<number>;
  /** Minutes since local midnight (end up to 1440); `end < start` means the window runs past midnight. */
  start: number;
  end: number;
  /** The rule as written, for messages and the status table. */
  text: string;
}

export interface WindowSpec {
  zone: string;
  rules: readonly WindowRule[];
}

const DAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const EVERY_DAY: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5, 6]);

function dayIndex(word: string, rule: string): number {
  const w = word.toLowerCase();
  const i = DAY_NAMES.findIndex((n) => n === w || n.slice(0, 3) === w);
  if (i < 0) {
    throw new WindowSpecError('ERR_WINDOW_DAY', `window ${JSON.stringify(rule)}: ${JSON.stringify(word)} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)`);
  }
  return i;
}

function parseDays(text: string, rule: string): ReadonlySet<number> {
  const t = text.toLowerCase();
  if (t === 'daily' || t === '*') return EVERY_DAY;
  const days = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw new WindowSpecError('ERR_WINDOW_SYNTAX', `window ${JSON.stringify(rule)}: empty day in ${JSON.stringify(text)}`);
    const [from, to, extra] = item.split('-');
    if (extra !== undefined || from === undefined) {
      throw new WindowSpecError('ERR_WINDOW_DAY', `window ${JSON.stringify(rule)}: ${JSON.stringify(item)} is not a day or a range like Mon-Fri`);
    }
    const a = dayIndex(from, rule);
    const b = to === undefined ? a : dayIndex(to, rule);
    // Ranges wrap around the week: Fri-Mon is Fri, Sat, Sun, Mon.
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return days;
}

function parseTime(text: string, rule: string, isEnd: boolean): number {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  const h = Number(m?.[1]);
  const min = Number(m?.[2]);
  const ok = m !== null && min < 60 && (h < 24 || (isEnd && h === 24 && min === 0));
  if (!ok) {
    throw new WindowSpecError('ERR_WINDOW_TIME', `window ${JSON.stringify(rule)}: ${JSON.stringify(text)} is not a time HH:MM from 00:00 to ${isEnd ? '24:00' : '23:59'}`);
  }
  return h * 60 + min;
}

function parseRule(raw: string): WindowRule {
  const text = raw.trim().replace(/\s+/g, ' ');
  if (text === '') throw new WindowSpecError('ERR_WINDOW_SYNTAX', 'window: empty rule (expected e.g. "Mon-Fri 20:00-06:00")');
  const words = text.split(' ');
  if (words.length > 2) {
    throw new WindowSpecError('ERR_WINDOW_SYNTAX', `window ${JSON.stringify(text)}: expected "<days> HH:MM-HH:MM", e.g. "Mon-Fri 20:00-06:00" (no spaces inside the days or the times)`);
  }
  const span = words[words.length - 1] as string;
  const days = words.length === 2 ? parseDays(words[0] as string, text) : EVERY_DAY;
  const times = span.split('-');
  if (times.length !== 2) {
    throw new WindowSpecError('ERR_WINDOW_SYNTAX', `window ${JSON.stringify(text)}: expected a time span HH:MM-HH:MM, found ${JSON.stringify(span)}`);
  }
  const start = parseTime(times[0] as string, text, false);
  const end = parseTime(times[1] as string, text, true);
  if (start === end) {
    throw new WindowSpecError('ERR_WINDOW_EMPTY', `window ${JSON.stringify(text)}: starts and ends at the same time; for a whole day write 00:00-24:00`);
  }
  return { days, start, end, text };
}

/** Parses a window spec; throws WindowSpecError with a sentence naming the rule and the bad part. */
export function parseWindow(spec: string | readonly string[], zone: string): WindowSpec {
  try {
    checkTimeZone(zone);
  } catch (err) {
    if (err instanceof TimeZoneError) throw new WindowSpecError('ERR_TIME_ZONE', err.message);
    throw err;
  }
  // A trailing `;` or an empty list item is harmless; a spec with no rule at all is not.
  const texts = (typeof spec === 'string' ? [spec] : [...spec]).flatMap((s) => s.split(';')).filter((s) => s.trim() !== '');
  if (texts.length === 0) throw new WindowSpecError('ERR_WINDOW_SYNTAX', 'window: no rules (expected e.g. "Mon-Fri 20:00-06:00")');
  return { zone, rules: texts.map(parseRule) };
}

/** The rule and the (ISO) weekday of the window `instant` falls in, or null when outside every window. */
export function openWindow(spec: WindowSpec, instant: number): { rule: WindowRule; startDay: number } | null {
  const t = localTime(instant, spec.zone);
  const yesterday = (t.weekday + 6) % 7;
  for (const rule of spec.rules) {
    if (rule.start < rule.end) {
      if (rule.days.has(t.weekday) && t.minute >= rule.start && t.minute < rule.end) return { rule, startDay: t.weekday };
      continue;
    }
    // Across midnight: the evening part belongs to today, the morning part to yesterday's window.
    if (rule.days.has(t.weekday) && t.minute >= rule.start) return { rule, startDay: t.weekday };
    if (rule.days.has(yesterday) && t.minute < rule.end) return { rule, startDay: yesterday };
  }
  return null;
}

export function inWindow(spec: WindowSpec, instant: number): boolean {
  return openWindow(spec, instant) !== null;
}
