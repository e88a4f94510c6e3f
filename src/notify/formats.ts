import type { WebhookConfig } from '../config/schema.js';
import { formatLocal } from '../util/time.js';
import type { Notification, Severity } from './notification.js';

/*
 * One notification, three bodies:
 *
 * - generic: JSON with the plain text and every field (the incident record as data), for anything
 *   that parses JSON (a pager bridge, a log sink, a script);
 * - slack: an incoming-webhook body `{ text, blocks }` (text is the fallback shown in
 *   notifications; blocks render the message);
 * - discord: an execute-webhook body `{ content, embeds }`, with mentions disabled so a commit
 *   subject saying "@everyone" pings nobody.
 *
 * Each platform refuses a body over its limits, so every piece is cut to fit: Slack header 150,
 * section text 3000, field 2000 (10 fields), button URL 3000; Discord content 2000, embed title
 * 256, description 4096, field name 256 and value 1024 (25 fields), footer 2048, and 6000 for the
 * embed in total. Output keeps its last lines (errors come last).
 */

export type WebhookFormat = WebhookConfig['format'];

export interface RenderOptions {
  timeZone: string;
}

/** The body POSTed for `n` in `format`. */
export function renderBody(n: Notification, format: WebhookFormat, options: RenderOptions): unknown {
  switch (format) {
    case 'generic':
      return genericBody(n, options);
    case 'slack':
      return slackBody(n, options);
    case 'discord':
      return discordBody(n, options);
  }
}

/** Cut `text` to at most `max` characters (UTF-16 units), ending in "…"; never splits a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = max - 1;
  if (cut > 0 && isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
  return `${text.slice(0, cut)}…`;
}

/** Keep the END of `text` in at most `max` characters, starting with "…"; never splits a surrogate pair. */
export function truncateStart(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let from = text.length - (max - 1);
  if (from < text.length && isLowSurrogate(text.charCodeAt(from))) from++;
  return `…${text.slice(from)}`;
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** A fenced code block of at most `max` characters, keeping the end of `text`; fences inside are broken up. */
export function codeBlock(text: string, max: number): string {
  const fence = '```';
  const safe = text.replaceAll('```', '`\u200b`\u200b`');
  const room = max - 2 * fence.length - 2;
  if (room < 2) return '';
  return `${fence}\n${truncateStart(safe, room)}\n${fence}`;
}

/** The whole notification as plain text: the generic body's `text`, and what logs show. */
export function plainText(n: Notification, options: RenderOptions): string {
  const parts = [n.title, '', n.summary];
  if (n.facts.length) parts.push('', ...n.facts.map((f) => `${f.label}: ${f.value}`));
  for (const o of n.output) parts.push('', `${o.label}:`, ...o.text.split('\n').map((l) => `  ${l}`));
  if (n.link) parts.push('', `${n.link.label}: ${n.link.url}`);
  if (n.next) parts.push('', `Next: ${n.next}`);
  parts.push('', `kaizen · ${formatLocal(n.at, options.timeZone)} · event ${n.eventId}`);
  return parts.join('\n');
}

function genericBody(n: Notification, options: RenderOptions): Record<string, unknown> {
  return {
    source: 'kaizen',
    version: 1,
    kind: n.kind,
    severity: n.severity,
    title: n.title,
    summary: n.summary,
    text: plainText(n, options),
    target: n.target,
    interventionId: n.interventionId,
    eventId: n.eventId,
    at: new Date(n.at).toISOString(),
    facts: n.facts,
    output: n.output,
    link: n.link?.url ?? null,
    next: n.next,
    incident: n.incident,
  };
}

const SEVERITY_MARK: Record<Severity, string> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':information_source:',
};

/** Slack's mrkdwn needs &, < and > escaped everywhere, or `<!channel>` in a commit subject pings a channel. */
function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Escape, then cut to `max` without splitting an entity (`&amp;`, `&lt;`, `&gt;`). */
function slackText(text: string, max: number): string {
  const escaped = slackEscape(text);
  if (escaped.length <= max) return escaped;
  let cut = truncate(escaped, max).slice(0, -1);
  const amp = cut.lastIndexOf('&');
  if (amp >= 0 && amp > cut.length - 5 && !cut.slice(amp).includes(';')) cut = cut.slice(0, amp);
  return `${cut}…`;
}

