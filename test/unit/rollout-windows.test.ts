/**
 * Maintenance windows and local wall-clock time: the parser's exact errors, windows across midnight
 * (belonging to the day they start), and the spring-forward and fall-back nights in Europe/Berlin and
 * America/New_York. Instants are written in UTC with the local time they stand for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localTime, parseLocalDate, formatDayNumber, weekdayOf } from '../../daemon/features/rollout/clock.js';
import { inWindow, openWindow, parseWindow, WindowSpecError, type WindowSpec } from '../../daemon/features/rollout/windows.js';

const utc = (iso: string): number => Date.parse(iso);
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const MON = 0;
const FRI = 4;
const SAT = 5;

/** Minutes inside the window between two instants, stepping one minute at a time. */
function minutesInside(spec: WindowSpec, fromIso: string, toIso: string): number {
  let n = 0;
  for (let t = utc(fromIso); t < utc(toIso); t += 60_000) if (inWindow(spec, t)) n += 1;
  return n;
}

test('localTime reads the wall clock in the zone, across a DST change', () => {
  // 2025-03-30 01:00 UTC is the instant Berlin jumps from 02:00 CET to 03:00 CEST.
  assert.deepEqual(localTime(utc('2025-03-30T00:59:00Z'), BERLIN), { year: 2025, month: 3, day: 30, weekday: 6, minute: 1 * 60 + 59, dayNumber: 20177 });
  assert.equal(localTime(utc('2025-03-30T01:00:00Z'), BERLIN).minute, 3 * 60);
  // Midnight is hour 0, never 24.
  assert.equal(localTime(utc('2025-01-10T23:00:00Z'), BERLIN).minute, 0);
  assert.equal(localTime(utc('2025-01-10T23:00:00Z'), BERLIN).weekday, SAT);
  assert.equal(localTime(utc('2025-11-02T05:30:00Z'), NEW_YORK).minute, 1 * 60 + 30, '01:30 EDT');
  assert.equal(localTime(utc('2025-11-02T06:30:00Z'), NEW_YORK).minute, 1 * 60 + 30, '01:30 EST, the second time');
});

test('calendar dates: parse, print, weekday', () => {
  assert.equal(parseLocalDate('1970-01-01'), 0);
  assert.equal(parseLocalDate('2025-03-30'), 20177);
  assert.equal(formatDayNumber(20177), '2025-03-30');
  assert.equal(weekdayOf(0), 3, '1970-01-01 was a Thursday');
  assert.equal(parseLocalDate('2025-02-30'), null);
  assert.equal(parseLocalDate('2025-3-30'), null);
  assert.equal(parseLocalDate('2024-02-29'), 19782);
});

test('the parser accepts day lists, wrapping ranges, full names, daily and 24:00', () => {
  const w = parseWindow('Mon-Fri 20:00-06:00; sat,SUN 00:00-24:00', BERLIN);
  assert.equal(w.rules.length, 2);
  assert.deepEqual([...(w.rules[0]?.days ?? [])].sort(), [0, 1, 2, 3, 4]);
  assert.deepEqual({ start: w.rules[0]?.start, end: w.rules[0]?.end }, { start: 1200, end: 360 });
  assert.deepEqual([...(w.rules[1]?.days ?? [])].sort(), [5, 6]);
  assert.equal(w.rules[1]?.end, 1440);
  assert.deepEqual([...(parseWindow('Fri-Mon 22:00-04:00', 'UTC').rules[0]?.days ?? [])].sort(), [0, 4, 5, 6]);
  assert.deepEqual([...(parseWindow('Wednesday 01:00-02:00', 'UTC').rules[0]?.days ?? [])], [2]);
  assert.equal(parseWindow('20:00-06:00', 'UTC').rules[0]?.days.size, 7);
  assert.equal(parseWindow('daily 20:00-06:00', 'UTC').rules[0]?.days.size, 7);
  assert.equal(parseWindow(['Mon 01:00-02:00', 'Tue 01:00-02:00;'], 'UTC').rules.length, 2);
});

