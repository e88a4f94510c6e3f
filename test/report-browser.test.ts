import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWeeklyReport, type WrittenReport } from '../src/report/weekly.js';
import { CHROMIUM, countNear, HAVE_CHROMIUM, IN_CI, inkOf } from './helpers/browser.js';
import { buildHistory, type History } from './report-history.js';

/*
 * The HTML report opened in a real headless Chromium (Debian's `chromium`, which .ci/run installs,
 * driven by playwright-core): every chart must render (an SVG of real size with drawn series) and
 * a screenshot of each must show a chart, not a blank box. The page must load nothing but itself.
 *
 * KAIZEN_CHROMIUM overrides the browser path. Under CI a missing browser fails the suite; on a
 * developer's machine it skips with the reason. KAIZEN_UPDATE_SCREENSHOT=1 also writes
 * docs/report.png, the README's screenshot.
 */

if (!HAVE_CHROMIUM && !IN_CI) {
  console.warn(
    `skipping the weekly report's browser test: no Chromium at ${CHROMIUM} (Debian: apt-get install chromium, or set KAIZEN_CHROMIUM)`,
  );
}

let h: History;
let written: WrittenReport;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const consoleErrors: string[] = [];

it.runIf(IN_CI && !HAVE_CHROMIUM)('has Chromium (CI must run the browser test)', () => {
  expect.fail(
    `CI needs Chromium for the weekly report's browser test, but ${CHROMIUM} does not exist: .ci/run installs Debian's chromium (apt-get install -y chromium)`,
  );
});

describe.skipIf(!HAVE_CHROMIUM)('the weekly report in headless Chromium', () => {
  beforeAll(async () => {
    h = await buildHistory();
    written = await writeWeeklyReport(h.rt, { provider: null });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
    page.on('request', (r) => void requests.push(r.url()));
    page.on('console', (m) => void (m.type() === 'error' && consoleErrors.push(m.text())));
    await page.goto(pathToFileURL(written.html).href);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    h?.close();
  });

  it('loads nothing but the file itself, with no error', () => {
    expect(requests).toEqual([pathToFileURL(written.html).href]);
    expect(consoleErrors).toEqual([]);
  });

  it('renders every chart as an SVG of real size with drawn series', async () => {
    const charts = await page.locator('figure.chart').evaluateAll((figures) =>
      figures.map((f) => {
        const svg = f.querySelector('svg')!;
        const box = svg.getBoundingClientRect();
        // Axis and grid lines are grey or white; series are drawn in colour.
        const isSeries = (c: string | null): c is string =>
          !!c &&
          c !== 'none' &&
          c !== 'transparent' &&
          !/^#(fff|ffffff|e0e6f1|6e7079|ccc|555|777|54555a)$/i.test(c);
        const series = [...svg.querySelectorAll('path')].filter(
          (p) => isSeries(p.getAttribute('fill')) || isSeries(p.getAttribute('stroke')),
        );
        return {
          id: f.getAttribute('data-chart'),
          width: box.width,
          height: box.height,
          colours: new Set(series.map((p) => p.getAttribute('fill') ?? p.getAttribute('stroke'))).size,
          // A line is one long path (many segments), bars and points are many small ones.
          drawn: Math.max(
            series.length,
            ...series.map((p) => (p.getAttribute('d') ?? '').split(/[ML]/).length - 1),
          ),
        };
      }),
    );

    expect(charts.map((c) => c.id).sort()).toEqual(
      written.charts.map((c) => path.basename(c).replace(/^weekly-2026-W47-|\.svg$/g, '')).sort(),
    );
    for (const c of charts) {
      expect(c.width, c.id!).toBeGreaterThan(600);
      expect(c.height, c.id!).toBeGreaterThan(250);
      expect(c.drawn, c.id!).toBeGreaterThanOrEqual(8);
      expect(c.colours, c.id!).toBeGreaterThanOrEqual(1);
    }
    expect(charts.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'outcomes',
        'areas',
        'mttr',
        'calibration',
        'calibration-error',
        'signal-app-p95_ms',
      ]),
    );
  });

  it('draws visible charts: each screenshot has a chart’s worth of coloured pixels', async () => {
    const dir = path.join(h.dir, 'screenshots');
    mkdirSync(dir, { recursive: true });
    for (const id of await page
      .locator('figure.chart')
      .evaluateAll((fs) => fs.map((f) => f.getAttribute('data-chart')!))) {
      const shot = await page
        .locator(`figure.chart[data-chart="${id}"] svg`)
        .screenshot({ path: path.join(dir, `${id}.png`) });
      const { inked, colours } = inspect(shot);

      expect(inked, id).toBeGreaterThan(0.02);
      expect(colours, id).toBeGreaterThanOrEqual(3);
    }
    // The outcomes chart shows the validated bars in their colour (#2e7d32).
    const outcomes = PNG.sync.read(
      await page.locator('figure.chart[data-chart="outcomes"] svg').screenshot(),
    );
    expect(countNear(outcomes, [0x2e, 0x7d, 0x32])).toBeGreaterThan(2000);
  });

  it.runIf(process.env.KAIZEN_UPDATE_SCREENSHOT === '1')('writes the README screenshot', async () => {
    const file = path.resolve(import.meta.dirname, '../docs/report.png');
    mkdirSync(path.dirname(file), { recursive: true });

    await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y: 0, width: 1000, height: 2200 } });

    expect(existsSync(file)).toBe(true);
  });
});

/** inkOf for a PNG buffer. */
function inspect(png: Buffer): { inked: number; colours: number } {
  return inkOf(PNG.sync.read(png));
}
