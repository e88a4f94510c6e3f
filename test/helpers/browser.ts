import { existsSync } from 'node:fs';
import type { PNG } from 'pngjs';

/*
 * For tests that drive headless Chromium (Debian's `chromium`, which .ci/run installs) through
 * playwright-core, and check screenshots. KAIZEN_CHROMIUM overrides the browser path.
 */

export const CHROMIUM = process.env.KAIZEN_CHROMIUM ?? '/usr/bin/chromium';
/** Under CI a missing browser fails the suite; on a developer's machine the browser tests skip. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** The reason a browser test is skipped or, under CI, fails. */
export function missingChromium(what: string): string {
  return IN_CI
    ? `CI needs Chromium for ${what}, but ${CHROMIUM} does not exist: .ci/run installs Debian's chromium (apt-get install -y chromium)`
    : `skipping ${what}: no Chromium at ${CHROMIUM} (Debian: apt-get install chromium, or set KAIZEN_CHROMIUM)`;
}

/** Share of pixels that are not near-white, and how many distinct colours (in 32-level bins) there are. */
export function inkOf(img: PNG): { inked: number; colours: number } {
  let inked = 0;
  const bins = new Set<number>();
  for (let i = 0; i < img.data.length; i += 4) {
    const [r, g, b] = [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
    if (r > 240 && g > 240 && b > 240) continue;
    inked++;
    bins.add(((r >> 5) << 6) | ((g >> 5) << 3) | (b >> 5));
  }
  return { inked: inked / (img.width * img.height), colours: bins.size };
}

/** How many pixels are within `tolerance` (summed over r, g and b) of a colour. */
export function countNear(img: PNG, [r, g, b]: [number, number, number], tolerance = 24): number {
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (
      Math.abs(img.data[i]! - r) + Math.abs(img.data[i + 1]! - g) + Math.abs(img.data[i + 2]! - b) <=
      tolerance
    )
      n++;
  }
  return n;
}
