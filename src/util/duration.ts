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

/**
 * Render milliseconds in the largest unit that fits, with the next unit down when it is not whole:
 * `90000` → `1m30s`, `4500000` → `1h15m`, `1500` → `1.5s`. Never `2.0h` for 1 h 59 m 59 s.
 */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const;
  for (let i = 0; i < units.length - 1; i++) {
    const [unit, size] = units[i]!;
    const [small, smallSize] = units[i + 1]!;
    if (ms < size) continue;
    // Rounded to the smaller unit first, so 1h59m59s is 2h, not 1h60m.
    const smalls = Math.round(ms / smallSize);
    const per = size / smallSize;
    const whole = Math.floor(smalls / per);
    const rest = smalls - whole * per;
    return rest === 0 ? `${whole}${unit}` : `${whole}${unit}${rest}${small}`;
  }
  if (ms >= 1_000) {
    const v = ms / 1_000;
    return `${Number.isInteger(v) ? v : Number(v.toFixed(1))}s`;
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