test('the parser names the rule and the bad part', () => {
  const cases: Array<[string, string, string, string]> = [
    ['Mon-Fri 20:00-6:00', BERLIN, 'ERR_WINDOW_TIME', 'window "Mon-Fri 20:00-6:00": "6:00" is not a time HH:MM from 00:00 to 24:00'],
    ['Mon-Fri 24:00-06:00', BERLIN, 'ERR_WINDOW_TIME', 'window "Mon-Fri 24:00-06:00": "24:00" is not a time HH:MM from 00:00 to 23:59'],
    ['Mon-Fri 20:60-06:00', BERLIN, 'ERR_WINDOW_TIME', 'window "Mon-Fri 20:60-06:00": "20:60" is not a time HH:MM from 00:00 to 23:59'],
    ['Mon-Fry 20:00-06:00', BERLIN, 'ERR_WINDOW_DAY', 'window "Mon-Fry 20:00-06:00": "Fry" is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)'],
    ['Mon-Wed-Fri 20:00-06:00', BERLIN, 'ERR_WINDOW_DAY', 'window "Mon-Wed-Fri 20:00-06:00": "Mon-Wed-Fri" is not a day or a range like Mon-Fri'],
    ['Mon,,Fri 20:00-06:00', BERLIN, 'ERR_WINDOW_SYNTAX', 'window "Mon,,Fri 20:00-06:00": empty day in "Mon,,Fri"'],
    ['Mon - Fri 20:00-06:00', BERLIN, 'ERR_WINDOW_SYNTAX', 'window "Mon - Fri 20:00-06:00": expected "<days> HH:MM-HH:MM", e.g. "Mon-Fri 20:00-06:00" (no spaces inside the days or the times)'],
    ['Mon-Fri 20:00', BERLIN, 'ERR_WINDOW_SYNTAX', 'window "Mon-Fri 20:00": expected a time span HH:MM-HH:MM, found "20:00"'],
    ['08:00-08:00', BERLIN, 'ERR_WINDOW_EMPTY', 'window "08:00-08:00": starts and ends at the same time; for a whole day write 00:00-24:00'],
    [' ; ', BERLIN, 'ERR_WINDOW_SYNTAX', 'window: no rules (expected e.g. "Mon-Fri 20:00-06:00")'],
    ['Mon-Fri 20:00-06:00', 'Europe/Berln', 'ERR_TIME_ZONE', 'unknown time zone "Europe/Berln" (use an IANA name such as Europe/Berlin or America/New_York)'],
  ];
  for (const [spec, zone, code, message] of cases) {
    assert.throws(() => parseWindow(spec, zone), (err: unknown) => {
      assert.ok(err instanceof WindowSpecError, `${spec}: ${String(err)}`);
      assert.equal(err.code, code, spec);
      assert.equal(err.message, message);
      return true;
    });
  }
});

test('a window across midnight belongs to the day it starts on (Friday night into Saturday is Friday\'s)', () => {
  // January: Berlin is UTC+1.
  const w = parseWindow('Mon-Fri 20:00-06:00', BERLIN);
  const rows: Array<[string, string, boolean, number | null]> = [
    ['2025-01-10T18:59:00Z', 'Fri 19:59', false, null],
    ['2025-01-10T19:00:00Z', 'Fri 20:00', true, FRI],
    ['2025-01-10T22:59:00Z', 'Fri 23:59', true, FRI],
    ['2025-01-10T23:00:00Z', 'Sat 00:00', true, FRI],
    ['2025-01-11T02:00:00Z', 'Sat 03:00', true, FRI],
    ['2025-01-11T04:59:00Z', 'Sat 05:59', true, FRI],
    ['2025-01-11T05:00:00Z', 'Sat 06:00', false, null],
    ['2025-01-11T19:00:00Z', 'Sat 20:00', false, null],
    ['2025-01-12T02:00:00Z', 'Sun 03:00', false, null],
    ['2025-01-13T02:00:00Z', 'Mon 03:00 (Sunday has no window)', false, null],
    ['2025-01-13T19:00:00Z', 'Mon 20:00', true, MON],
    ['2025-01-14T04:59:00Z', 'Tue 05:59', true, MON],
  ];
  for (const [iso, local, inside, startDay] of rows) {
    const open = openWindow(w, utc(iso));
    assert.equal(open !== null, inside, local);
    assert.equal(open?.startDay ?? null, startDay, local);
  }
  // Monday night to Saturday morning: 5 nights of 10 hours.
  assert.equal(minutesInside(w, '2025-01-12T23:00:00Z', '2025-01-19T23:00:00Z'), 5 * 600);
});

