import { createHash } from 'node:crypto';
import type { State } from '../../loop/states.js';
import type { Lesson } from '../../propose/context/lesson.js';
import type { Intervention } from '../../store/interventions.js';
import { formatDuration } from '../../util/duration.js';

/*
 * The distiller without a model: a few fixed patterns over finished interventions, each turned
 * into a lesson with a stable id (derived from what the pattern is about), so running it twice
 * updates the same lesson instead of writing a second one.
 */

export interface Finished {
  intervention: Intervention;
  state: State;
  at: number;
}

/** A lesson the distiller wants on file; `key` says which pattern produced it. */
export interface LessonDraft {
  key: string;
  lesson: Lesson;
}

export interface Retirement {
  id: string;
  why: string;
}

/** Why a change that was rolled back or reverted got past the guard. */
export interface EscapedDefect {
  intervention: string;
  state: State;
  failure: string;
  passedChecks: string[];
  analysis: string;
}

export interface DistillPlan {
  drafts: LessonDraft[];
  retirements: Retirement[];
  /** Retirements of lessons kaizen does not own (human, shipped, imported): a person decides. */
  proposedRetirements: Retirement[];
  escapedDefects: EscapedDefect[];
}

export const UNDONE: readonly State[] = ['reverted', 'rolled_back', 'no_effect'];
/** How many undone changes of one kind in one area make a pattern. */
export const REPEAT_THRESHOLD = 3;
/** How many failed uses falsify a distilled lesson. */
export const FALSIFY_THRESHOLD = 2;

/**
 * A distilled lesson's id: the pattern that produced it, hashed with this store's salt
 * (DistillLog.idSalt), so the same pattern on two systems that exchange lessons gets two ids.
 */
export function lessonId(key: string, salt: string): string {
  return `D-${createHash('sha256')
    .update(salt === '' ? key : `${salt}\n${key}`)
    .digest('hex')
    .slice(0, 8)}`;
}

interface PlanInput {
  /** Finished in this run: validated, no_effect, reverted, rolled_back. */
  finished: readonly Finished[];
  /** Finished over the pattern lookback (includes `finished`). */
  history: readonly Finished[];
  lessons: readonly Lesson[];
  today: string;
  /** This store's salt for lesson ids. */
  salt: string;
}

export function planDeterministic(input: PlanInput): DistillPlan {
  const drafts: LessonDraft[] = [];
  const escapedDefects: EscapedDefect[] = [];
  for (const f of input.finished) {
    if (f.state === 'validated') {
      const d = workedLesson(f.intervention, input);
      if (d) drafts.push(d);
    }
    if (f.state === 'rolled_back' || f.state === 'reverted') {
      const e = escapedDefect(f);
      escapedDefects.push(e);
      if (f.state === 'rolled_back') drafts.push(escapedLesson(f.intervention, e, input));
    }
  }
  drafts.push(...repeatedFailureLessons(input));
  const { retirements, proposedRetirements } = falsified(input);
  return { drafts: mergeByKey(drafts), retirements, proposedRetirements, escapedDefects };
}

function files(iv: Intervention): string[] {
  return [...new Set(iv.proposal.changes.map((c) => ('path' in c ? c.path : `runbook ${c.action}`)))].sort();
}

function fmt(v: number, relative: boolean): string {
  return relative ? `${Math.round(v * 1000) / 10} %` : String(Math.round(v * 1000) / 1000);
}

interface VerdictLike {
  actual?: { magnitude: number | null; direction: string } | null;
  pValue?: { twoSided: number } | null;
  baseline?: { median?: number | null } | null;
  reason?: string;
}

