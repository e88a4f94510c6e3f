import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { SignalSeries } from './api.js';

/*
 * A signal's samples as a uPlot line chart with vertical markers where an intervention on it was
 * applied (solid green) and where one was undone (dashed red). uPlot draws on a canvas, so the
 * markers are drawn there too, after the series; the page lists them as text as well.
 */

export interface Marker {
  /** ms since the epoch. */
  t: number;
  kind: 'applied' | 'undone';
  /** The intervention id, drawn beside the line. */
  label: string;
}

/** The same colours as the `.swatch` and `.key` classes in style.css. */
const MARKER_COLOURS: Record<Marker['kind'], string> = { applied: '#2e7d32', undone: '#c62828' };
const LINE = '#1f5fa8';
const HEIGHT = 320;

export function SignalChart({
  series,
  markers,
  until,
}: {
  series: SignalSeries;
  markers: Marker[];
  /** The end of the span shown (ms): the server's now, which may not be the browser's. */
  until: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = series.points.map((p) => p.t / 1000);
    const ys = series.points.map((p) => p.value);
    const plot = new uPlot(
      {
        width: el.clientWidth || 800,
        height: HEIGHT,
        // The whole span asked for, so markers near either end stay in view.
        scales: { x: { time: true, range: () => [series.since / 1000, until / 1000] } },
        series: [
          {},
          {
            label: `${series.signal} (${series.unit})`,
            stroke: LINE,
            width: 2,
            fill: 'rgba(31, 95, 168, 0.08)',
            points: { show: series.points.length < 60 },
          },
        ],
        axes: [{}, { label: series.unit, size: 60 }],
        plugins: [markerPlugin(markers)],
      },
      [xs, ys],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, markers, until]);
  return <div class="chart" ref={box} data-chart={`${series.target}/${series.signal}`} />;
}

function markerPlugin(markers: Marker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const { left, top, width, height } = u.bbox;
          const px = devicePixelRatio;
          ctx.save();
          ctx.font = `${12 * px}px system-ui, sans-serif`;
          ctx.lineWidth = 2 * px;
          for (const m of markers) {
            const x = Math.round(u.valToPos(m.t / 1000, 'x', true));
            if (x < left || x > left + width) continue;
            ctx.strokeStyle = ctx.fillStyle = MARKER_COLOURS[m.kind];
            ctx.setLineDash(m.kind === 'undone' ? [6 * px, 4 * px] : []);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            ctx.fillText(
              `${m.kind === 'applied' ? '▲' : '↶'} ${m.label}`,
              x + 4 * px,
              top + (m.kind === 'applied' ? 14 : 30) * px,
            );
          }
          ctx.restore();
        },
      ],
    },
  };
}
