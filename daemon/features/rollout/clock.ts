/**
 * Local wall-clock time in an IANA time zone, from an instant, with nothing but Intl.DateTimeFormat
 * (Node ships full ICU, so every IANA zone and its DST history is there; no date library needed).
 * Pure: the instant is always passed in, nothing here reads the clock.
 *
 * Rollout days and maintenance windows are wall-clock notions ("day 3 starts at local midnight",
 * "20:00-06:00"), so both are computed from the local calendar date and minute of day, never by
 * adding 24 h to an instant (a DST day is 23 or 25 hours long).
 */

export class TimeZoneError extends Error {
  readonly code = 'ERR_TIME_ZONE';
  constructor(message: string) {
    super(message);
    this.name = 'TimeZoneError';
  }
}

export interface LocalTime {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
  /** ISO weekday index: 0 = Monday ... 6 = Sunday. */
  weekday: number;
  /** Minutes since local midnight, 0-1439. */
  minute: number;
  /** The local calendar date as days since 1970-01-01 (a day number, not an instant). */
  dayNumber: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Bound the cache: zones come from the config, but a caller could pass anything. */
const FORMATTERS_MAX = 256;

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f) return f;
  try {
    // hourCycle h23: midnight is 00, never 24 (the `hour12: false` default of some ICU versions).
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
    });
  } catch {
    throw new TimeZoneError(`unknown time zone ${JSON.stringify(zone)} (use an IANA name such as Europe/Berlin or America/New_York)`);
  }
  if (formatters.size >= FORMATTERS_MAX) formatters.clear();
  formatters.set(zone, f);
  return f;
}

/** Throws TimeZoneError unless `zone` is an IANA time zone this Node knows. */
export function checkTimeZone(zone: string): void {
  formatter(zone);
}

/** Days since 1970-01-01 of a calendar date (proleptic Gregorian, no time zone involved). */
export function dayNumberOf(year: number, month: number, day: number): number {
  return Math.floor(Date.UTC(year, month - 1, day) / 86_400_000);
}

/** ISO weekday (0 = Monday) of a day number: 1970-01-01 was a Thursday. */
export function weekdayOf(dayNumber: number): number {
  return (((dayNumber + 3) % 7) + 7) % 7;
}

/** The wall-clock date and time at `instant` (ms since the epoch) in `zone`. */
export function localTime(instant: number, zone: string): LocalTime {
  const parts = formatter(zone).formatToParts(new Date(instant));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? NaN);
  const year = get('year');
  const month = get('month');
  const day = get('day');
  const hour = get('hour') % 24;
  const dayNumber = dayNumberOf(year, month, day);
  return { year, month, day, weekday: weekdayOf(dayNumber), minute: hour * 60 + get('minute'), dayNumber };
}

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `2025-03-03` as a day number; null when it is not a real calendar date. */
export function parseLocalDate(text: string): number | null {
  const m = LOCAL_DATE.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const n = dayNumberOf(y, mo, d);
  const back = new Date(n * 86_400_000);
  // Date.UTC rolls 2025-02-30 over to March; a real date survives the round trip.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() + 1 !== mo || back.getUTCDate() !== d) return null;
  return n;
}

/** A day number printed as `YYYY-MM-DD`. */
export function formatDayNumber(dayNumber: number): string {
  return new Date(dayNumber * 86_400_000).toISOString().slice(0, 10);
}