/** A change that validated: prefer it again when the same signal needs the same move. */
function workedLesson(iv: Intervention, { today, salt }: PlanInput): LessonDraft | undefined {
  const p = iv.proposal;
  const v = (iv.verdict ?? {}) as VerdictLike;
  const actual = v.actual?.magnitude;
  if (actual === null || actual === undefined) return undefined;
  const rel = p.prediction.relative;
  const key = `worked:${iv.target}:${iv.area}:${iv.kind}:${p.prediction.signal}:${p.prediction.direction}`;
  const where = files(iv).join(', ');
  const window = iv.windowMs ? ` within ${formatDuration(iv.windowMs)}` : '';
  return {
    key,
    lesson: {
      id: lessonId(key, salt),
      scope: iv.area,
      when: `${p.prediction.signal} needs to go ${p.prediction.direction} in area ${iv.area} of ${iv.target}${p.trigger ? ` (as when: ${p.trigger})` : ''}`,
      prefer: `${p.title} (a ${iv.kind} change to ${where}), as ${iv.id} did`,
      because: `${p.hypothesis.trim()} Validated: ${p.prediction.signal} went ${v.actual?.direction ?? p.prediction.direction} by ${fmt(actual, rel)} against a predicted ${fmt(p.prediction.magnitude, rel)}${v.pValue ? ` (p = ${v.pValue.twoSided.toPrecision(2)})` : ''}.`,
      falsifiable: `true iff the same change moves ${p.prediction.signal} ${p.prediction.direction} by at least ${fmt(actual / 2, rel)}${window} again`,
      retired_when: `${where} no longer control ${p.prediction.signal}`,
      ...(typeof v.baseline?.median === 'number'
        ? {
            calibrated_for: `${iv.target} with ${p.prediction.signal} at a median of ${v.baseline.median} before the change`,
          }
        : {}),
      source: 'distilled',
      evidence: [iv.id],
      status: 'active',
      created_at: today,
      signals: [p.prediction.signal],
      areas: [iv.area],
    },
  };
}

interface GuardLike {
  checks?: { check?: string; id?: string; decision?: string }[];
}

function escapedDefect(f: Finished): EscapedDefect {
  const iv = f.intervention;
  const guard = (iv.guard ?? {}) as GuardLike;
  const passed = (guard.checks ?? []).filter((r) => r.decision === 'pass').map((r) => r.check ?? r.id ?? '?');
  const v = (iv.verdict ?? {}) as VerdictLike;
  const failure =
    f.state === 'reverted'
      ? (v.reason ?? 'validation reverted it')
      : (lastReason(iv) ?? 'the deploy or health probe failed');
  const analysis =
    f.state === 'rolled_back'
      ? `the guard's checks judge policy (paths, kinds, budget, dedup, freeze, canary, lessons, risk) and whether the change applies to the tree; none of them runs the target, so a change that breaks the deploy or health passes them all (${passed.length} passed). A canary or a validator for ${files(iv).join(', ')} would have caught it before production.`
      : `the change deployed healthy and then moved ${iv.proposal.prediction.signal} the wrong way or crossed an alert; nothing before apply measures effects, which is what validation is for. It was undone within its window.`;
  return { intervention: iv.id, state: f.state, failure, passedChecks: passed, analysis };
}

/** The reason of the transition into the final state: for a rollback, the health or deploy failure. */
function lastReason(iv: Intervention): string | undefined {
  const log = iv.applyLog as { rollback?: { reason?: string } } | null;
  return log?.rollback?.reason;
}

/** A change that broke the deploy or health: the next change to those files should be checked first. */
function escapedLesson(iv: Intervention, e: EscapedDefect, { today, salt }: PlanInput): LessonDraft {
  const where = files(iv).join(', ');
  const key = `escaped:${iv.target}:${iv.area}:${where}`;
  return {
    key,
    lesson: {
      id: lessonId(key, salt),
      scope: iv.area,
      when: `a change in area ${iv.area} of ${iv.target} touches ${where}`,
      prefer: `check ${where} the way the deploy reads it before applying (a validator, or a canary), and keep the change small`,
      because: `${iv.id} ("${iv.proposal.title}") passed every guard check and then failed in production: ${clip(e.failure, 300)}`,
      falsifiable: `true iff the next change to ${where} that follows this lesson deploys healthy`,
      retired_when: `the deploy validates ${where} itself before restarting`,
      source: 'distilled',
      evidence: [iv.id],
      status: 'active',
      created_at: today,
      areas: [iv.area],
    },
  };
}

