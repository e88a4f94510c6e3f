import { z } from 'zod';
import { LessonScan, type Lesson } from '../../propose/context/lesson.js';
import { loadPrompt } from '../../propose/prompt.js';
import { redact } from '../../propose/context/redact.js';
import type { Finished, EscapedDefect } from './deterministic.js';

/*
 * What the distiller asks a model, and what it accepts back. The answer is untrusted: drafts are
 * validated, their evidence must name interventions the model was shown, ids are kaizen's (never
 * the model's), and a retirement may only name a lesson that exists.
 */

const Text = (max: number) => z.string().trim().min(1).max(max);
const Name = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/);

export const LessonSuggestion = z.strictObject({
  scope: Text(64),
  when: Text(500),
  prefer: Text(500),
  because: Text(1000),
  falsifiable: Text(500),
  retired_when: Text(500).optional(),
  calibrated_for: Text(300).optional(),
  evidence: z.array(z.string().max(64)).min(1).max(50),
  signals: z.array(Name).max(10).optional(),
  areas: z.array(Name).max(10).optional(),
  scan: LessonScan.optional(),
});
export type LessonSuggestion = z.infer<typeof LessonSuggestion>;

export const DistillAnswer = z.strictObject({
  lessons: z.array(LessonSuggestion).max(10),
  retirements: z.array(z.strictObject({ id: z.string().max(64), why: Text(1000) })).max(10),
  notes: z.string().max(2000).optional(),
});
export type DistillAnswer = z.infer<typeof DistillAnswer>;

/** The distiller's prompt, versioned like the proposer's (recorded with every call). */
export const DISTILL_PROMPT = loadPrompt('distiller', 1);

/** The prompt: finished interventions, escaped-defect analyses, and the lessons on file. Secrets redacted. */
export function distillPrompt(
  finished: readonly Finished[],
  escaped: readonly EscapedDefect[],
  lessons: readonly Lesson[],
  env: Readonly<Record<string, string | undefined>>,
): string {
  const interventions = finished.map(({ intervention: iv, state }) => ({
    id: iv.id,
    target: iv.target,
    area: iv.area,
    kind: iv.kind,
    outcome: state,
    title: iv.proposal.title,
    hypothesis: iv.proposal.hypothesis,
    prediction: iv.proposal.prediction,
    files: iv.proposal.changes.map((c) => ('path' in c ? c.path : `runbook ${c.action}`)),
    citesLessons: iv.proposal.citesLessons,
    verdict: summariseVerdict(iv.verdict),
  }));
  const onFile = lessons
    .filter((l) => l.status === 'active')
    .slice(0, 200)
    .map((l) => ({ id: l.id, scope: l.scope, when: l.when, prefer: l.prefer, falsifiable: l.falsifiable }));
  return redact(
    [
      '## Finished interventions',
      JSON.stringify(interventions, null, 1),
      '## Why the guard let the undone ones through',
      JSON.stringify(escaped, null, 1),
      '## Active lessons on file (do not repeat them; you may propose retiring one)',
      JSON.stringify(onFile, null, 1),
    ].join('\n\n'),
    { env },
  );
}

function summariseVerdict(v: unknown): unknown {
  if (!v || typeof v !== 'object') return null;
  const { outcome, rule, reason, actual, predicted } = v as Record<string, unknown>;
  return { outcome, rule, reason, actual, predicted };
}
