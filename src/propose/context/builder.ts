import picomatch from 'picomatch';
import { z } from 'zod';
import type { TargetConfig } from '../../config/schema.js';
import type { SignalDigest, TargetDigest } from '../../observe/digest.js';
import type { Intervention } from '../../store/interventions.js';
import { repoRelative } from '../../util/paths.js';
import { compareStrings, lessonPointsAt, matchLessons, type Lesson, type LessonMatch } from './lesson.js';
import { makeRedactor } from './redact.js';
import { estimateTokens } from './tokens.js';

/*
 * The proposer's context: a compact, deterministic text built from the target's signal digest,
 * alerts, guard state, matching lessons, past interventions, scan findings and the files it may
 * change. Sections come in priority order; when the text is over the token budget, whole items are
 * dropped from the lowest-priority section first (files, then findings, interventions, lessons,
 * guards, signals, alerts), the last item of a section first. An item is never cut; a section that
 * lost items says how many. Section headings and the title line are never dropped, so a budget
 * smaller than them is exceeded (by their cost only). Everything is redacted before it is counted.
 */

export const SECTION_NAMES = [
  'alerts',
  'signals',
  'guards',
  'lessons',
  'interventions',
  'findings',
  'files',
] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

export interface FrozenArea {
  area: string;
  until: number;
  /** The rollbacks that froze it. */
  interventions: readonly string[];
}

/** A scan-rule hit: the lesson whose `scan.pattern` matched `text` at `file:line`. */
export interface Finding {
  lesson: string;
  file: string;
  line: number;
  text: string;
}

export interface FileEntry {
  /** Repo-relative path. */
  path: string;
  excerpt?: string;
}

export interface ContextInput {
  target: TargetConfig;
  digest: TargetDigest;
  lessons: readonly Lesson[];
  /** Recent interventions of the target, any state. */
  interventions: readonly Intervention[];
  frozenAreas: readonly FrozenArea[];
  /** Applies today and the daily limit. */
  budget: { used: number; limit: number };
  findings: readonly Finding[];
  /** The files the proposer may change (the caller excludes blocked and secret files). */
  files: readonly FileEntry[];
  /** Blocked globs (the guard policy's blockedPaths): files and findings matching one are dropped here too. */
  blockedPaths: readonly string[];
  /** Token budget of the context text (the template and the answer need their own room). */
  tokenBudget: number;
  now: number;
  /** Environment whose secret-looking values are redacted wherever they appear. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface ContextSection {
  name: SectionName;
  /** Estimated tokens of the section as rendered (heading, items, "left out" line). */
  tokens: number;
  /** Items kept. */
  items: number;
  /** Items left out to fit the budget. */
  trimmed: number;
}

export interface ProposerContext {
  sections: ContextSection[];
  text: string;
  /** estimateTokens(text). */
  tokens: number;
  /** Ids of the lessons whose items were kept, in rank order: the ones the proposer must follow or argue against. */
  lessons: string[];
}

/** An excerpt longer than this is shortened at a line boundary before it becomes an item. */
export const MAX_EXCERPT_CHARS = 4000;
const MAX_LINE_TEXT = 240;

const FAILED_STATES = new Set(['no_effect', 'reverted', 'rolled_back', 'failed']);

const HEADINGS: Record<SectionName, string> = {
  alerts: '## Alerts (signals past their threshold, and for how long)',
  signals: '## Signals (name [unit, direction, area]: last value | means 1h/24h/7d | trend | alert)',
  guards: "## Guards (frozen areas, today's apply budget, allowed runbook actions)",
  lessons: '## Lessons that match (follow one and cite it, or argue against it)',
  interventions: '## Recent interventions (failed first; predicted vs actual)',
  findings: '## Scan findings (lesson rule hits in the code)',
  files: '## Files you may change',
};

interface Draft {
  name: SectionName;
  heading: string;
  /** Rendered items, or thunks rendering one: only items that may fit are ever rendered. */
  items: (string | (() => string))[];
  /** Ids attached to items (lessons section), parallel to items. */
  ids?: string[];
}

