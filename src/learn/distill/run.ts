import type { Runtime } from '../../compose.js';
import { faultPoint } from '../../apply/fault.js';
import type { Lesson } from '../../propose/context/lesson.js';
import type { CircuitBreaker } from '../../propose/breaker.js';
import { callModel } from '../../propose/model-call.js';
import { createProvider, modelFor, selectProvider } from '../../propose/providers/index.js';
import { jsonSchemaOf } from '../../propose/structured.js';
import { loadLessons, writeLessonFile } from '../lesson-files.js';
import { lessonDate } from '../lesson-ops.js';
import {
  lessonId,
  planDeterministic,
  union,
  type DistillPlan,
  type LessonDraft,
  type Retirement,
} from './deterministic.js';
import { DISTILL_PROMPT, DistillAnswer, distillPrompt } from './llm.js';
import { similarLesson } from './similar.js';

/** The outcomes the distiller reviews. */
const REVIEWED = ['validated', 'no_effect', 'reverted', 'rolled_back'] as const;
/** How far back the patterns look ("reverted 3 times" within this). */
const LOOKBACK_MS = 30 * 86_400_000;

export interface DistillDeps extends Pick<Runtime, 'config' | 'store' | 'clock'> {
  env?: Readonly<Record<string, string | undefined>>;
  breakers?: Map<string, CircuitBreaker>;
}

export interface DistillSummary {
  run: number;
  since: number;
  until: number;
  /** `rules`, or `provider:model` when a model distilled. */
  mode: string;
  resumed: boolean;
  reviewed: { intervention: string; state: string }[];
  created: string[];
  updated: string[];
  duplicates: { draft: string; existing: string }[];
  retired: Retirement[];
  proposedRetirements: Retirement[];
  escapedDefects: DistillPlan['escapedDefects'];
  notes: string[];
}

/**
 * One distiller run over the interventions finished since the last run. Every lesson write and
 * retirement is a checkpointed step with a stable lesson id: after a crash the next run resumes the
 * same run, skips finished steps, and a step redone after a crash rewrites the same file with the
 * same content, so nothing is lost and nothing is written twice.
 */
export async function distill(deps: DistillDeps): Promise<DistillSummary> {
  const { store, clock, config } = deps;
  const env = deps.env ?? process.env;
  const selection = selectProvider(config.proposer, env);
  const provider = await createProvider(selection, env, {
    clock,
    ...(config.proposer.baseUrl ? { baseUrl: config.proposer.baseUrl } : {}),
  });
  const model = provider ? modelFor(config.proposer, provider.id, 'distill') : undefined;

  const resumedRun = store.distill.unfinished();
  const run =
    resumedRun ??
    store.distill.start({
      startedAt: clock.now(),
      since: store.distill.lastFinished()?.until ?? 0,
      until: clock.now(),
      mode: provider ? `${provider.id}:${model}` : 'rules',
    });

  const finished = store.interventions.enteredBetween(REVIEWED, run.since, run.until);
  const history = store.interventions.enteredBetween(REVIEWED, run.until - LOOKBACK_MS, run.until);
  const loaded = loadLessons(config);
  const today = lessonDate(deps);
  const salt = store.distill.idSalt();
  const plan = planDeterministic({ finished, history, lessons: loaded.lessons, today, salt });
  const summary: DistillSummary = {
    run: run.id,
    since: run.since,
    until: run.until,
    mode: run.mode,
    resumed: resumedRun !== undefined,
    reviewed: finished.map((f) => ({ intervention: f.intervention.id, state: f.state })),
    created: [],
    updated: [],
    duplicates: [],
    retired: [],
    proposedRetirements: plan.proposedRetirements,
    escapedDefects: plan.escapedDefects,
    notes: [],
  };

  if (provider && model && finished.length > 0) {
    const llm = await modelDrafts(deps, run.id, provider, model, finished, plan, loaded.lessons, today, env);
    summary.notes.push(...llm.notes);
    plan.drafts.push(...llm.drafts);
    for (const r of llm.retirements) {
      const lesson = loaded.lessons.find((l) => l.id === r.id && l.status === 'active');
      if (!lesson)
        summary.notes.push(`model proposed retiring ${r.id}, which is not an active lesson: ignored`);
      else (lesson.source === 'distilled' ? plan.retirements : summary.proposedRetirements).push(r);
    }
  }

  const known = new Map(loaded.files.map((f) => [f.lesson.id, f]));
  for (const draft of plan.drafts) {
    const step = `lesson:${draft.lesson.id}`;
    const done = store.distill.stepResult(run.id, step) as { result?: string } | undefined;
    const result = done?.result ?? writeDraft(deps, draft, known, summary);
    if (done) record(summary, result, draft.lesson.id);
    store.distill.markStep(run.id, step, clock.now(), { result });
  }
  for (const r of plan.retirements) {
    const step = `retire:${r.id}`;
    if (store.distill.stepResult(run.id, step) === undefined) {
      const lesson = known.get(r.id)?.lesson;
      if (lesson && lesson.status === 'active') {
        writeLessonFile(config.lessonsDir, {
          ...lesson,
          status: 'retired',
          retired_at: today,
          retired_why: r.why,
        });
        faultPoint('distill-after-write');
      }
      store.distill.markStep(run.id, step, clock.now());
    }
    summary.retired.push(r);
  }

  store.distill.finish(run.id, clock.now(), summary);
  store.events.append(clock.now(), {
    kind: 'distilled',
    data: {
      run: run.id,
      mode: run.mode,
      reviewed: summary.reviewed.length,
      created: summary.created,
      updated: summary.updated,
      retired: summary.retired.map((r) => r.id),
    },
  });
  store.lessons.sync(loadLessons(config).files, clock.now());
  return summary;
}

