import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { describeDays, parseWeek, resolveWeek, shiftWeek, weekContaining } from './week.js';

const HOUR = 3_600_000;

describe('ISO weeks', () => {
  it('reads 2026-W47 as Monday 16 to Monday 23 November in the zone', () => {
    const utc = parseWeek('2026-W47', 'UTC');
    const berlin = parseWeek('2026-W47', 'Europe/Berlin');

    expect(utc).toEqual({
      label: '2026-W47',
      start: Date.UTC(2026, 10, 16),
      end: Date.UTC(2026, 10, 23),
      timeZone: 'UTC',
    });
    expect(berlin.start).toBe(Date.UTC(2026, 10, 15, 23));
    expect(describeDays(utc)).toBe('16–22 Nov 2026');
  });

  it('gives the week that ends DST an extra hour and names weeks across a year end by their ISO year', () => {
    // Europe/Berlin leaves summer time on Sunday 25 October 2026 (in 2026-W43).
    const dst = parseWeek('2026-W43', 'Europe/Berlin');
    const newYear = weekContaining(Date.UTC(2027, 0, 1, 12), 'UTC');

    expect(dst.end - dst.start).toBe(7 * 24 * HOUR + HOUR);
    expect(newYear.label).toBe('2026-W53');
    expect(describeDays(newYear)).toBe('28 Dec–3 Jan 2027');
    expect(shiftWeek(newYear, 1).label).toBe('2027-W01');
    expect(shiftWeek(parseWeek('2026-W01', 'UTC'), -1).label).toBe('2025-W52');
  });

  it.each([
    ['2026-47', '--week "2026-47": expected an ISO week such as 2026-W47'],
    ['W47', '--week "W47": expected an ISO week such as 2026-W47'],
    ['2026-W7', '--week "2026-W7": expected an ISO week such as 2026-W47'],
    ['last week', '--week "last week": expected an ISO week such as 2026-W47'],
    ['2026-W00', '--week "2026-W00": 2026 has ISO weeks W01 to W53; expected an ISO week such as 2026-W47'],
    ['2025-W53', '--week "2025-W53": 2025 has ISO weeks W01 to W52; expected an ISO week such as 2025-W47'],
  ])('refuses %j with a message a person can act on', (text, message) => {
    const attempt = () => parseWeek(text, 'UTC');

    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
  });

  it('defaults to the last complete week and refuses a week that has not started', () => {
    const now = Date.UTC(2026, 10, 24, 9); // Tuesday of 2026-W48

    expect(resolveWeek(undefined, now, 'UTC').label).toBe('2026-W47');
    expect(resolveWeek('2026-W48', now, 'UTC').label).toBe('2026-W48');
    expect(() => resolveWeek('2026-W49', now, 'UTC')).toThrow(
      '--week 2026-W49 has not started yet: it starts 2026-11-30 00:00 UTC and it is 2026-11-24 09:00 UTC; the latest complete week is 2026-W47',
    );
  });
});
