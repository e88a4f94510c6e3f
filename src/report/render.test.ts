import { describe, expect, it } from 'vitest';
import type { ReportDocument } from './document.js';
import { escapeHtml, renderHtml } from './html.js';
import { escapeMarkdown, renderMarkdown } from './markdown.js';

const HOSTILE =
  '<img src=x onerror=alert(1)> [click](http://evil.example) | *bold* `code` & "quoted"\nnext line';

const doc: ReportDocument = {
  title: 'kaizen weekly review 2026-W47',
  subtitle: HOSTILE,
  sections: [
    {
      id: 'done',
      title: 'What was done',
      blocks: [
        { kind: 'figures', items: [{ label: 'validated', value: '3', metric: 'entered.validated' }] },
        {
          kind: 'table',
          id: 'interventions',
          headers: ['ID', 'Title'],
          numeric: [false, false],
          rows: [['K0001', HOSTILE]],
        },
        { kind: 'paragraph', tone: 'model', text: HOSTILE },
        { kind: 'list', ordered: true, items: [{ title: HOSTILE, text: 'why' }] },
      ],
    },
  ],
  footer: ['generated'],
};

describe('rendering text from the store and from models', () => {
  it('escapes every string in the HTML, so no tag, attribute or link comes from data', () => {
    const html = renderHtml(doc);

    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe(
      '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;',
    );
    expect(html).not.toContain('<img');
    expect(html).not.toContain('href="http');
    expect(html.match(/&#60;img src=x onerror=alert\(1\)&#62;/g)).toHaveLength(4);
    expect(html).toContain('<div class="value" data-metric="entered.validated">3</div>');
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  it('escapes Markdown so data can neither break a table nor become markup, a disguised link or HTML', () => {
    const md = renderMarkdown(doc, (id) => `weekly-2026-W47-${id}.svg`);
    const row = md.split('\n').find((l) => l.startsWith('| K0001'))!;

    expect(escapeMarkdown('no_effect latency_ms _x_ a|b')).toBe('no_effect latency_ms \\_x\\_ a\\|b');
    expect(md).not.toContain('<img');
    expect(md).not.toMatch(/(?<!\\)\]\(http/); // no [text](url) link: the brackets are escaped
    expect(row.split(/(?<!\\)\|/)).toHaveLength(4); // two cells: the hostile "|" is escaped
    expect(row).toContain(
      '&lt;img src=x onerror=alert(1)&gt; \\[click\\](http://evil.example) \\| \\*bold\\* \\`code\\` &amp; "quoted" next line',
    );
    expect(md).toContain('| validated | 3 |');
  });
});
