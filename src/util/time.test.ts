import { describe, expect, it } from 'vitest';
import { formatLocal, startOfDay } from './time.js';

const ms = (iso: string) => {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new Error(`bad ISO time ${iso}`);
  return t;
};
const HOUR = 3_600_000;

describe('startOfDay', () => {
  // [time zone, an instant (with its local offset), the start of that local day in UTC]
  it.each([
    ['UTC', '2026-01-05T12:00:00Z', '2026-01-05T00:00:00.000Z'],
    ['UTC', '2026-01-05T23:59:59.999Z', '2026-01-05T00:00:00.000Z'],
    ['UTC', '2026-01-06T00:00:00Z', '2026-01-06T00:00:00.000Z'],
    // Berlin in winter is UTC+1: late evening and just after midnight, where the UTC date differs.
    ['Europe/Berlin', '2026-01-05T23:30:00+01:00', '2026-01-04T23:00:00.000Z'],
    ['Europe/Berlin', '2026-01-06T00:10:00+01:00', '2026-01-05T23:00:00.000Z'],
    ['Europe/Berlin', '2026-07-01T00:30:00+02:00', '2026-06-30T22:00:00.000Z'],
    // West of UTC the local date lags: 20:00 in Los Angeles is already tomorrow in UTC.
    ['America/Los_Angeles', '2026-01-05T20:00:00-08:00', '2026-01-05T08:00:00.000Z'],
    ['Asia/Kolkata', '2026-01-05T03:00:00+05:30', '2026-01-04T18:30:00.000Z'],
    ['Asia/Kathmandu', '2026-01-05T12:00:00+05:45', '2026-01-04T18:15:00.000Z'],
    ['Pacific/Kiritimati', '2026-01-05T01:00:00+14:00', '2026-01-04T10:00:00.000Z'],
    ['Pacific/Chatham', '2026-01-05T12:00:00+13:45', '2026-01-04T10:15:00.000Z'],
    // DST: Berlin springs forward on 2026-03-29 and falls back on 2026-10-25; the day starts
    // at local midnight with the offset in force at midnight.
    ['Europe/Berlin', '2026-03-29T23:30:00+02:00', '2026-03-28T23:00:00.000Z'],
    ['Europe/Berlin', '2026-10-25T23:50:00+01:00', '2026-10-24T22:00:00.000Z'],
    ['America/New_York', '2026-03-08T12:00:00-04:00', '2026-03-08T05:00:00.000Z'],
    ['America/New_York', '2026-11-01T23:00:00-05:00', '2026-11-01T04:00:00.000Z'],
    // Where DST begins at midnight there is no 00:00: the day begins at 01:00.
    ['America/Sao_Paulo', '2018-11-04T12:00:00-02:00', '2018-11-04T03:00:00.000Z'],
    ['America/Havana', '2026-03-08T12:00:00-04:00', '2026-03-08T05:00:00.000Z'],
  ])('%s: %s → %s', (tz, at, expected) => {
    expect(new Date(startOfDay(ms(at), tz)).toISOString()).toBe(expected);
  });

  it.each([
    ['UTC', '2026-01-05T12:00:00Z', 24],
    ['Europe/Berlin', '2026-01-05T12:00:00+01:00', 24],
    ['Europe/Berlin', '2026-03-29T12:00:00+02:00', 23],
    ['Europe/Berlin', '2026-10-25T12:00:00+01:00', 25],
    ['America/New_York', '2026-03-08T12:00:00-04:00', 23],
    ['America/New_York', '2026-11-01T12:00:00-05:00', 25],
  ])('%s: the day of %s is %i hours long', (tz, at, hours) => {
    const start = startOfDay(ms(at), tz);
    const next = startOfDay(start + 26 * HOUR, tz);
    expect((next - start) / HOUR).toBe(hours);
  });

  it('is the same for every instant of the local day and idempotent', () => {
    const tz = 'Europe/Berlin';
    const start = ms('2026-10-24T22:00:00Z'); // 2026-10-25 00:00 in Berlin, a 25-hour day
    for (let t = start; t < start + 25 * HOUR; t += 15 * 60_000) {
      expect(startOfDay(t, tz)).toBe(start);
    }
    expect(startOfDay(start, tz)).toBe(start);
    expect(startOfDay(start - 1, tz)).toBe(ms('2026-10-23T22:00:00Z'));
    expect(startOfDay(start + 25 * HOUR, tz)).toBe(start + 25 * HOUR);
  });
});

describe('formatLocal', () => {
  it.each([
    ['UTC', '2026-01-05T14:03:59Z', '2026-01-05 14:03 UTC'],
    ['Europe/Berlin', '2026-01-05T23:10:00Z', '2026-01-06 00:10 Europe/Berlin'],
    ['Europe/Berlin', '2026-10-24T22:00:00Z', '2026-10-25 00:00 Europe/Berlin'],
    ['America/Los_Angeles', '2026-01-06T04:00:00Z', '2026-01-05 20:00 America/Los_Angeles'],
  ])('%s: %s → %s', (tz, at, text) => {
    expect(formatLocal(ms(at), tz)).toBe(text);
  });
});