type WriteResult = 'created' | 'updated' | 'unchanged' | `duplicate:${string}`;

/** Write one draft: a new lesson, more evidence for the same one, or nothing for a near-duplicate. */
function writeDraft(
  deps: DistillDeps,
  draft: LessonDraft,
  known: Map<string, { lesson: Lesson; file: string }>,
  summary: DistillSummary,
): WriteResult {
  const existing = known.get(draft.lesson.id);
  let result: WriteResult;
  let lesson: Lesson;
  if (existing) {
    const evidence = union(existing.lesson.evidence, draft.lesson.evidence);
    if (evidence.length === existing.lesson.evidence.length) result = 'unchanged';
    else result = 'updated';
    lesson = { ...existing.lesson, evidence };
  } else {
    const similar = similarLesson(
      draft.lesson,
      [...known.values()].map((k) => k.lesson),
    );
    if (similar) {
      // The same lesson in other words: it gains the evidence if kaizen owns it, else nothing.
      result = `duplicate:${similar.id}`;
      if (similar.source !== 'distilled') {
        record(summary, result, draft.lesson.id);
        return result;
      }
      lesson = { ...similar, evidence: union(similar.evidence, draft.lesson.evidence) };
    } else {
      result = 'created';
      lesson = draft.lesson;
    }
  }
  if (result !== 'unchanged') {
    const file = writeLessonFile(deps.config.lessonsDir, lesson);
    known.set(lesson.id, { lesson, file });
    faultPoint('distill-after-write');
  }
  record(summary, result, draft.lesson.id);
  return result;
}

function record(summary: DistillSummary, result: string, id: string): void {
  if (result === 'created') summary.created.push(id);
  else if (result === 'updated') summary.updated.push(id);
  else if (result.startsWith('duplicate:'))
    summary.duplicates.push({ draft: id, existing: result.slice(10) });
}

/**
 * Ask the model for lessons and retirements. The answer is checkpointed as a step, so a crash after
 * the call does not pay for it twice; a failed or invalid answer leaves the deterministic plan.
 */
async function modelDrafts(
  deps: DistillDeps,
  runId: number,
  provider: NonNullable<Awaited<ReturnType<typeof createProvider>>>,
  model: string,
  finished: Parameters<typeof distillPrompt>[0],
  plan: DistillPlan,
  lessons: readonly Lesson[],
  today: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ drafts: LessonDraft[]; retirements: Retirement[]; notes: string[] }> {
  const { store, clock, config } = deps;
  let answer = store.distill.stepResult(runId, 'model') as DistillAnswer | { failed: string } | undefined;
  if (answer === undefined) {
    const r = await callModel(deps, {
      provider,
      target: null,
      promptVersion: DISTILL_PROMPT.version,
      schema: DistillAnswer,
      request: {
        task: 'distiller',
        model,
        system: DISTILL_PROMPT.system,
        prompt: DISTILL_PROMPT.render({
          context: distillPrompt(finished, plan.escapedDefects, lessons, env),
        }),
        maxOutputTokens: config.proposer.maxOutputTokens,
        timeoutMs: config.proposer.timeoutMs,
        schema: jsonSchemaOf(DistillAnswer),
        schemaName: 'distilled_lessons',
      },
    });
    answer = r.ok ? r.value : { failed: r.reason };
    store.distill.markStep(runId, 'model', clock.now(), answer);
  }
  if ('failed' in answer) {
    return {
      drafts: [],
      retirements: [],
      notes: [`the model could not distill (${answer.failed}); the deterministic lessons stand alone`],
    };
  }
  const salt = store.distill.idSalt();
  const shown = new Set(finished.map((f) => f.intervention.id));
  const drafts: LessonDraft[] = [];
  const notes: string[] = [];
  for (const s of answer.lessons) {
    const evidence = s.evidence.filter((id) => shown.has(id));
    if (evidence.length === 0) {
      notes.push(`model lesson "${s.prefer.slice(0, 60)}" cites no intervention it was shown: dropped`);
      continue;
    }
    const key = `model:${s.scope}:${s.when}:${s.prefer}`;
    drafts.push({
      key,
      lesson: {
        ...s,
        id: lessonId(key, salt),
        evidence,
        source: 'distilled',
        status: 'active',
        created_at: today,
      },
    });
  }
  if (answer.notes) notes.push(`model: ${answer.notes}`);
  return { drafts, retirements: answer.retirements, notes };
}