export function buildContext(input: ContextInput): ProposerContext {
  const redact = makeRedactor(input.env);
  const isBlocked = blockedMatcher(input.blockedPaths);
  const findings = input.findings
    .map((f) => ({ ...f, file: repoRelative(f.file) }))
    .filter((f) => !isBlocked(f.file));
  const files = dedupeFiles(input.files).filter((f) => !isBlocked(f.path));

  const alerting = input.digest.signals.filter((s) => s.alert.state === 'alert');
  const lessonById = new Map(input.lessons.map((l) => [l.id, l]));
  const liveFindings = findings.filter((f) => lessonById.get(f.lesson)?.status !== 'retired');
  const matches = matchLessons(input.lessons, {
    target: input.target.name,
    alertingSignals: alerting.map((s) => s.name),
    signals: input.digest.signals.map((s) => s.name),
    areas: uniqueSorted([
      ...input.digest.signals.flatMap((s) => (s.area ? [s.area] : [])),
      ...input.target.signals.flatMap((s) => (s.area ? [s.area] : [])),
      // Areas kaizen has acted in are the target's too: lessons learnt there must reach the proposer.
      ...input.interventions.map((i) => i.area),
    ]),
    findingLessons: uniqueSorted(liveFindings.map((f) => f.lesson)),
  });
  const rank = new Map(matches.map((m, i) => [m.lesson.id, i]));
  const sortedFindings = [...liveFindings].sort(
    (a, b) =>
      (rank.get(a.lesson) ?? Infinity) - (rank.get(b.lesson) ?? Infinity) ||
      compareStrings(a.file, b.file) ||
      a.line - b.line ||
      compareStrings(a.lesson, b.lesson),
  );

  const units = new Map(input.target.signals.map((s) => [s.name, s.unit]));
  const drafts: Draft[] = [
    { name: 'alerts', heading: HEADINGS.alerts, items: alertItems(alerting, input.now) },
    { name: 'signals', heading: HEADINGS.signals, items: signalItems(input) },
    { name: 'guards', heading: HEADINGS.guards, items: guardItems(input) },
    {
      name: 'lessons',
      heading: HEADINGS.lessons,
      items: matches.map((m) => () => lessonItem(m)),
      ids: matches.map((m) => m.lesson.id),
    },
    {
      name: 'interventions',
      heading: HEADINGS.interventions,
      items: interventionItems(input.interventions, units, input.now),
    },
    { name: 'findings', heading: HEADINGS.findings, items: sortedFindings.map(findingItem) },
    { name: 'files', heading: HEADINGS.files, items: fileItems(files, sortedFindings, matches) },
  ];

  const title = redact(`# Context for target ${input.target.name} at ${iso(input.now)}`);
  return assemble(title, drafts, redact, input.tokenBudget);
}

/** Redact, cost and trim the drafts; render the text. */
function assemble(
  title: string,
  drafts: Draft[],
  redact: (s: string) => string,
  budget: number,
): ProposerContext {
  // Every part is rendered followed by "\n"; estimateTokens is additive over such parts.
  const cost = (part: string) => estimateTokens(part + '\n');
  // No section can keep more than the whole budget, so items past that point are never
  // redacted or costed: with thousands of matching lessons this is most of the work saved.
  const parts = drafts.map((d) => {
    const items: string[] = [];
    const costs: number[] = [];
    let sum = 0;
    for (const raw of d.items) {
      if (sum > budget) break;
      const item = redact((typeof raw === 'function' ? raw() : raw).trim());
      items.push(item);
      costs.push(cost(item));
      sum += costs.at(-1)!;
    }
    return { draft: d, heading: redact(d.heading), items, costs, total: d.items.length, kept: items.length };
  });
  const omittedLine = (p: (typeof parts)[number]) => {
    if (p.total === 0) return '- none';
    const n = p.total - p.kept;
    if (n === 0) return undefined;
    const what = `${p.kept === 0 ? '' : 'more lower-ranked '}item${n === 1 ? '' : 's'}`;
    return `- (${n} ${what} left out to fit the token budget)`;
  };
  const sectionCost = (p: (typeof parts)[number]) => {
    let c = cost(p.heading);
    for (let i = 0; i < p.kept; i++) c += p.costs[i]!;
    const extra = omittedLine(p);
    return extra === undefined ? c : c + cost(extra);
  };

  const costs = parts.map(sectionCost);
  let total = cost(title) + costs.reduce((a, b) => a + b, 0);
  for (let s = parts.length - 1; s >= 0 && total > budget; s--) {
    const p = parts[s]!;
    while (total > budget && p.kept > 0) {
      p.kept--;
      const next = sectionCost(p);
      total += next - costs[s]!;
      costs[s] = next;
    }
  }

  const lines: string[] = [title];
  const sections: ContextSection[] = [];
  const lessons: string[] = [];
  parts.forEach((p, s) => {
    lines.push(p.heading, ...p.items.slice(0, p.kept));
    const extra = omittedLine(p);
    if (extra !== undefined) lines.push(extra);
    sections.push({
      name: p.draft.name,
      tokens: costs[s]!,
      items: p.kept,
      trimmed: p.total - p.kept,
    });
    if (p.draft.ids) lessons.push(...p.draft.ids.slice(0, p.kept));
  });
  const text = lines.map((l) => l + '\n').join('');
  return { sections, text, tokens: estimateTokens(text), lessons };
}

