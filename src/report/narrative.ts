import { z } from 'zod';
import { KaizenError } from '../errors.js';
import { loadPrompt } from '../propose/prompt.js';
import {
  createProvider,
  modelFor,
  selectProvider,
  type LlmProvider,
  type ProviderEnv,
} from '../propose/providers/index.js';
import { callModel } from '../propose/model-call.js';
import { jsonSchemaOf } from '../propose/structured.js';
import { formatDuration } from '../util/duration.js';
import type { ReportDeps, WeeklyData } from './data.js';
import { MAX_NEXT_MOVES, rankNextMoves, type NextMove } from './next-moves.js';

/*
 * "Highest-value next moves": a short narrative and a ranked list from the configured model, or
 * the deterministic ranking when there is no model or its answer cannot be used. The report says
 * which one it shows and why. Model output is untrusted text: the renderers escape it like any
 * other string from the store.
 */

export const ReviewAnswer = z.strictObject({
  narrative: z.string().trim().min(1).max(3000),
  nextMoves: z
    .array(
      z.strictObject({ title: z.string().trim().min(1).max(200), why: z.string().trim().min(1).max(1000) }),
    )
    .min(1)
    .max(MAX_NEXT_MOVES),
});
export type ReviewAnswer = z.infer<typeof ReviewAnswer>;
export const REVIEW_SCHEMA_NAME = 'weekly_review';

/** Versioned like the proposer's prompt; the version is recorded with every call in the usage log. */
export const REVIEW_PROMPT = loadPrompt('meta-review', 1);

export interface Narrative {
  mode: 'model' | 'ranking';
  /** One sentence: which was used and why. */
  note: string;
  provider: string | null;
  model: string | null;
  /** The model's narrative; null for the ranking. */
  text: string | null;
  moves: (NextMove | { kind: 'model'; title: string; why: string })[];
}

export interface NarrativeOptions {
  /** The model to ask; null for none. Default: the configured proposer provider. */
  provider?: LlmProvider | null;
  /** Where API keys come from (default process.env). */
  env?: ProviderEnv;
}

export async function narrate(
  deps: ReportDeps,
  data: WeeklyData,
  options: NarrativeOptions = {},
): Promise<Narrative> {
  const ranking = rankNextMoves(data);
  const fallback = (note: string): Narrative => ({
    mode: 'ranking',
    note,
    provider: null,
    model: null,
    text: null,
    moves: ranking,
  });

  const { config, clock } = deps;
  let provider: LlmProvider | undefined;
  if (options.provider === null) return fallback('deterministic ranking: no model was asked');
  if (options.provider) provider = options.provider;
  else {
    try {
      const selection = selectProvider(config.proposer, options.env ?? process.env);
      if (selection.id === 'rules')
        return fallback(`deterministic ranking: no model is configured (${selection.why})`);
      provider = await createProvider(selection, options.env ?? process.env, {
        clock,
        ...(config.proposer.baseUrl ? { baseUrl: config.proposer.baseUrl } : {}),
      });
    } catch (err) {
      if (!(err instanceof KaizenError)) throw err;
      return fallback(`deterministic ranking: the model is not usable (${err.message})`);
    }
  }
  if (!provider) return fallback('deterministic ranking: no model is configured');

  const model = modelFor(config.proposer, provider.id, 'review');
  const answer = await callModel(deps, {
    provider,
    target: null,
    promptVersion: REVIEW_PROMPT.version,
    schema: ReviewAnswer,
    request: {
      task: 'meta-review',
      model,
      system: REVIEW_PROMPT.system,
      prompt: REVIEW_PROMPT.render({
        week: data.week.label,
        facts: JSON.stringify(facts(data), null, 1),
        ranking: ranking.map((m, i) => `${i + 1}. ${m.title}: ${m.why}`).join('\n') || '(nothing ranked)',
      }),
      maxOutputTokens: Math.min(config.proposer.maxOutputTokens, 2048),
      timeoutMs: config.proposer.timeoutMs,
      schema: jsonSchemaOf(ReviewAnswer),
      schemaName: REVIEW_SCHEMA_NAME,
    },
  });
  if (answer.unavailable !== undefined)
    return fallback(`deterministic ranking: the model call failed (${answer.unavailable})`);
  if (!answer.ok) return fallback(`deterministic ranking: ${answer.reason}`);
  return {
    mode: 'model',
    note: `narrative and ranking by ${provider.id} ${model} (prompt ${REVIEW_PROMPT.version})`,
    provider: provider.id,
    model,
    text: answer.value.narrative,
    moves: answer.value.nextMoves.map((m) => ({ kind: 'model' as const, ...m })),
  };
}

/** The week's figures, compact: what the model needs and nothing it could echo at length. */
function facts(d: WeeklyData) {
  const ms = (v: number | null) => (v === null ? null : formatDuration(v));
  return {
    week: d.week.label,
    inProgress: d.week.partial,
    entered: d.summary.entered,
    interventions: d.interventions.map((i) => ({
      id: i.id,
      title: i.title,
      area: i.area,
      origin: i.origin,
      prediction: i.prediction,
      state: i.state,
      calibrationError: i.calibration?.error ?? null,
    })),
    recovery: {
      mttr: ms(d.recovery.mttrMs),
      mttrBefore: ms(d.recovery.beforeMttrMs),
      recovered: d.recovery.recovered,
      stillAlerting: d.recovery.ongoing,
    },
    calibration: {
      thisWeek: d.calibration.thisWeek,
      before: d.calibration.before,
      drift: d.calibration.drift.direction,
    },
    byPromptAndModel: d.byOrigin.map((o) => ({
      origin: o.label,
      proposed: o.proposed,
      validatedShare: o.validatedShare,
      calibration: o.calibration,
    })),
    frozenAreas: d.freezes.frozen.map((f) => ({
      area: f.area,
      stillFrozen: f.stillFrozen,
      after: f.interventions,
    })),
    escalations: d.freezes.escalations.map((e) => ({ intervention: e.interventionId, why: e.why })),
    alertsWithoutProposal: d.blindSpots.silentAlerts.map((s) => ({
      signal: s.signal,
      episodes: s.episodes,
      alertTime: ms(s.alertMs),
    })),
    repeatedNoEffect: d.blindSpots.repeatedNoEffect,
    backlog: d.blindSpots.backlog.map((b) => ({
      id: b.id,
      title: b.title,
      waiting: ms(b.waitingMs),
      reason: b.reason,
    })),
    lessons: {
      active: d.lessons.active,
      created: d.lessons.created.map((l) => l.id),
      retired: d.lessons.retiredThisWeek.map((l) => l.id),
      neverCited: d.lessons.neverCited.map((l) => l.id),
    },
  };
}
