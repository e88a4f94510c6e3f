import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent, TitleComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { DateTime } from 'luxon';
import { HOUR_MS } from '../store/samples.js';
import { VERDICT_STATES, type VerdictState, type WeeklyData } from './data.js';

/*
 * The report's charts, rendered at report time by Apache ECharts' server-side SVG renderer: no
 * browser, no canvas, no script in the output. The SVG goes inline into the HTML (self-contained)
 * and into files next to the Markdown. ECharts escapes every text it draws, so names from the
 * store cannot inject markup.
 */

echarts.use([
  BarChart,
  LineChart,
  ScatterChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  SVGRenderer,
]);

export interface Chart {
  /** File-name safe, unique in one report: `outcomes`, `signal-app-latency_ms`. */
  id: string;
  title: string;
  /** What it shows, for alt text and captions. */
  caption: string;
  svg: string;
}

const WIDTH = 880;
const HEIGHT = 320;
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

export const VERDICT_COLOURS: Record<VerdictState, string> = {
  validated: '#2e7d32',
  no_effect: '#9e9e9e',
  inconclusive: '#c5b358',
  reverted: '#c62828',
  rolled_back: '#ef6c00',
};
/** Series colours for areas and origins, distinguishable in colour-blind viewing (Okabe–Ito). */
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000'];

/** Every chart the report's data has something for, in report order. */
export function buildCharts(data: WeeklyData): Chart[] {
  return [
    outcomesChart(data),
    areasChart(data),
    ...data.signals.map((s) => signalChart(data, s)),
    mttrChart(data),
    calibrationChart(data),
    calibrationErrorChart(data),
  ].filter((c): c is Chart => c !== null);
}

