import { z } from 'zod';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;

/** Parse a duration such as `30s`, `5m`, `1.5h`, `14d`; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/** Render milliseconds as the largest whole unit that fits (`90000` → `1.5m`). */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (abs >= size) {
      const v = ms / size;
      return `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`;
    }
  }
  return `${Math.round(ms)}ms`;
}

/** A config duration: a string like `30s` compiled to milliseconds. */
export const Duration = z
  .string({
    error: (iss) => `expected a duration such as "30s", "5m", "2h" or "14d", got ${describeValue(iss.input)}`,
  })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration such as "30s", "5m", "2h" or "14d", got ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
