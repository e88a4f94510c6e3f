import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('durations', () => {
  it.each([
    [450, '450ms'],
    [1_500, '1.5s'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [300_000, '5m'],
    [4_500_000, '1h15m'],
    [7_199_000, '2h'], // 1h59m59s rounds to the minute: never "1h60m" or "2.0h"
    [7_140_000, '1h59m'],
    [129_600_000, '1d12h'],
    [-90_000, '-1m30s'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('reads what it writes back to the same whole unit', () => {
    for (const text of ['450ms', '1.5s', '5m', '2h', '14d']) expect(formatDuration(parseDuration(text)!)).toBe(text);
    expect(parseDuration('soon')).toBeUndefined();
  });
});
