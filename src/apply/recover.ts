import type { Intervention } from '../store/interventions.js';
import { applyIntervention, type ApplyDeps, type ApplyResult } from './apply-intervention.js';
import { REVERTIBLE, revertIntervention } from './revert.js';

export type RecoverResult =
  ApplyResult | { outcome: 'reverted'; intervention: Intervention; healthyAfter: boolean };

/**
 * Finish or undo every intervention a crash left in `applying`, and finish every revert a crash
 * interrupted. Safe to run at every start: each step of an apply or revert is skipped when it is
 * already done.
 */
export async function recoverInterrupted(deps: ApplyDeps): Promise<RecoverResult[]> {
  const stuck: Intervention[] = deps.store.interventions.list({ states: ['applying'] });
  const results: RecoverResult[] = [];
  for (const iv of stuck) {
    deps.logger.warn({ intervention: iv.id }, 'recovering an apply interrupted by a crash');
    deps.store.events.append(deps.clock.now(), {
      kind: 'recovery',
      target: iv.target,
      interventionId: iv.id,
      data: {},
    });
    results.push(await applyIntervention(deps, iv.id));
  }
  for (const id of deps.store.intents.unfinished('revert')) {
    const iv = deps.store.interventions.get(id);
    if (!REVERTIBLE.includes(iv.state)) continue; // the revert finished; only its intent was not closed
    const intent = deps.store.intents.get(id, 'revert')!;
    const actor = String(intent.data.actor ?? 'kaizen');
    const why = String(intent.data.why ?? 'revert interrupted by a crash');
    deps.logger.warn({ intervention: id }, 'recovering a revert interrupted by a crash');
    deps.store.events.append(deps.clock.now(), {
      kind: 'recovery',
      target: iv.target,
      interventionId: id,
      data: { step: 'revert' },
    });
    const { intervention, undo } = await revertIntervention(
      deps,
      id,
      actor,
      why,
      intent.data.verdict != null ? { verdict: intent.data.verdict } : {},
    );
    results.push({ outcome: 'reverted', intervention, healthyAfter: undo.healthyAfter });
  }
  return results;
}