// ---- sections -------------------------------------------------------------------------------

function alertItems(alerting: SignalDigest[], now: number): string[] {
  return [...alerting]
    .sort((a, b) => (b.alert.heldMs ?? 0) - (a.alert.heldMs ?? 0) || compareStrings(a.name, b.name))
    .map((s) => {
      const value = s.last ? `${num(s.last.value)} ${s.unit}` : 'no value';
      const held =
        s.alert.heldMs !== undefined
          ? `, held ${duration(s.alert.heldMs)}${s.alert.since !== undefined ? ` (since ${iso(s.alert.since)})` : ''}`
          : '';
      const area = s.area ? ` [area ${s.area}]` : '';
      const stale = s.stale && s.last ? ` (last value ${duration(now - s.last.t)} old: stale)` : '';
      return `- ${s.name} = ${value}, threshold ${s.alert.threshold ?? '?'}${held}${area}${stale}`;
    });
}

function signalItems(input: ContextInput): string[] {
  const descriptions = new Map(input.target.signals.map((s) => [s.name, s.description]));
  const order = (s: SignalDigest) => (s.alert.state === 'alert' ? 0 : s.stale || s.errorStreak > 0 ? 1 : 2);
  // Alerting first, then stale or failing, then the rest, each in config order (stable sort).
  return [...input.digest.signals]
    .sort((a, b) => order(a) - order(b))
    .map((s) => {
      const tags = [
        s.unit,
        s.direction,
        ...(s.area ? [`area ${s.area}`] : []),
        ...(s.role !== 'other' ? [s.role] : []),
      ];
      const last = s.last ? `last ${num(s.last.value)} (${duration(s.last.ageMs)} ago)` : 'no value yet';
      const w = s.windows;
      const means = `mean 1h ${num(w['1h'].mean)}, 24h ${num(w['24h'].mean)}, 7d ${num(w['7d'].mean)}`;
      const trend = s.trendPerHour === null ? 'trend ?' : `trend ${signed(s.trendPerHour)}/h`;
      const parts = [`- ${s.name} [${tags.join(', ')}]: ${last}`, means, trend, alertText(s)];
      if (s.stale) parts.push('STALE');
      if (s.errorStreak > 0)
        parts.push(
          `${s.errorStreak} error${s.errorStreak === 1 ? '' : 's'} in a row${s.lastError ? `: ${clip(s.lastError.message, 120)}` : ''}`,
        );
      const description = descriptions.get(s.name);
      return parts.join(' | ') + (description ? ` — ${clip(description, 160)}` : '');
    });
}

function alertText(s: SignalDigest): string {
  switch (s.alert.state) {
    case 'alert':
      return `ALERT ${s.alert.threshold ?? ''} for ${duration(s.alert.heldMs ?? 0)}`;
    case 'ok':
      return `ok (alert ${s.alert.threshold ?? '?'})`;
    case 'unknown':
      return `alert state unknown (alert ${s.alert.threshold ?? '?'})`;
    case 'no_threshold':
      return 'no alert threshold';
  }
}