test('Europe/Berlin spring forward (2025-03-30): the night window is an hour shorter, the 02:00 hour never happens', () => {
  const night = parseWindow('Sat 20:00-06:00', BERLIN);
  // Sat 20:00 CET = 19:00Z ... Sun 06:00 CEST = 04:00Z: 9 hours of wall clock.
  assert.equal(minutesInside(night, '2025-03-29T12:00:00Z', '2025-03-30T12:00:00Z'), 540);
  assert.equal(inWindow(night, utc('2025-03-30T00:59:00Z')), true, '01:59 CET');
  assert.equal(inWindow(night, utc('2025-03-30T01:00:00Z')), true, '03:00 CEST');
  assert.equal(inWindow(night, utc('2025-03-30T03:59:00Z')), true, '05:59 CEST');
  assert.equal(inWindow(night, utc('2025-03-30T04:00:00Z')), false, '06:00 CEST');
  // A window inside the skipped hour is empty that night, and an hour long the week before.
  const skipped = parseWindow('Sun 02:00-03:00', BERLIN);
  assert.equal(minutesInside(skipped, '2025-03-29T12:00:00Z', '2025-03-30T12:00:00Z'), 0);
  assert.equal(minutesInside(skipped, '2025-03-22T12:00:00Z', '2025-03-23T12:00:00Z'), 60);
});

test('Europe/Berlin fall back (2025-10-26): the night window is an hour longer, 02:00-03:00 counts twice', () => {
  const night = parseWindow('Sat 20:00-06:00', BERLIN);
  // Sat 20:00 CEST = 18:00Z ... Sun 06:00 CET = 05:00Z: 11 hours.
  assert.equal(minutesInside(night, '2025-10-25T12:00:00Z', '2025-10-26T12:00:00Z'), 660);
  assert.equal(inWindow(night, utc('2025-10-26T00:30:00Z')), true, '02:30 CEST');
  assert.equal(inWindow(night, utc('2025-10-26T01:30:00Z')), true, '02:30 CET');
  assert.equal(inWindow(night, utc('2025-10-26T04:59:00Z')), true, '05:59 CET');
  assert.equal(inWindow(night, utc('2025-10-26T05:00:00Z')), false, '06:00 CET');
  const repeated = parseWindow('Sun 02:00-03:00', BERLIN);
  assert.equal(minutesInside(repeated, '2025-10-25T12:00:00Z', '2025-10-26T12:00:00Z'), 120);
});

test('America/New_York spring forward (2025-03-09) and fall back (2025-11-02)', () => {
  const night = parseWindow('Sat 20:00-06:00', NEW_YORK);
  // Sat 20:00 EST = Sun 01:00Z ... Sun 06:00 EDT = 10:00Z.
  assert.equal(minutesInside(night, '2025-03-08T18:00:00Z', '2025-03-09T18:00:00Z'), 540);
  assert.equal(inWindow(night, utc('2025-03-09T06:59:00Z')), true, '01:59 EST');
  assert.equal(inWindow(night, utc('2025-03-09T07:00:00Z')), true, '03:00 EDT');
  assert.equal(inWindow(night, utc('2025-03-09T10:00:00Z')), false, '06:00 EDT');
  // Sat 20:00 EDT = Sun 00:00Z ... Sun 06:00 EST = 11:00Z.
  assert.equal(minutesInside(night, '2025-11-01T18:00:00Z', '2025-11-02T18:00:00Z'), 660);
  assert.equal(inWindow(night, utc('2025-11-02T05:30:00Z')), true, '01:30 EDT');
  assert.equal(inWindow(night, utc('2025-11-02T06:30:00Z')), true, '01:30 EST');
  assert.equal(inWindow(night, utc('2025-11-02T10:59:00Z')), true, '05:59 EST');
  assert.equal(inWindow(night, utc('2025-11-02T11:00:00Z')), false, '06:00 EST');
});

test('the same instant is inside one zone\'s window and outside another\'s', () => {
  const t = utc('2025-01-14T02:00:00Z'); // Tue 03:00 in Berlin, Mon 21:00 in New York
  assert.equal(inWindow(parseWindow('Mon-Fri 20:00-06:00', BERLIN), t), true);
  assert.equal(inWindow(parseWindow('Mon-Fri 20:00-06:00', NEW_YORK), t), true);
  assert.equal(inWindow(parseWindow('Tue-Fri 20:00-23:00', NEW_YORK), t), false);
  assert.equal(inWindow(parseWindow('Mon 00:00-24:00', BERLIN), t), false, 'Tuesday in Berlin');
  assert.equal(inWindow(parseWindow('Mon 00:00-24:00', NEW_YORK), t), true, 'still Monday in New York');
});
