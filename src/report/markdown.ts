import type { Block, ReportDocument } from './document.js';

/*
 * The same report as Markdown (CommonMark with GitHub tables). Charts are SVG files next to it,
 * linked by relative path. Text from the store or a model is escaped so it can neither break a
 * table nor become markup, a link or raw HTML.
 */

/** Escape text for Markdown: backslash-escape the characters that start markup; no raw HTML. */
export function escapeMarkdown(text: string): string {
  return (
    text
      .replace(/[\r\n]+/g, ' ')
      .replace(/[\\`*[\]|#~]/g, (c) => `\\${c}`)
      // An underscore inside a word (no_effect, latency_ms) is not emphasis in CommonMark: left as is.
      .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
  );
}

export function renderMarkdown(doc: ReportDocument, chartFile: (id: string) => string): string {
  const out: string[] = [`# ${escapeMarkdown(doc.title)}`, '', escapeMarkdown(doc.subtitle), ''];
  for (const s of doc.sections) {
    out.push(`## ${escapeMarkdown(s.title)}`, '');
    for (const b of s.blocks) out.push(block(b, chartFile), '');
  }
  out.push('---', '', ...doc.footer.map((l) => `${escapeMarkdown(l)}\n`));
  return `${out.join('\n').trimEnd()}\n`;
}

function block(b: Block, chartFile: (id: string) => string): string {
  switch (b.kind) {
    case 'heading':
      return `### ${escapeMarkdown(b.text)}`;
    case 'paragraph':
      return b.tone === 'empty'
        ? `_${escapeMarkdown(b.text)}_`
        : b.tone === 'model'
          ? `> ${escapeMarkdown(b.text)}`
          : escapeMarkdown(b.text);
    case 'figures':
      return table(
        ['Figure', 'Value'],
        b.items.map((i) => [i.label, i.value]),
        [false, true],
      );
    case 'table':
      return table(b.headers, b.rows, b.numeric);
    case 'chart':
      // The file name is ours (week label and chart id), safe in a link; the alt text is escaped.
      return `![${escapeMarkdown(b.chart.title)}](${chartFile(b.chart.id)})\n\n_${escapeMarkdown(b.chart.caption)}_`;
    case 'list':
      return b.items
        .map(
          (i, n) =>
            `${b.ordered ? `${n + 1}.` : '-'} **${escapeMarkdown(i.title)}**: ${escapeMarkdown(i.text)}`,
        )
        .join('\n');
  }
}

function table(headers: string[], rows: string[][], numeric: boolean[]): string {
  const line = (cells: string[]) => `| ${cells.map(escapeMarkdown).join(' | ')} |`;
  const rule = `| ${headers.map((_, i) => (numeric[i] ? '---:' : '---')).join(' | ')} |`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}
