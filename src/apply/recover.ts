import type { Intervention } from '../store/interventions.js';
import { applyIntervention, type ApplyDeps, type ApplyResult } from './apply-intervention.js';

/**
 * Finish or undo every intervention a crash left in `applying`. Safe to run at every start:
 * each step of an apply is skipped when it is already done.
 */
export async function recoverInterrupted(deps: ApplyDeps): Promise<ApplyResult[]> {
  const stuck: Intervention[] = deps.store.interventions.list({ states: ['applying'] });
  const results: ApplyResult[] = [];
  for (const iv of stuck) {
    deps.logger.warn({ intervention: iv.id }, 'recovering an apply interrupted by a crash');
    deps.store.events.append(deps.clock.now(), { kind: 'recovery', target: iv.target, interventionId: iv.id, data: {} });
    results.push(await applyIntervention(deps, iv.id));
  }
  return results;
}
