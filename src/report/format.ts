import { formatNumber } from '../cli/io.js';
import { formatDuration } from '../util/duration.js';
import { formatLocal } from '../util/time.js';

/*
 * How the report writes numbers, shared by the HTML and the Markdown so both say exactly the same.
 * A missing value is "–" (en dash), never 0: "no recoveries" is not "recovered in 0 s".
 */

export const NONE = '–';

export const count = (n: number): string => String(n);

export const number = (v: number | null): string => (v === null ? NONE : formatNumber(v));

/** A share (0.667) as a whole percentage ("67 %"). */
export const share = (v: number | null): string => (v === null ? NONE : `${Math.round(v * 100)} %`);

/** A calibration error, two decimals. */
export const error = (v: number | null): string => (v === null ? NONE : v.toFixed(2));

/** A signed change of a calibration error, two decimals with its sign. */
export const errorChange = (v: number | null): string =>
  v === null ? NONE : `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(2)}`;

export const duration = (ms: number | null): string => (ms === null ? NONE : formatDuration(ms));

export const time = (ms: number, timeZone: string): string => formatLocal(ms, timeZone);