function guardItems(input: ContextInput): string[] {
  const left = Math.max(0, input.budget.limit - input.budget.used);
  const items = [
    `- apply budget today: ${input.budget.used} of ${input.budget.limit} used, ${left} left` +
      (left === 0 ? ' (nothing more is applied today; proposals wait)' : ''),
  ];
  for (const f of [...input.frozenAreas].sort((a, b) => compareStrings(a.area, b.area))) {
    items.push(
      `- area ${f.area} is FROZEN until ${iso(f.until)} after rollbacks ${[...f.interventions].join(', ')}: propose nothing there`,
    );
  }
  const runbooks = Object.keys(input.target.runbooks ?? {}).sort(compareStrings);
  if (runbooks.length > 0) items.push(`- runbook actions allowed: ${runbooks.join(', ')}`);
  return items;
}

function lessonItem(m: LessonMatch): string {
  const l = m.lesson;
  const lines = [
    `- ${l.id} (matched: ${m.reasons.join('; ')}) scope ${oneLine(l.scope)}, source ${l.source}`,
    `  when: ${oneLine(l.when)}`,
    `  prefer: ${oneLine(l.prefer)}`,
    `  because: ${oneLine(l.because)}`,
    `  falsifiable: ${oneLine(l.falsifiable)}`,
  ];
  if (l.calibrated_for) lines.push(`  calibrated for: ${oneLine(l.calibrated_for)}`);
  if (l.retired_when) lines.push(`  retired when: ${oneLine(l.retired_when)}`);
  if (l.evidence.length > 0) lines.push(`  evidence: ${l.evidence.join(', ')}`);
  return lines.join('\n');
}

/** The parts of a stored verdict the context shows; older or foreign shapes degrade to "?". */
const VerdictView = z.looseObject({
  outcome: z.string().optional().catch(undefined),
  rule: z.string().optional().catch(undefined),
  reason: z.string().optional().catch(undefined),
  actual: z
    .looseObject({
      magnitude: z.number().nullable().optional(),
      direction: z.string().optional(),
      better: z.boolean().nullable().optional(),
    })
    .nullable()
    .optional()
    .catch(undefined),
});

function interventionItems(
  interventions: readonly Intervention[],
  units: Map<string, string>,
  now: number,
): string[] {
  const failed = (i: Intervention) => (FAILED_STATES.has(i.state) ? 0 : 1);
  return [...interventions]
    .sort((a, b) => failed(a) - failed(b) || b.createdAt - a.createdAt || compareStrings(b.id, a.id))
    .map((i) => {
      const p = i.proposal;
      const parsed = VerdictView.safeParse(i.verdict ?? {});
      const v = parsed.success ? parsed.data : {};
      const pred = p.prediction;
      const unit = units.get(pred.signal) ?? '';
      const size = (m: number) => (pred.relative ? `${num(m * 100)}%` : `${num(m)}${unit ? ` ${unit}` : ''}`);
      let calibration = `predicted ${pred.signal} ${pred.direction} ${size(pred.magnitude)}`;
      if (v.actual) {
        const a = v.actual;
        calibration +=
          a.direction === 'none' || a.magnitude === null || a.magnitude === undefined
            ? ` → actual: no measurable move`
            : ` → actual ${a.direction ?? '?'} ${size(a.magnitude)}${a.better === true ? ' (better)' : a.better === false ? ' (worse)' : ''}`;
      } else if (i.verdict !== null) {
        calibration += ' → actual: not measured';
      }
      const state = v.rule ? `${i.state} (${v.rule})` : i.state;
      const lines = [
        `- ${i.id} ${state}, ${duration(Math.max(0, now - i.createdAt))} ago, area ${i.area}, ${i.kind}: ${oneLine(clip(p.title, 160))}`,
        `  ${calibration}`,
      ];
      const paths = p.changes.map((c) => (c.kind === 'runbook' ? `runbook ${c.action}` : c.path));
      lines.push(`  touched: ${uniqueSorted(paths).join(', ')}`);
      lines.push(`  hypothesis: ${oneLine(clip(p.hypothesis, MAX_LINE_TEXT))}`);
      if (v.reason) lines.push(`  verdict: ${oneLine(clip(v.reason, MAX_LINE_TEXT))}`);
      if (i.waitingReason && (i.state === 'backlog' || i.state === 'proposed'))
        lines.push(`  waiting: ${oneLine(clip(i.waitingReason, 160))}`);
      if (p.citesLessons.length > 0) lines.push(`  cited: ${p.citesLessons.join(', ')}`);
      if (p.arguesAgainst.length > 0)
        lines.push(`  argued against: ${p.arguesAgainst.map((a) => a.lesson).join(', ')}`);
      return lines.join('\n');
    });
}

