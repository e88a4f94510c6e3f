import type { ApplyDeps } from '../apply/apply-intervention.js';
import { sampleTarget, type SampleOutcome } from '../observe/sampler.js';
import { watchedSignals } from './validate-intervention.js';

/**
 * One dense sampling tick: while validation windows are open, their predicted and alert-guarded
 * signals are sampled every `validation.denseInterval` (default 30 s) instead of every
 * `schedule.observe`, so a window of an hour gives the rank test over a hundred points a side.
 * Returns nothing to do (an empty list) when no window is open.
 */
export async function denseTick(deps: ApplyDeps, abort?: AbortSignal): Promise<SampleOutcome[]> {
  const outcomes: SampleOutcome[] = [];
  for (const [name, signals] of watchedSignals(deps)) {
    const target = deps.config.targets.find((t) => t.name === name);
    if (!target) continue;
    outcomes.push(
      ...(await sampleTarget(deps, target, {
        concurrency: deps.config.observe.concurrency,
        only: [...signals],
        ...(abort ? { abort } : {}),
      })),
    );
  }
  return outcomes;
}