/** "In area X, change kind Y was undone N times: prefer Z." */
function repeatedFailureLessons(input: PlanInput): LessonDraft[] {
  const groups = new Map<string, Finished[]>();
  for (const f of input.history) {
    if (!UNDONE.includes(f.state)) continue;
    const k = `${f.intervention.target}\u0000${f.intervention.area}\u0000${f.intervention.kind}`;
    groups.set(k, [...(groups.get(k) ?? []), f]);
  }
  const fresh = new Set(input.finished.map((f) => f.intervention.id));
  const out: LessonDraft[] = [];
  for (const [k, list] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (list.length < REPEAT_THRESHOLD || !list.some((f) => fresh.has(f.intervention.id))) continue;
    const [target, area, kind] = k.split('\u0000') as [string, string, string];
    const worked = input.history
      .filter(
        (f) => f.state === 'validated' && f.intervention.target === target && f.intervention.area === area,
      )
      .filter((f) => f.intervention.kind !== kind)
      .at(-1);
    const tally = countBy(list.map((f) => f.state));
    const key = `avoid:${target}:${area}:${kind}`;
    out.push({
      key,
      lesson: {
        id: lessonId(key, input.salt),
        scope: area,
        when: `a ${kind} change is proposed in area ${area} of ${target}`,
        prefer: worked
          ? `a ${worked.intervention.kind} change, as ${worked.intervention.id} ("${worked.intervention.proposal.title}") which validated`
          : `a different kind of change, a smaller one behind a canary, or a look at another area: ${kind} changes here keep failing`,
        because: `in area ${area}, ${kind} changes were undone ${list.length} times (${tally}): ${list.map((f) => `${f.intervention.id} ${f.state}`).join(', ')}`,
        falsifiable: `true iff the next ${kind} change in ${area} also ends reverted, rolled_back or no_effect`,
        retired_when: `a ${kind} change in ${area} validates`,
        source: 'distilled',
        evidence: list.map((f) => f.intervention.id),
        status: 'active',
        created_at: input.today,
        areas: [area],
      },
    });
  }
  return out;
}

/**
 * A lesson is falsified when the interventions that followed it (cited it) after it was written
 * keep failing. kaizen retires its own (distilled) lessons; for others it proposes the retirement.
 */
function falsified(input: PlanInput): { retirements: Retirement[]; proposedRetirements: Retirement[] } {
  const retirements: Retirement[] = [];
  const proposedRetirements: Retirement[] = [];
  for (const lesson of input.lessons) {
    if (lesson.status !== 'active') continue;
    const failed = input.history.filter(
      (f) =>
        UNDONE.includes(f.state) &&
        f.intervention.proposal.citesLessons.includes(lesson.id) &&
        !lesson.evidence.includes(f.intervention.id),
    );
    if (failed.length < FALSIFY_THRESHOLD) continue;
    const why = `falsified: ${failed.map((f) => `${f.intervention.id} followed it and ended ${f.state}`).join('; ')}`;
    (lesson.source === 'distilled' ? retirements : proposedRetirements).push({ id: lesson.id, why });
  }
  return { retirements, proposedRetirements };
}

/** One draft per key: evidence of drafts with the same key is merged (several validated repeats). */
function mergeByKey(drafts: readonly LessonDraft[]): LessonDraft[] {
  const byKey = new Map<string, LessonDraft>();
  for (const d of drafts) {
    const prev = byKey.get(d.key);
    byKey.set(
      d.key,
      prev
        ? { key: d.key, lesson: { ...d.lesson, evidence: union(prev.lesson.evidence, d.lesson.evidence) } }
        : d,
    );
  }
  return [...byKey.values()];
}

export function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

function countBy(xs: readonly string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, n]) => `${n} ${k}`).join(', ');
}

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}
