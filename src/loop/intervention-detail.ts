import { z } from 'zod';
import { EventRow } from '../store/events.js';
import type { Store } from '../store/index.js';
import type { Intervention, Transition } from '../store/interventions.js';

/**
 * The decision chain DESIGN.md asks every autonomous action to carry, read off one intervention:
 * what set it off, what was believed, what was done, what was predicted, what came of it, and
 * which lessons it leaned on or taught.
 */
export interface DecisionChain {
  trigger: string | null;
  diagnosis: string;
  action: {
    title: string;
    kind: string;
    area: string;
    changes: number;
    guard: string | null;
    commitSha: string | null;
    revertSha: string | null;
  };
  prediction: Intervention['proposal']['prediction'];
  outcome: { state: Intervention['state']; verdict: string | null; reason: string | null };
  lessons: {
    cited: string[];
    arguedAgainst: { lesson: string; why: string }[];
    /** Lessons that name this intervention in their evidence. */
    learned: string[];
  };
}

export interface InterventionDetail {
  intervention: Intervention;
  history: Transition[];
  /** Its events, newest first. */
  events: EventRow[];
  chain: DecisionChain;
}

/** At most this many events per intervention: a handful is normal; the cap bounds a runaway loop. */
const EVENT_LIMIT = 1000;

const GuardDecision = z.object({ decision: z.string() });
const Verdict = z.object({ outcome: z.string(), reason: z.string().optional() });

/** Everything known about one intervention, for `kaizen show` and the HTTP API. Throws NotFoundError. */
export function interventionDetail(store: Store, id: string): InterventionDetail {
  const intervention = store.interventions.get(id);
  const history = store.interventions.history(id);
  const events = (
    store.db
      .prepare(
        `SELECT id, t, kind, target, intervention_id AS interventionId, data FROM events
         WHERE intervention_id = ? ORDER BY id DESC LIMIT ?`,
      )
      .all(id, EVENT_LIMIT) as Record<string, unknown>[]
  ).map((r) => EventRow.parse({ ...r, data: JSON.parse(r.data as string) }));
  // The evidence lists live inside each lesson's JSON; SQLite walks them so no lesson is parsed here.
  const learned = store.db
    .prepare(
      `SELECT DISTINCT l.id FROM lessons l, json_each(l.body, '$.evidence') e WHERE e.value = ? ORDER BY l.id`,
    )
    .pluck()
    .all(id) as string[];
  return { intervention, history, events, chain: decisionChain(intervention, learned) };
}

function decisionChain(iv: Intervention, learned: string[]): DecisionChain {
  const p = iv.proposal;
  const guard = GuardDecision.safeParse(iv.guard);
  const verdict = Verdict.safeParse(iv.verdict);
  return {
    trigger: p.trigger ?? null,
    diagnosis: p.hypothesis,
    action: {
      title: p.title,
      kind: iv.kind,
      area: iv.area,
      changes: p.changes.length,
      guard: guard.success ? guard.data.decision : null,
      commitSha: iv.commitSha,
      revertSha: iv.revertSha,
    },
    prediction: p.prediction,
    outcome: {
      state: iv.state,
      verdict: verdict.success ? verdict.data.outcome : null,
      reason: verdict.success ? (verdict.data.reason ?? null) : null,
    },
    lessons: {
      cited: p.citesLessons,
      arguedAgainst: p.arguesAgainst.map((a) => ({ lesson: a.lesson, why: a.why })),
      learned,
    },
  };
}
