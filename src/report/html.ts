import type { Block, ReportDocument } from './document.js';

/*
 * The report as one self-contained HTML file: inline CSS, charts as inline SVG, no script, no
 * font, no request of any kind (a Content-Security-Policy says so to the browser too). Every
 * string from the store or a model is escaped here; the chart SVG comes from ECharts, which
 * escapes the text it draws.
 */

const CSS = `
:root { color-scheme: light; --ink: #1d1f23; --muted: #5f6368; --line: #e3e5e8; --card: #f6f7f9; --accent: #0072b2; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 960px; margin: 0 auto; padding: 24px 24px 48px; }
header h1 { font-size: 26px; margin: 0 0 4px; }
header p { margin: 0; color: var(--muted); }
nav { margin: 16px 0 8px; font-size: 13px; display: flex; flex-wrap: wrap; gap: 4px 14px; }
nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
section { border-top: 1px solid var(--line); margin-top: 28px; padding-top: 8px; }
h2 { font-size: 20px; margin: 12px 0; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin: 12px 0; }
.figure { background: var(--card); border-radius: 6px; padding: 8px 12px; }
.figure .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.figure .label { font-size: 12px; color: var(--muted); }
.table { overflow-x: auto; margin: 8px 0 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: var(--card); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure.chart { margin: 16px 0; }
figure.chart h3 { margin: 0 0 4px; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: var(--muted); }
p.empty { color: var(--muted); font-style: italic; }
p.note { color: var(--muted); font-size: 13px; }
p.model { background: var(--card); border-left: 3px solid var(--accent); padding: 8px 12px; white-space: pre-wrap; }
ol.moves li { margin-bottom: 6px; }
footer { margin-top: 36px; font-size: 12px; color: var(--muted); }
`;

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderHtml(doc: ReportDocument): string {
  const nav = doc.sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join('');
  const sections = doc.sections
    .map(
      (s) =>
        `<section id="${escapeHtml(s.id)}">\n<h2>${escapeHtml(s.title)}</h2>\n${s.blocks.map(block).join('\n')}\n</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(doc.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(doc.title)}</h1>
<p>${escapeHtml(doc.subtitle)}</p>
</header>
<nav>${nav}</nav>
${sections}
<footer>${doc.footer.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}</footer>
</main>
</body>
</html>
`;
}

function block(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return `<h3>${escapeHtml(b.text)}</h3>`;
    case 'paragraph':
      return `<p${b.tone ? ` class="${b.tone}"` : ''}>${escapeHtml(b.text)}</p>`;
    case 'figures':
      return `<div class="figures">${b.items
        .map(
          (i) =>
            `<div class="figure"><div class="value" data-metric="${escapeHtml(i.metric)}">${escapeHtml(i.value)}</div><div class="label">${escapeHtml(i.label)}</div></div>`,
        )
        .join('')}</div>`;
    case 'table': {
      const cls = (i: number) => (b.numeric[i] ? ' class="num"' : '');
      const head = b.headers.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('');
      const rows = b.rows
        .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${escapeHtml(c)}</td>`).join('')}</tr>`)
        .join('\n');
      return `<div class="table"><table data-table="${escapeHtml(b.id)}">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows}\n</tbody>\n</table></div>`;
    }
    case 'chart':
      return `<figure class="chart" id="chart-${escapeHtml(b.chart.id)}" data-chart="${escapeHtml(b.chart.id)}" role="img" aria-label="${escapeHtml(b.chart.caption)}">
<h3>${escapeHtml(b.chart.title)}</h3>
${b.chart.svg}
<figcaption>${escapeHtml(b.chart.caption)}</figcaption>
</figure>`;
    case 'list': {
      const tag = b.ordered ? 'ol' : 'ul';
      return `<${tag} class="moves">${b.items
        .map((i) => `<li><strong>${escapeHtml(i.title)}</strong> — ${escapeHtml(i.text)}</li>`)
        .join('')}</${tag}>`;
    }
  }
}
