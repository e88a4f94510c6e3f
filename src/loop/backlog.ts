import type { Runtime } from '../compose.js';
import { loadPolicy } from '../guard/policy.js';
import type { Intervention } from '../store/interventions.js';
import { formatDuration } from '../util/duration.js';

export interface BacklogItem {
  intervention: Intervention;
  /** When it entered the backlog (the last time: approval that deferred again restarts it). */
  waitingSince: number;
  /** When it expires unless a person decides. */
  expiresAt: number;
}

type BacklogDeps = Pick<Runtime, 'config' | 'store' | 'clock'>;

/** The waiting proposals of every target (or one), oldest first, with when each expires. */
export function backlogItems(deps: BacklogDeps, target?: string): BacklogItem[] {
  const { store, config } = deps;
  const expiry = new Map(
    config.targets.map((t) => [t.name, loadPolicy(config, t).backlogExpiryMs] as const),
  );
  return store.interventions
    .list({ states: ['backlog'], ...(target ? { target } : {}), limit: 100_000 })
    .map((iv) => {
      const waitingSince = store.interventions.enteredAt(iv.id, 'backlog') ?? iv.createdAt;
      return { intervention: iv, waitingSince, expiresAt: waitingSince + (expiry.get(iv.target) ?? Infinity) };
    })
    .sort((a, b) => a.waitingSince - b.waitingSince);
}

/**
 * Reject, as kaizen, every backlog item that waited past its target's `backlogExpiry` without a
 * decision, saying how long and why it had waited. Returns what expired.
 */
export function expireBacklog(deps: BacklogDeps, target?: string): Intervention[] {
  const { store, clock } = deps;
  const now = clock.now();
  const expired: Intervention[] = [];
  for (const item of backlogItems(deps, target)) {
    if (item.expiresAt > now) continue;
    const iv = item.intervention;
    const why = `expired: waited ${formatDuration(now - item.waitingSince)} in the backlog without a decision (${iv.waitingReason ?? 'no reason recorded'}); propose it again if it still matters`;
    store.events.append(now, {
      kind: 'proposal_expired',
      target: iv.target,
      interventionId: iv.id,
      data: { waitedMs: now - item.waitingSince, waitingReason: iv.waitingReason },
    });
    expired.push(
      store.interventions.transition(iv.id, 'rejected', now, 'kaizen', why, { waitingReason: null }, 'backlog'),
    );
  }
  return expired;
}
