import type { ApplyDeps } from '../apply/apply-intervention.js';
import { withTargetLease } from '../apply/lease.js';
import { revertIntervention } from '../apply/revert.js';
import { selectTargets } from '../compose.js';
import { KaizenError } from '../errors.js';
import { crosses, describeThreshold } from '../observe/alert.js';
import type { Intervention } from '../store/interventions.js';
import { judge, type Verdict } from './verdict.js';

/** Points each side needs before the rank test is worth running. */
export const MIN_POINTS = 50;
/** How far back the baseline may reach to find enough points. */
const MAX_BASELINE_REACH_MS = 7 * 24 * 3_600_000;

export interface ValidationResult {
  intervention: Intervention;
  verdict: Verdict;
}

/** Applied interventions whose validation window has ended. */
export function dueForValidation(deps: ApplyDeps): Intervention[] {
  const now = deps.clock.now();
  return deps.store.interventions
    .list({ states: ['applied'] })
    .filter(
      (iv) => iv.appliedAt !== null && iv.appliedAt + (iv.windowMs ?? deps.config.validation.windowMs) <= now,
    );
}

/**
 * Judge one applied intervention: the predicted signal's baseline before the apply against the
 * window after it, and every alert-guarded signal that was fine before and crossed during it.
 * `reverted` undoes the change (git revert, push, redeploy, probe).
 */
export async function validateIntervention(deps: ApplyDeps, id: string): Promise<ValidationResult> {
  // Under the target's lease: a verdict and the revert it may call for are one piece of work, and
  // no other process may apply or revert on the target meanwhile (TargetBusyError: judged later).
  const target = deps.store.interventions.get(id).target;
  return withTargetLease(deps, target, { doing: `validating ${id}`, interventionId: id }, () =>
    validateHeld(deps, id),
  );
}

async function validateHeld(deps: ApplyDeps, id: string): Promise<ValidationResult> {
  const { store, clock, config } = deps;
  const iv = store.interventions.get(id);
  if (iv.state !== 'applied' || iv.appliedAt === null) {
    throw new KaizenError(
      'ILLEGAL_TRANSITION',
      `intervention ${id} is ${iv.state}; only applied interventions are validated`,
    );
  }
  const windowMs = iv.windowMs ?? config.validation.windowMs;
  const windowEnd = iv.appliedAt + windowMs;
  if (clock.now() < windowEnd) {
    throw new KaizenError(
      'ILLEGAL_TRANSITION',
      `the validation window of ${id} is still open until ${new Date(windowEnd).toISOString()}`,
    );
  }
  const target = selectTargets(config, iv.target)[0]!;
  const rows = store.catalog.signalsOf(target.name);
  const prediction = iv.proposal.prediction;
  const signal = target.signals.find((s) => s.name === prediction.signal);
  const row = rows.get(prediction.signal);
  if (!signal || !row) {
    throw new KaizenError(
      'NOT_FOUND',
      `intervention ${id} predicts signal ${prediction.signal}, which target ${target.name} no longer has`,
    );
  }

  const applyStart = store.interventions.enteredAt(id, 'applying') ?? iv.appliedAt;
  const after = store.samples.values(row.id, iv.appliedAt, windowEnd + 1).map((s) => s.value);
  let baseline = store.samples.values(row.id, applyStart - windowMs, applyStart).map((s) => s.value);
  if (baseline.length < MIN_POINTS) {
    baseline = store.samples
      .valuesBefore(row.id, applyStart, MIN_POINTS)
      .filter((s) => s.t >= applyStart - MAX_BASELINE_REACH_MS)
      .map((s) => s.value);
  }

  const alertCrossings = [];
  for (const s of target.signals) {
    const r = rows.get(s.name);
    if (!s.alert || !r) continue;
    const before = store.samples.valuesBefore(r.id, applyStart, 1)[0];
    if (before && crosses(before.value, s.alert)) continue; // already alerting: not caused by this change
    const crossing = store.samples
      .values(r.id, iv.appliedAt, windowEnd + 1)
      .find((v) => crosses(v.value, s.alert!));
    if (crossing)
      alertCrossings.push({
        signal: s.name,
        value: crossing.value,
        threshold: describeThreshold(s.alert),
        t: crossing.t,
      });
  }

  const verdict = judge({
    baseline,
    after,
    prediction,
    signalDirection: signal.direction,
    unit: signal.unit,
    confidence: config.validation.confidence,
    tolerance: config.validation.tolerance,
    minPoints: MIN_POINTS,
    alertCrossings,
  });

  store.events.append(clock.now(), {
    kind: `verdict_${verdict.outcome}`,
    target: iv.target,
    interventionId: id,
    data: { reason: verdict.reason },
  });
  if (verdict.outcome === 'reverted') {
    const { intervention } = await revertIntervention(deps, id, 'kaizen', verdict.reason, { verdict });
    return { intervention, verdict };
  }
  const intervention = store.interventions.transition(
    id,
    verdict.outcome,
    clock.now(),
    'kaizen',
    verdict.reason,
    { verdict },
  );
  return { intervention, verdict };
}

/** Signals to sample densely now: the predicted and alert-guarded signals of open windows, by target. */
export function watchedSignals(deps: ApplyDeps): Map<string, Set<string>> {
  const now = deps.clock.now();
  const watched = new Map<string, Set<string>>();
  for (const iv of deps.store.interventions.list({ states: ['applied'] })) {
    if (iv.appliedAt === null || iv.appliedAt + (iv.windowMs ?? deps.config.validation.windowMs) < now)
      continue;
    const target = deps.config.targets.find((t) => t.name === iv.target);
    if (!target) continue;
    const set = watched.get(target.name) ?? new Set<string>();
    set.add(iv.proposal.prediction.signal);
    for (const s of target.signals) if (s.alert) set.add(s.name);
    watched.set(target.name, set);
  }
  return watched;
}
