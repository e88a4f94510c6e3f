import { describe, expect, it } from 'vitest';
import { codeBlock, plainText, renderBody, truncate, truncateStart } from './formats.js';
import type { Notification } from './notification.js';

const AT = Date.UTC(2026, 0, 5, 12, 0, 0);
const opts = { timeZone: 'UTC' };

function notification(overrides: Partial<Notification> = {}): Notification {
  return {
    kind: 'rollback',
    severity: 'critical',
    title: '[app] Rolled back K0003 "Break health": health check failed',
    summary: 'health check failed: 3 of 3 probes failed. kaizen reverted commit abc1234.',
    target: 'app',
    interventionId: 'K0003',
    eventId: 42,
    at: AT,
    facts: [
      { label: 'Commit', value: 'a'.repeat(40) },
      { label: 'Time to detect', value: '3.2s' },
    ],
    output: [{ label: 'Health probes', text: '#1 status 503 in 4 ms, FAILED: status 503, expected 200' }],
    link: null,
    next: 'kaizen show K0003',
    incident: null,
    ...overrides,
  };
}

interface SlackBlock {
  type: string;
  text?: { type: string; text: string };
  fields?: { text: string }[];
  elements?: { type: string; text?: string | { text: string }; url?: string }[];
}
interface DiscordEmbed {
  title: string;
  description: string;
  url?: string;
  color: number;
  fields: { name: string; value: string; inline: boolean }[];
  timestamp: string;
  footer: { text: string };
}

describe('truncate', () => {
  it('leaves short text alone and ends cut text with an ellipsis, within the limit', () => {
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('hello world', 6)).toBe('hello…');
    expect(truncateStart('hello world', 6)).toBe('…world');
  });

  it('never splits a surrogate pair (an emoji stays whole or goes)', () => {
    const text = `ab${'😀'.repeat(10)}`;

    for (let max = 1; max < text.length; max++) {
      const cut = truncate(text, max);
      const tail = truncateStart(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(tail.length).toBeLessThanOrEqual(max);
      expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
      expect(tail).not.toMatch(/(?<![\ud800-\udbff])[\udc00-\udfff]/);
    }
  });

  it('keeps a code block closed and its fence unbreakable by the text inside', () => {
    const block = codeBlock(`line\n${'x'.repeat(500)}\n\`\`\`\nend`, 100);

    expect(block.length).toBeLessThanOrEqual(100);
    expect(block.startsWith('```\n…')).toBe(true);
    expect(block.endsWith('\nend\n```')).toBe(true);
    expect(block.slice(3, -3)).not.toContain('```');
  });
});

