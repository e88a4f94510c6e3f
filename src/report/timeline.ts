import { z } from 'zod';
import type { State } from '../loop/states.js';
import type { Store } from '../store/index.js';
import type { Intervention, Transition } from '../store/interventions.js';

/*
 * Interventions with their whole transition history, read once. The report asks "what state was it
 * in at the end of that week", not "what state is it in now", so a report written for an old week
 * says what it would have said then.
 */

/** Who proposed it: the prompt and model behind a model's proposal, the rules engine, or a person. */
export interface ProposalOrigin {
  provider: string;
  model: string | null;
  /** The proposer prompt version; null for the rules engine and for people (they use none). */
  promptVersion: string | null;
  /** How the report names the group, e.g. `proposer.v2 · claude-sonnet-4-5`. */
  label: string;
}

export interface Tracked {
  iv: Intervention;
  history: Transition[];
  origin: ProposalOrigin;
}

const OriginEvent = z.object({
  provider: z.string(),
  model: z.string().nullable().optional(),
  promptVersion: z.string().optional(),
});

/** Effectively all rows: the store's listings need a limit. */
export const ALL = 1_000_000;

/** Every intervention created before `until`, with its history and origin. */
export function loadTimelines(store: Store, until: number): Tracked[] {
  const origins = new Map<string, z.infer<typeof OriginEvent>>();
  for (const e of store.events.list({ kind: 'proposal_origin', limit: ALL })) {
    const data = OriginEvent.safeParse(e.data);
    if (e.interventionId !== null && data.success && !origins.has(e.interventionId))
      origins.set(e.interventionId, data.data);
  }
  return store.interventions
    .list({ limit: ALL })
    .filter((iv) => iv.createdAt < until)
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
    .map((iv) => ({
      iv,
      history: store.interventions.history(iv.id),
      origin: originOf(iv.origin, origins.get(iv.id)),
    }));
}

function originOf(column: string, event: z.infer<typeof OriginEvent> | undefined): ProposalOrigin {
  const [provider, ...rest] = column.split(':');
  const fromColumn = rest.length > 0 ? { provider: provider!, model: rest.join(':') } : undefined;
  const providerId = event?.provider ?? fromColumn?.provider ?? (column === 'rules' ? 'rules' : 'person');
  if (providerId === 'rules')
    return { provider: 'rules', model: null, promptVersion: null, label: 'offline rules' };
  if (providerId === 'person')
    return { provider: 'person', model: null, promptVersion: null, label: 'by hand' };
  const model = event?.model ?? fromColumn?.model ?? null;
  const promptVersion = event?.promptVersion ?? null;
  return {
    provider: providerId,
    model,
    promptVersion,
    label: `${promptVersion ?? 'unknown prompt'} · ${model ?? providerId}`,
  };
}

/** The state the intervention was in just before `t`; undefined when it did not exist yet. */
export function stateAt(tracked: Tracked, t: number): State | undefined {
  let state: State | undefined;
  for (const tr of tracked.history) {
    if (tr.at >= t) break;
    state = tr.to;
  }
  return state;
}

/** The transitions into `states` (all when omitted) with from ≤ at < to. */
export function transitionsIn(
  tracked: Tracked,
  from: number,
  to: number,
  states?: readonly State[],
): Transition[] {
  return tracked.history.filter((tr) => tr.at >= from && tr.at < to && (!states || states.includes(tr.to)));
}

/** The latest transition before `t`. */
export function lastTransitionBefore(tracked: Tracked, t: number): Transition | undefined {
  return tracked.history.filter((tr) => tr.at < t).at(-1);
}