function render(option: Record<string, unknown>, height = HEIGHT): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({
      animation: false,
      color: PALETTE,
      textStyle: { fontFamily: FONT },
      grid: { left: 64, right: 24, top: 48, bottom: 56 },
      // Server-side text is measured with a generic font table; wide gaps keep legend entries apart
      // in whatever sans-serif the browser picks.
      legend: { top: 8, type: 'plain', itemGap: 28, icon: 'roundRect' },
      ...option,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const weeks = (d: WeeklyData) => d.trend.map((w) => w.label);

function outcomesChart(d: WeeklyData): Chart | null {
  if (d.trend.every((w) => VERDICT_STATES.every((s) => w.outcomes[s] === 0))) return null;
  return {
    id: 'outcomes',
    title: 'Outcomes by week',
    caption: `Interventions that reached each outcome, per week, ${d.trend[0]!.label} to ${d.week.label}`,
    svg: render({
      xAxis: { type: 'category', data: weeks(d) },
      yAxis: { type: 'value', name: 'interventions', minInterval: 1 },
      series: VERDICT_STATES.map((s) => ({
        name: s,
        type: 'bar',
        stack: 'outcomes',
        barMaxWidth: 56,
        itemStyle: { color: VERDICT_COLOURS[s] },
        data: d.trend.map((w) => w.outcomes[s]),
      })),
    }),
  };
}

function areasChart(d: WeeklyData): Chart | null {
  const areas = [...new Set(d.trend.flatMap((w) => Object.keys(w.byArea)))].sort();
  if (areas.length === 0) return null;
  return {
    id: 'areas',
    title: 'Outcomes by area',
    caption: `The same outcomes by area of the target, per week`,
    svg: render({
      xAxis: { type: 'category', data: weeks(d) },
      yAxis: { type: 'value', name: 'interventions', minInterval: 1 },
      series: areas.map((a) => ({
        name: a,
        type: 'bar',
        stack: 'areas',
        barMaxWidth: 56,
        data: d.trend.map((w) => w.byArea[a] ?? 0),
      })),
    }),
  };
}

function signalChart(d: WeeklyData, s: WeeklyData['signals'][number]): Chart | null {
  if (s.points.length === 0) return null;
  const label = (t: number) => DateTime.fromMillis(t, { zone: d.week.timeZone }).toFormat('ccc d HH:mm');
  const hours = s.points.map((p) => label(p.t));
  const at = new Map(s.points.map((p, i) => [p.t, i]));
  const marks: Record<string, unknown>[] = s.applied.flatMap((a) => {
    const i = at.get(Math.floor(a.t / HOUR_MS) * HOUR_MS);
    return i === undefined ? [] : [{ xAxis: hours[i], name: a.id, label: { formatter: a.id } }];
  });
  for (const [op, value] of [
    ['>', s.alert?.above],
    ['<', s.alert?.below],
  ] as const) {
    if (value === undefined) continue;
    marks.push({
      yAxis: value,
      name: `alert ${op} ${value}`,
      label: { formatter: `alert ${op} ${value}`, position: 'insideEndTop' },
      lineStyle: { color: '#c62828' },
    });
  }
  return {
    id: `signal-${safeId(s.target)}-${safeId(s.name)}`,
    title: `${s.name} (${s.unit})${d.targets.length > 1 ? ` on ${s.target}` : ''}`,
    caption: `Hourly median of ${s.name} this week; dashed lines mark when ${s.applied.map((a) => a.id).join(', ')} went live${s.threshold ? ` and the alert threshold (${s.threshold})` : ''}`,
    svg: render({
      legend: { show: false },
      xAxis: { type: 'category', data: hours, axisLabel: { interval: 23 } },
      yAxis: { type: 'value', name: s.unit, scale: true },
      series: [
        {
          name: s.name,
          type: 'line',
          showSymbol: false,
          data: s.points.map((p) => p.value),
          lineStyle: { width: 2 },
          markLine: {
            symbol: 'none',
            lineStyle: { type: 'dashed', color: '#555' },
            label: { fontSize: 11 },
            data: marks,
          },
        },
      ],
    }),
  };
}

function mttrChart(d: WeeklyData): Chart | null {
  if (d.trend.every((w) => w.mttrMs === null)) return null;
  return {
    id: 'mttr',
    title: 'Mean time to recovery by week',
    caption: 'Mean time from an alert to the signal being back within its threshold, in hours, per week',
    svg: render({
      legend: { show: false },
      xAxis: { type: 'category', data: weeks(d) },
      yAxis: { type: 'value', name: 'hours' },
      series: [
        {
          name: 'MTTR',
          type: 'bar',
          barMaxWidth: 56,
          itemStyle: { color: '#0072b2' },
          label: {
            show: true,
            position: 'top',
            formatter: ({ value }: { value: number | null }) => (value === null ? '' : value.toFixed(1)),
          },
          data: d.trend.map((w) => (w.mttrMs === null ? null : Number((w.mttrMs / HOUR_MS).toFixed(2)))),
        },
      ],
    }),
  };
}

function calibrationChart(d: WeeklyData): Chart | null {
  const points = d.calibration.points.filter((p) => p.relative);
  if (points.length === 0) return null;
  const origins = [...new Set(points.map((p) => p.origin))].sort();
  const pct = (v: number) => Number((v * 100).toFixed(1));
  const max = Math.max(...points.map((p) => Math.max(pct(p.predicted), pct(p.actual))), 10);
  const skipped = d.calibration.points.length - points.length;
  return {
    id: 'calibration',
    title: 'Calibration: predicted vs actual change',
    caption: `Each verdict of the last ${d.trend.length} weeks: the change predicted against the change measured, in % of the baseline median; on the dashed line a prediction came true exactly, below it the proposer promised more than it delivered${skipped ? ` (${skipped} absolute prediction${skipped === 1 ? '' : 's'} not shown: other units)` : ''}`,
    svg: render(
      {
        xAxis: {
          type: 'value',
          name: 'predicted %',
          nameLocation: 'middle',
          nameGap: 28,
          min: 0,
          max: Math.ceil(max / 10) * 10,
        },
        yAxis: { type: 'value', name: 'actual %' },
        series: [
          ...origins.map((o) => ({
            name: o,
            type: 'scatter',
            symbolSize: 11,
            data: points.filter((p) => p.origin === o).map((p) => [pct(p.predicted), pct(p.actual)]),
          })),
          {
            name: 'as predicted',
            type: 'line',
            showSymbol: false,
            lineStyle: { type: 'dashed', color: '#777' },
            itemStyle: { color: '#777' },
            data: [
              [0, 0],
              [Math.ceil(max / 10) * 10, Math.ceil(max / 10) * 10],
            ],
          },
        ],
      },
      360,
    ),
  };
}

function calibrationErrorChart(d: WeeklyData): Chart | null {
  if (d.trend.every((w) => w.calibration.n === 0)) return null;
  const origins = [...new Set(d.trend.flatMap((w) => Object.keys(w.calibrationByOrigin)))].sort();
  const round = (v: number | null | undefined) =>
    v === null || v === undefined ? null : Number(v.toFixed(3));
  return {
    id: 'calibration-error',
    title: 'Calibration error by week',
    caption:
      'Mean calibration error per week (0 = every prediction came true exactly, 1 = missed by the whole predicted change), overall and by prompt version and model',
    svg: render({
      xAxis: { type: 'category', data: weeks(d) },
      yAxis: { type: 'value', name: 'mean error', min: 0 },
      series: [
        ...origins.map((o) => ({
          name: o,
          type: 'line',
          connectNulls: true,
          lineStyle: { width: 4, opacity: 0.75 },
          data: d.trend.map((w) => round(w.calibrationByOrigin[o])),
        })),
        // Drawn last so it stays visible where one origin made every proposal of a week.
        {
          name: 'all proposals',
          type: 'line',
          connectNulls: true,
          lineStyle: { width: 1.5, type: 'dashed', color: '#222' },
          itemStyle: { color: '#222' },
          data: d.trend.map((w) => round(w.calibration.meanError)),
        },
      ],
    }),
  };
}

function safeId(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .slice(0, 60);
}
