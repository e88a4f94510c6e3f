import { DateTime } from 'luxon';

/** Start (ms) of the calendar day containing `ms` in time zone `tz`; DST-safe. */
export function startOfDay(ms: number, tz: string): number {
  return DateTime.fromMillis(ms, { zone: tz }).startOf('day').toMillis();
}

/** `2026-01-05 14:03` in `tz`, for messages people read. */
export function formatLocal(ms: number, tz: string): string {
  return (
    DateTime.fromMillis(ms, { zone: tz }).toFormat('yyyy-LL-dd HH:mm') + (tz === 'UTC' ? ' UTC' : ` ${tz}`)
  );
}
