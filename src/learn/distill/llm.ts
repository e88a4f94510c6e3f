import { z } from 'zod';
import { LessonScan, type Lesson } from '../../propose/context/lesson.js';
import { redact } from '../../propose/context/redact.js';
import type { Finished, EscapedDefect } from './deterministic.js';

/*
 * What the distiller asks a model, and what it accepts back. The answer is untrusted: drafts are
 * validated, their evidence must name interventions the model was shown, ids are kaizen's (never
 * the model's), and a retirement may only name a lesson that exists.
 */

export const DISTILL_PROMPT_VERSION = 'distiller.v1';

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

export const DISTILL_SYSTEM = `You are kaizen's distiller. From finished interventions on a running system you write lessons: short, concrete rules a future proposer must follow or argue against. Each lesson says when it applies, what to prefer, because (the mechanism, and when it stops applying), and a falsifiable condition ("true iff ..."). Cite the interventions it rests on in evidence. For a change that was rolled back or reverted, ask why the guard did not stop it before apply; when a regular expression over files would have caught the risky code, add a scan rule {pattern, files}. Propose retiring a lesson whose falsifiable condition failed in the evidence or whose calibrated_for no longer holds. Do not repeat existing lessons. Answer only with the JSON object the schema describes; an empty list is a fine answer.`;

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
