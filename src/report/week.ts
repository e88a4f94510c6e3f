import { DateTime } from 'luxon';
import { UsageError } from '../errors.js';
import { formatLocal } from '../util/time.js';

/** One ISO week (Monday to Sunday) in a time zone. */
export interface IsoWeek {
  /** `2026-W47` */
  label: string;
  /** Monday 00:00 in `timeZone`, ms since the epoch. */
  start: number;
  /** The next Monday 00:00 (exclusive). Not always start + 7 days: DST moves it by an hour. */
  end: number;
  timeZone: string;
}

const WEEK = /^(\d{4})-W(\d{2})$/;

/** The week a person means by `2026-W47`, in `timeZone`. Throws a UsageError a person can act on. */
export function parseWeek(text: string, timeZone: string): IsoWeek {
  const m = WEEK.exec(text.trim());
  if (!m) throw new UsageError(`--week ${JSON.stringify(text)}: expected an ISO week such as 2026-W47`);
  const weekYear = Number(m[1]);
  const weekNumber = Number(m[2]);
  const weeks = DateTime.fromObject({ weekYear, weekNumber: 1 }, { zone: timeZone }).weeksInWeekYear;
  if (weekNumber < 1 || weekNumber > weeks) {
    throw new UsageError(
      `--week ${JSON.stringify(text)}: ${weekYear} has ISO weeks W01 to W${weeks}; expected an ISO week such as ${weekYear}-W${String(Math.min(47, weeks))}`,
    );
  }
  return weekOf(DateTime.fromObject({ weekYear, weekNumber, weekday: 1 }, { zone: timeZone }), timeZone);
}

/** The week containing `ms`. */
export function weekContaining(ms: number, timeZone: string): IsoWeek {
  return weekOf(DateTime.fromMillis(ms, { zone: timeZone }), timeZone);
}

/** The week `n` weeks after `week` (before it when negative). */
export function shiftWeek(week: IsoWeek, n: number): IsoWeek {
  return weekOf(DateTime.fromMillis(week.start, { zone: week.timeZone }).plus({ weeks: n }), week.timeZone);
}

/**
 * The week a report is about: the one named, or by default the last complete week (a report
 * written on Monday morning covers the week that just ended). A week that has not started yet has
 * nothing to report and is refused; the current week is allowed and marked as in progress.
 */
export function resolveWeek(text: string | undefined, now: number, timeZone: string): IsoWeek {
  if (text === undefined) return shiftWeek(weekContaining(now, timeZone), -1);
  const week = parseWeek(text, timeZone);
  if (week.start > now) {
    throw new UsageError(
      `--week ${week.label} has not started yet: it starts ${formatLocal(week.start, timeZone)} and it is ${formatLocal(now, timeZone)}; the latest complete week is ${shiftWeek(weekContaining(now, timeZone), -1).label}`,
    );
  }
  return week;
}

/** `16–22 Nov 2026` for headings. */
export function describeDays(week: IsoWeek): string {
  const first = DateTime.fromMillis(week.start, { zone: week.timeZone });
  const last = DateTime.fromMillis(week.end, { zone: week.timeZone }).minus({ days: 1 });
  const sameMonth = first.month === last.month;
  return `${first.toFormat(sameMonth ? 'd' : 'd LLL')}–${last.toFormat('d LLL yyyy')}`;
}

/** The calendar date (`YYYY-MM-DD`) of `ms` in the zone, as lesson files write dates. */
export function isoDate(ms: number, timeZone: string): string {
  return DateTime.fromMillis(ms, { zone: timeZone }).toISODate() ?? '';
}

function weekOf(dt: DateTime, timeZone: string): IsoWeek {
  const monday = dt.startOf('week');
  return {
    label: `${monday.weekYear}-W${String(monday.weekNumber).padStart(2, '0')}`,
    start: monday.toMillis(),
    end: monday.plus({ weeks: 1 }).toMillis(),
    timeZone,
  };
}
