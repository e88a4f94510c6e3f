import { performance } from 'node:perf_hooks';

/** Median wall time of `runs` calls (after one warm-up), in ms. */
export async function medianMs(runs: number, fn: () => unknown): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function figure(label: string, value: string, target?: string): void {
  console.log(`${label.padEnd(58)} ${value.padStart(16)}${target ? `   (target ${target})` : ''}`);
}

export const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
