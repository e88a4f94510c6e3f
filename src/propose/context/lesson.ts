import picomatch from 'picomatch';
import { z } from 'zod';
import { scanRuleIssues } from './scan-rule.js';

/*
 * A lesson, as DESIGN.md "Lessons" describes it: one YAML file per lesson, readable and editable
 * by people. The Learn stage loads and indexes them; this module only defines the shape and how a
 * lesson is matched against the current situation of a target.
 *
 * Extensions beyond the DESIGN.md shape, all optional, to make matching precise:
 *  - `signals`: signal names the lesson speaks about (a direct match when one of them alerts);
 *  - `areas`: area names it speaks about;
 *  - `scan`: a regex searched for in files matching a glob (hits become "findings"), on a
 *    linear-time engine, with an optional `unless` regex for lines that are not findings;
 *  - `action`: a structured proposal template for the offline rules engine (free-form for now).
 */

const Text = z.string().trim().min(1);

/** YAML 1.1 loaders may turn `2026-05-30` into a Date: normalise either to `YYYY-MM-DD`. */
const DateText = z.union([
  z.string().regex(/^\d{4}-\d{2}-\d{2}/, 'expected a date such as 2026-05-30'),
  z.date().transform((d) => d.toISOString().slice(0, 10)),
]);

/** The fields of a scan rule; what they may hold is checked by scanRuleIssues (see scan-rule.ts). */
const LessonScanFields = z.strictObject({
  /**
   * A regular expression in RE2 syntax, searched for line by line. JavaScript patterns without
   * lookaround and backreferences mean the same; those two are refused (no linear-time engine can
   * run them): say what a line must not contain in `unless` instead.
   */
  pattern: z.string().min(1),
  /** Optional, RE2 syntax: a line that matches `pattern` and also this is not a finding. */
  unless: z.string().min(1).optional(),
  /** A glob of repo-relative paths to search (picomatch; no extglobs, few wildcards). */
  files: z.string().min(1),
});

/** A scan rule on its own (the distiller's model writes these; kaizen gives the lesson its id). */
export const LessonScan = LessonScanFields.superRefine((scan, ctx) => {
  for (const issue of scanRuleIssues(scan)) {
    ctx.addIssue({ code: 'custom', path: [issue.field], message: issue.message });
  }
});
export type LessonScan = z.infer<typeof LessonScan>;

export const Lesson = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'expected a lesson id such as L0007'),
    /** Where it applies: an area, a signal, the target's name, or "*" for everywhere. */
    scope: Text,
    when: Text,
    prefer: Text,
    because: Text,
    falsifiable: Text,
    retired_when: Text.optional(),
    calibrated_for: Text.optional(),
    source: z.enum(['human', 'distilled', 'imported']),
    /** Intervention ids the lesson rests on. */
    evidence: z.array(z.string()).default([]),
    status: z.enum(['active', 'retired']),
    created_at: DateText,
    /** When and why it was retired (`kaizen lessons retire`, or the distiller). */
    retired_at: DateText.optional(),
    retired_why: Text.optional(),
    /** For `source: imported`: the fingerprint of the trusted key whose signature verified. */
    imported_from: z.string().min(1).optional(),
    signals: z.array(z.string().min(1)).optional(),
    areas: z.array(z.string().min(1)).optional(),
    scan: LessonScanFields.optional(),
    action: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((lesson, ctx) => {
    // Checked here rather than in the scan's own schema so that the message names the lesson: it is
    // read where the lesson is refused (lessons add, an import, a lesson file skipped on load).
    if (!lesson.scan) return;
    for (const issue of scanRuleIssues(lesson.scan)) {
      ctx.addIssue({
        code: 'custom',
        path: ['scan', issue.field],
        message: `lesson ${lesson.id}: ${issue.message}`,
      });
    }
  });
export type Lesson = z.infer<typeof Lesson>;
export type LessonInput = z.input<typeof Lesson>;