function slackBody(n: Notification, options: RenderOptions): Record<string, unknown> {
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(n.title, 150), emoji: true } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: slackText(`${SEVERITY_MARK[n.severity]} ${n.summary}`, 3000) },
    },
  ];
  if (n.facts.length) {
    blocks.push({
      type: 'section',
      fields: n.facts.slice(0, 10).map((f) => ({
        type: 'mrkdwn',
        text: `*${slackText(f.label, 100)}*\n${slackText(f.value, 1800)}`,
      })),
    });
  }
  for (const o of n.output.slice(0, 5)) {
    const label = `*${slackText(o.label, 200)}*\n`;
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: label + slackCode(o.text, 3000 - label.length) },
    });
  }
  if (n.link && n.link.url.length <= 3000) {
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', text: { type: 'plain_text', text: truncate(n.link.label, 75) }, url: n.link.url },
      ],
    });
  }
  const context = [`kaizen · ${formatLocal(n.at, options.timeZone)} · event ${n.eventId}`];
  if (n.next) context.unshift(`Next: ${n.next}`);
  blocks.push({
    type: 'context',
    elements: context.map((t) => ({ type: 'mrkdwn', text: slackText(t, 2000) })),
  });
  const fallback = n.link ? `${n.title}: ${n.summary} ${n.link.url}` : `${n.title}: ${n.summary}`;
  return { text: slackText(fallback, 3000), blocks };
}

/** A code block of at most `max` characters, escaped, keeping the end of `text`. */
function slackCode(text: string, max: number): string {
  const escaped = slackEscape(text.replaceAll('```', '`\u200b`\u200b`'));
  const room = max - 8;
  if (room < 2) return '';
  let body = escaped;
  if (body.length > room) {
    body = truncateStart(escaped, room).slice(1);
    // Do not start inside an entity: skip to the end of a cut one.
    const semi = body.indexOf(';');
    if (semi >= 0 && semi < 4 && !body.slice(0, semi).includes('&')) body = body.slice(semi + 1);
    body = `…${body}`;
  }
  return `\`\`\`\n${body}\n\`\`\``;
}

const DISCORD_COLOR: Record<Severity, number> = {
  critical: 0xd93f0b,
  warning: 0xfbca04,
  info: 0x0e8a16,
};

/** Discord's total for one embed's title, description, field names and values, and footer. */
const DISCORD_EMBED_TOTAL = 6000;

function discordBody(n: Notification, options: RenderOptions): Record<string, unknown> {
  const title = truncate(n.title, 256);
  const footer = truncate(`kaizen · ${formatLocal(n.at, options.timeZone)} · event ${n.eventId}`, 2048);
  const summary = truncate(n.summary, 1500);
  const next = n.next ? { name: 'Next', value: truncate(n.next, 1024), inline: false } : undefined;
  // The embed's 6000 characters go to the title, footer, summary and next step first, then some
  // room is kept for the output (the probes, the deploy's last lines), then facts in order.
  const outputWants = n.output.slice(0, 5).reduce((sum, o) => sum + o.label.length + o.text.length + 16, 0);
  let budget =
    DISCORD_EMBED_TOTAL -
    title.length -
    footer.length -
    summary.length -
    (next ? next.name.length + next.value.length : 0);
  const forFacts = budget - Math.min(outputWants, 2500);
  const fields: { name: string; value: string; inline: boolean }[] = [];
  let used = 0;
  for (const f of n.facts.slice(0, next ? 24 : 25)) {
    const name = truncate(f.label, 256);
    const room = Math.min(1024, forFacts - used - name.length);
    if (room < 16) break;
    const value = truncate(f.value || '—', room);
    fields.push({ name, value, inline: value.length <= 40 });
    used += name.length + value.length;
  }
  if (next) fields.push(next);
  budget -= used;
  const embed: Record<string, unknown> = {
    title,
    description: discordDescription(
      summary,
      n,
      Math.max(summary.length, Math.min(4096, budget + summary.length)),
    ),
    color: DISCORD_COLOR[n.severity],
    fields,
    timestamp: new Date(n.at).toISOString(),
    footer: { text: footer },
  };
  if (n.link) embed.url = n.link.url;
  const content = n.link ? `**${n.title}**\n${n.link.label}: ${n.link.url}` : `**${n.title}**`;
  return {
    content: truncate(content, 2000),
    allowed_mentions: { parse: [] },
    embeds: [embed],
  };
}

/** The summary, then each output as a code block, sharing `max` characters. */
function discordDescription(summary: string, n: Notification, max: number): string {
  const parts = [summary];
  let left = max - summary.length;
  const outputs = n.output.slice(0, 5);
  outputs.forEach((o, i) => {
    const label = `\n\n**${truncate(o.label, 100)}**\n`;
    const share = Math.floor((left - label.length * (outputs.length - i)) / (outputs.length - i));
    if (share < 20) return;
    const block = codeBlock(o.text, share);
    parts.push(label + block);
    left -= label.length + block.length;
  });
  return parts.join('');
}
