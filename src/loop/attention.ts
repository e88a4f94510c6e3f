import { liveLease } from '../apply/lease.js';
import { pendingPushes } from '../apply/pending-push.js';
import { short } from '../apply/written.js';
import type { Clock } from '../clock.js';
import type { KaizenConfig } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { formatLocal } from '../util/time.js';

/*
 * What kaizen's own record says a person must look at, read from the store alone: /health lists
 * it under `attention`, `kaizen doctor` prints it. Each item goes away by itself when the thing
 * is done (an escalation when the target is fine again, a pending push when the remote has it).
 */

export type AttentionKind = 'escalation' | 'pending-push' | 'interrupted' | 'orphan';

export interface AttentionItem {
  kind: AttentionKind;
  target: string;
  interventionId?: string;
  /** One line for a person: what, and what to do. */
  text: string;
}

/** Events that end a target's escalation: it applied cleanly, recovered, or its revert reached the remote. */
const RESOLVING = ['applied', 'recovered', 'revert_pushed'];
/** …and a rollback or revert that left the target healthy. */
const RESOLVING_IF_HEALTHY = ['rolled_back', 'reverted'];

export function needsAttention(deps: { store: Store; clock: Clock; config: KaizenConfig }): AttentionItem[] {
  const { store, config } = deps;
  const items: AttentionItem[] = [];
  for (const target of config.targets) {
    const escalation = store.events.newest(target.name, ['escalation']);
    if (escalation) {
      const resolved = Math.max(
        store.events.newest(target.name, RESOLVING)?.id ?? 0,
        store.events.newest(target.name, RESOLVING_IF_HEALTHY, '$.healthyAfter')?.id ?? 0,
      );
      if (resolved < escalation.id) {
        const why = typeof escalation.data.why === 'string' ? escalation.data.why : 'a person is needed';
        items.push({
          kind: 'escalation',
          target: target.name,
          ...(escalation.interventionId ? { interventionId: escalation.interventionId } : {}),
          text: `${target.name}: a person is needed${escalation.interventionId ? ` for ${escalation.interventionId}` : ''} since ${formatLocal(escalation.t, config.timeZone)}: ${why}`,
        });
      }
    }
    for (const push of pendingPushes(store, target.name)) {
      items.push({
        kind: 'pending-push',
        target: target.name,
        interventionId: push.interventionId,
        text: `${target.name}: the revert ${short(push.revertSha)} of ${push.interventionId} is not on ${push.remote}/${push.branch} yet (${push.error}): kaizen recover pushes it when the remote takes it`,
      });
    }
    // Applying with no live lease holder: the process that applied it is gone.
    if (!liveLease(deps, target.name)) {
      for (const iv of store.interventions.list({ target: target.name, states: ['applying'] })) {
        items.push({
          kind: 'interrupted',
          target: target.name,
          interventionId: iv.id,
          text: `${target.name}: ${iv.id} was interrupted mid-apply (the kaizen applying it is gone): kaizen recover finishes or undoes it`,
        });
      }
    }
    for (const iv of store.interventions.list({ target: target.name, states: ['proposed'] })) {
      items.push({
        kind: 'orphan',
        target: target.name,
        interventionId: iv.id,
        text: `${target.name}: ${iv.id} was proposed but never guarded (kaizen stopped before guarding it): kaizen recover rejects it`,
      });
    }
  }
  return items;
}