function findingItem(f: Finding): string {
  return `- ${f.file}:${f.line} (${f.lesson}): ${oneLine(clip(f.text, MAX_LINE_TEXT))}`;
}

function fileItems(files: FileEntry[], findings: Finding[], matches: LessonMatch[]): string[] {
  const notes = new Map<string, string[]>();
  const order = new Map<string, number>();
  let next = 0;
  const note = (path: string, text: string) => {
    const list = notes.get(path) ?? [];
    if (!list.includes(text)) list.push(text);
    notes.set(path, list);
  };
  const known = new Set(files.map((f) => f.path));
  for (const f of findings) {
    if (!known.has(f.file)) continue;
    if (!order.has(f.file)) order.set(f.file, next++);
    note(f.file, `finding ${f.lesson} line ${f.line}`);
  }
  const byPath = [...files].sort((a, b) => compareStrings(a.path, b.path));
  for (const m of matches) {
    if (!m.lesson.scan) continue;
    for (const f of byPath) {
      if (!lessonPointsAt(m.lesson, f.path)) continue;
      if (!order.has(f.path)) order.set(f.path, next++);
      note(f.path, `lesson ${m.lesson.id}`);
    }
  }
  return [...files]
    .sort(
      (a, b) =>
        (order.get(a.path) ?? Infinity) - (order.get(b.path) ?? Infinity) || compareStrings(a.path, b.path),
    )
    .map((f) => {
      const tags = notes.get(f.path);
      const head = `- ${f.path}${tags ? ` (${tags.join('; ')})` : ''}`;
      if (f.excerpt === undefined || f.excerpt.trim() === '') return head;
      const body = shortenExcerpt(f.excerpt);
      const fence = '`'.repeat(Math.max(3, longestBacktickRun(body) + 1));
      return `${head}\n${fence}\n${body}\n${fence}`;
    });
}

// ---- helpers --------------------------------------------------------------------------------

function blockedMatcher(globs: readonly string[]): (rel: string) => boolean {
  const match = globs.length > 0 ? picomatch([...globs], { dot: true, nocase: true }) : () => false;
  return (rel) => {
    const p = repoRelative(rel);
    // Outside the repo, absolute, or inside .git: never offered, whatever the globs say.
    if (p === '..' || p.startsWith('../') || p.startsWith('/') || /^[A-Za-z]:/.test(p)) return true;
    if (p === '.git' || p.startsWith('.git/') || p.includes('/.git/')) return true;
    return match(p);
  };
}

function dedupeFiles(files: readonly FileEntry[]): FileEntry[] {
  const seen = new Map<string, FileEntry>();
  for (const f of files) {
    const p = repoRelative(f.path).replace(/^\.\//, '');
    if (!seen.has(p)) seen.set(p, { ...f, path: p });
  }
  return [...seen.values()];
}

function shortenExcerpt(excerpt: string): string {
  const text = excerpt.replace(/\r\n/g, '\n').replace(/\s+$/, '');
  if (text.length <= MAX_EXCERPT_CHARS) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  let size = 0;
  for (const line of lines) {
    if (size + line.length + 1 > MAX_EXCERPT_CHARS) break;
    kept.push(line);
    size += line.length + 1;
  }
  return `${kept.join('\n')}\n… (${lines.length - kept.length} more lines not shown)`;
}

function longestBacktickRun(s: string): number {
  let best = 0;
  for (const m of s.matchAll(/`+/g)) best = Math.max(best, m[0].length);
  return best;
}

function uniqueSorted(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort(compareStrings);
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** At most 4 significant digits, no exponent for ordinary magnitudes. */
export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '?';
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 1e15 || abs < 1e-6) return n.toExponential(3);
  return String(Number(n.toPrecision(4)));
}

function signed(n: number): string {
  return n > 0 ? `+${num(n)}` : num(n);
}

/** 45s, 12m, 2h15m, 3d4h. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

function iso(t: number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