describe('the generic body', () => {
  it('carries every field, the plain text and the time as ISO', () => {
    const n = notification({
      link: { label: 'Review and approve', url: 'http://127.0.0.1:7878/backlog/K0003' },
    });

    const body = renderBody(n, 'generic', opts) as Record<string, unknown>;

    expect(body).toMatchObject({
      source: 'kaizen',
      version: 1,
      kind: 'rollback',
      severity: 'critical',
      title: n.title,
      target: 'app',
      interventionId: 'K0003',
      eventId: 42,
      at: '2026-01-05T12:00:00.000Z',
      link: 'http://127.0.0.1:7878/backlog/K0003',
      next: 'kaizen show K0003',
      incident: null,
    });
    expect(body.text).toBe(plainText(n, opts));
    expect(body.text).toContain('Commit: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    expect(body.text).toContain('Health probes:\n  #1 status 503');
    expect(body.text).toContain('Review and approve: http://127.0.0.1:7878/backlog/K0003');
    expect(body.text).toContain('kaizen · 2026-01-05 12:00 UTC · event 42');
  });
});

describe('the Slack body', () => {
  it('has a fallback text and blocks: header, summary, facts, output, button, context', () => {
    const n = notification({ link: { label: 'Review and approve', url: 'http://h/backlog/K0003' } });

    const body = renderBody(n, 'slack', opts) as { text: string; blocks: SlackBlock[] };

    expect(body.text).toBe(`${n.title}: ${n.summary} http://h/backlog/K0003`);
    expect(body.blocks.map((b) => b.type)).toEqual([
      'header',
      'section',
      'section',
      'section',
      'actions',
      'context',
    ]);
    expect(body.blocks[0]!.text!.text).toBe(n.title);
    expect(body.blocks[1]!.text!.text).toBe(`:rotating_light: ${n.summary}`);
    expect(body.blocks[2]!.fields!.map((f) => f.text)).toEqual([
      `*Commit*\n${'a'.repeat(40)}`,
      '*Time to detect*\n3.2s',
    ]);
    expect(body.blocks[3]!.text!.text).toBe(
      '*Health probes*\n```\n#1 status 503 in 4 ms, FAILED: status 503, expected 200\n```',
    );
    expect(body.blocks[4]!.elements![0]).toMatchObject({ type: 'button', url: 'http://h/backlog/K0003' });
  });

  it('escapes &, < and > so text cannot mention a channel or forge a link', () => {
    const n = notification({ summary: 'subject: <!channel> fix & <http://evil|click>' });

    const body = renderBody(n, 'slack', opts) as { text: string; blocks: SlackBlock[] };

    expect(body.blocks[1]!.text!.text).toBe(
      ':rotating_light: subject: &lt;!channel&gt; fix &amp; &lt;http://evil|click&gt;',
    );
    expect(body.text).not.toContain('<!channel>');
  });

  it('keeps every piece within Slack’s limits, escaping included', () => {
    const n = notification({
      title: 'T'.repeat(400),
      summary: '<'.repeat(5000),
      facts: Array.from({ length: 14 }, (_, i) => ({ label: `fact ${i}`, value: '&'.repeat(3000) })),
      output: [{ label: 'Deploy output', text: `${'>'.repeat(9000)}\nlast line` }],
    });

    const body = renderBody(n, 'slack', opts) as { text: string; blocks: SlackBlock[] };

    expect(body.text.length).toBeLessThanOrEqual(3000);
    expect(body.blocks[0]!.text!.text.length).toBeLessThanOrEqual(150);
    expect(body.blocks[1]!.text!.text.length).toBeLessThanOrEqual(3000);
    expect(body.blocks[2]!.fields).toHaveLength(10);
    for (const f of body.blocks[2]!.fields!) expect(f.text.length).toBeLessThanOrEqual(2000);
    const output = body.blocks[3]!.text!.text;
    expect(output.length).toBeLessThanOrEqual(3000);
    expect(output.endsWith('\nlast line\n```')).toBe(true);
    expect(body.blocks[1]!.text!.text).not.toMatch(/&(?!lt;|gt;|amp;)/);
  });
});

describe('the Discord body', () => {
  it('has content, one embed with colour, fields and footer, and mentions disabled', () => {
    const n = notification({ link: { label: 'Review and approve', url: 'http://h/backlog/K0003' } });

    const body = renderBody(n, 'discord', opts) as {
      content: string;
      allowed_mentions: unknown;
      embeds: DiscordEmbed[];
    };

    expect(body.content).toBe(`**${n.title}**\nReview and approve: http://h/backlog/K0003`);
    expect(body.allowed_mentions).toEqual({ parse: [] });
    const [embed] = body.embeds;
    expect(embed).toMatchObject({
      title: n.title,
      url: 'http://h/backlog/K0003',
      color: 0xd93f0b,
      timestamp: '2026-01-05T12:00:00.000Z',
      footer: { text: 'kaizen · 2026-01-05 12:00 UTC · event 42' },
    });
    expect(embed!.description).toBe(
      `${n.summary}\n\n**Health probes**\n\`\`\`\n#1 status 503 in 4 ms, FAILED: status 503, expected 200\n\`\`\``,
    );
    expect(embed!.fields).toEqual([
      { name: 'Commit', value: 'a'.repeat(40), inline: true },
      { name: 'Time to detect', value: '3.2s', inline: true },
      { name: 'Next', value: 'kaizen show K0003', inline: false },
    ]);
  });

  it('keeps content ≤ 2000, description ≤ 4096, fields ≤ 25 × 1024 and the embed ≤ 6000 characters', () => {
    const n = notification({
      title: '😀'.repeat(2000),
      summary: 's'.repeat(10_000),
      facts: Array.from({ length: 40 }, (_, i) => ({ label: `fact ${i}`, value: 'v'.repeat(2000) })),
      output: [
        { label: 'Health probes', text: 'p'.repeat(5000) },
        { label: 'Deploy output', text: `${'d'.repeat(8000)}\nthe error` },
      ],
    });

    const body = renderBody(n, 'discord', opts) as { content: string; embeds: DiscordEmbed[] };
    const embed = body.embeds[0]!;

    expect(body.content.length).toBeLessThanOrEqual(2000);
    expect(embed.title.length).toBeLessThanOrEqual(256);
    expect(embed.description.length).toBeLessThanOrEqual(4096);
    expect(embed.fields.length).toBeLessThanOrEqual(25);
    expect(embed.fields.at(-1)!.name).toBe('Next');
    expect(embed.description).toContain('the error');
    for (const f of embed.fields) expect(f.value.length).toBeLessThanOrEqual(1024);
    const total =
      embed.title.length +
      embed.description.length +
      embed.footer.text.length +
      embed.fields.reduce((s, f) => s + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(6000);
  });

  it('keeps the end of long output (where the error is) with its code fence closed', () => {
    const n = notification({
      facts: [],
      next: null,
      output: [{ label: 'Deploy output', text: `${'noise\n'.repeat(2000)}Error: EADDRINUSE` }],
    });

    const embed = (renderBody(n, 'discord', opts) as { embeds: DiscordEmbed[] }).embeds[0]!;

    expect(embed.description.length).toBeLessThanOrEqual(4096);
    expect(embed.description.endsWith('Error: EADDRINUSE\n```')).toBe(true);
  });
});
