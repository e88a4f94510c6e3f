import type { AlertThreshold } from '../config/schema.js';

/** Whether one value is past the signal's alert threshold. */
export function crosses(value: number, threshold: AlertThreshold): boolean {
  return (
    (threshold.above !== undefined && value > threshold.above) ||
    (threshold.below !== undefined && value < threshold.below)
  );
}

/** SQL condition (on column `value`) that is true when a value crosses; parameters in order. */
export function crossesSql(threshold: AlertThreshold): { sql: string; params: number[] } {
  const parts: string[] = [];
  const params: number[] = [];
  if (threshold.above !== undefined) {
    parts.push('value > ?');
    params.push(threshold.above);
  }
  if (threshold.below !== undefined) {
    parts.push('value < ?');
    params.push(threshold.below);
  }
  return { sql: `(${parts.join(' OR ')})`, params };
}

export function describeThreshold(threshold: AlertThreshold): string {
  const parts: string[] = [];
  if (threshold.above !== undefined) parts.push(`> ${threshold.above}`);
  if (threshold.below !== undefined) parts.push(`< ${threshold.below}`);
  return parts.join(' or ');
}