/** What a lesson is matched against. */
export interface MatchSituation {
  target: string;
  /** Signals in alert now. */
  alertingSignals: readonly string[];
  /** Every signal of the target (alerting or not). */
  signals: readonly string[];
  /** Areas of the target (from its signals), plus any the caller adds. */
  areas: readonly string[];
  /** Lesson ids whose scan rule hit a file. */
  findingLessons: readonly string[];
}

/**
 * How a lesson matched, strongest first. A direct hit on an alerting signal beats a scan finding,
 * which beats an area (or a signal that is not alerting), which beats a scope that merely names the
 * target, an area or a signal.
 */
export const MATCH_TIERS = {
  alerting_signal: 4,
  finding: 3,
  area: 2,
  signal: 2,
  scope: 1,
} as const;
export type MatchKind = keyof typeof MATCH_TIERS;

export interface LessonMatch {
  lesson: Lesson;
  /** The strongest tier among `reasons`. */
  tier: number;
  /** Why it matched, strongest first, e.g. `alerting signal p95_ms`. */
  reasons: string[];
}

const WILDCARD_SCOPES = new Set(['*', 'all', 'any', 'global']);

/**
 * The ACTIVE lessons relevant to the situation, ranked: tier (strongest reason) first, then the
 * number of reasons, then id. Retired lessons never match. Deterministic for equal input.
 */
export function matchLessons(lessons: readonly Lesson[], situation: MatchSituation): LessonMatch[] {
  const alerting = new Set(situation.alertingSignals);
  const signals = new Set(situation.signals);
  const areas = new Set(situation.areas);
  const found = new Set(situation.findingLessons);
  const out: LessonMatch[] = [];
  for (const lesson of lessons) {
    if (lesson.status !== 'active') continue;
    const hits: { kind: MatchKind; text: string }[] = [];
    for (const s of unique(lesson.signals ?? [])) {
      if (alerting.has(s)) hits.push({ kind: 'alerting_signal', text: `alerting signal ${s}` });
      else if (signals.has(s)) hits.push({ kind: 'signal', text: `signal ${s}` });
    }
    if (found.has(lesson.id)) hits.push({ kind: 'finding', text: 'scan finding' });
    for (const a of unique(lesson.areas ?? [])) {
      if (areas.has(a)) hits.push({ kind: 'area', text: `area ${a}` });
    }
    const scope = lesson.scope;
    if (WILDCARD_SCOPES.has(scope)) hits.push({ kind: 'scope', text: `scope ${scope}` });
    else if (scope === situation.target) hits.push({ kind: 'scope', text: `scope target ${scope}` });
    else if (areas.has(scope)) hits.push({ kind: 'scope', text: `scope area ${scope}` });
    else if (alerting.has(scope) || signals.has(scope))
      hits.push({ kind: 'scope', text: `scope signal ${scope}` });
    if (hits.length === 0) continue;
    // Stable sort: strongest first, in the order found within a tier.
    hits.sort((a, b) => MATCH_TIERS[b.kind] - MATCH_TIERS[a.kind]);
    out.push({ lesson, tier: MATCH_TIERS[hits[0]!.kind], reasons: hits.map((h) => h.text) });
  }
  return out.sort(
    (a, b) =>
      b.tier - a.tier || b.reasons.length - a.reasons.length || compareStrings(a.lesson.id, b.lesson.id),
  );
}

/** Whether a repo-relative path is one the lesson's scan rule looks at. */
export function lessonPointsAt(lesson: Lesson, relPath: string): boolean {
  if (!lesson.scan) return false;
  return globMatcher(lesson.scan.files)(relPath);
}

/** Compiled globs, by pattern: many lessons share a few patterns, and compiling is the slow part. */
const MATCHERS = new Map<string, (path: string) => boolean>();
function globMatcher(glob: string): (path: string) => boolean {
  let m = MATCHERS.get(glob);
  if (!m) {
    if (MATCHERS.size > 10_000) MATCHERS.clear();
    m = picomatch(glob, { dot: true, nocase: true });
    MATCHERS.set(glob, m);
  }
  return m;
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** Code-unit order, independent of locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
