import { reportsDir } from './paths.js';
import path from 'node:path';
import { KaizenError } from '../errors.js';
import { writeAtomic } from '../util/atomic-file.js';
import { buildCharts, type Chart } from './charts.js';
import { gatherWeeklyData, type ReportDeps, type WeeklyData } from './data.js';
import { buildDocument, type ReportDocument } from './document.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { narrate, type Narrative, type NarrativeOptions } from './narrative.js';
import { resolveWeek } from './week.js';

/*
 * The weekly meta-review: gather the week's figures from the store, draw the charts, ask the model
 * for a narrative (or rank the next moves without one), and write the same report as HTML and as
 * Markdown (with its charts as SVG files) into <dataDir>/reports/. Each file is written atomically,
 * so a report being rewritten is never seen half-written.
 */

export interface WeeklyReportOptions extends NarrativeOptions {
  /** An ISO week such as `2026-W47`, in the configured time zone. Default: the last complete week. */
  week?: string;
}

export interface WeeklyReport {
  data: WeeklyData;
  narrative: Narrative;
  charts: Chart[];
  document: ReportDocument;
  html: string;
  markdown: string;
}

export interface WrittenReport {
  /** `2026-W47` */
  week: string;
  /** Absolute paths of what was written. */
  html: string;
  markdown: string;
  charts: string[];
  /** Whether the next moves came from a model or the deterministic ranking, and why. */
  nextMoves: { mode: Narrative['mode']; note: string };
}

/** The chart file of a week's Markdown report, relative to it. */
export const chartFileName = (week: string, chartId: string): string => `weekly-${week}-${chartId}.svg`;

/** Build the report in memory (no files written except the lessons index sync). */
export async function buildWeeklyReport(
  deps: ReportDeps,
  options: WeeklyReportOptions = {},
): Promise<WeeklyReport> {
  const week = resolveWeek(options.week, deps.clock.now(), deps.config.timeZone);
  const data = gatherWeeklyData(deps, week);
  const charts = buildCharts(data);
  const narrative = await narrate(deps, data, options);
  const document = buildDocument(data, narrative, charts);
  return {
    data,
    narrative,
    charts,
    document,
    html: renderHtml(document),
    markdown: renderMarkdown(document, (id) => chartFileName(week.label, id)),
  };
}

/** Build the report and write it: weekly-<week>.html, weekly-<week>.md and its charts. */
export async function writeWeeklyReport(
  deps: ReportDeps,
  options: WeeklyReportOptions = {},
): Promise<WrittenReport> {
  const report = await buildWeeklyReport(deps, options);
  const label = report.data.week.label;
  const dir = reportsDir(deps.config);
  const html = path.join(dir, `weekly-${label}.html`);
  const markdown = path.join(dir, `weekly-${label}.md`);
  const charts = report.charts.map((c) => ({ file: path.join(dir, chartFileName(label, c.id)), svg: c.svg }));
  try {
    // Charts first: once the Markdown is there, the images it links to are too.
    for (const c of charts) writeAtomic(c.file, c.svg);
    writeAtomic(markdown, report.markdown);
    writeAtomic(html, report.html);
  } catch (err) {
    throw new KaizenError(
      'REPORT_FAILED',
      `could not write the weekly report into ${dir}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return {
    week: label,
    html,
    markdown,
    charts: charts.map((c) => c.file),
    nextMoves: { mode: report.narrative.mode, note: report.narrative.note },
  };
}
