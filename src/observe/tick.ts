import type { Clock } from '../clock.js';
import type { KaizenConfig, TargetConfig } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { sampleTarget, type SampleOutcome } from './sampler.js';

export interface ObserveTickResult {
  outcomes: SampleOutcome[];
  rolledUp: number;
  pruned: { raw: number; hourly: number };
}

/**
 * The observe job for one target: sample every signal, roll up completed hours, and prune what
 * retention no longer keeps.
 */
export async function observeTick(
  deps: { store: Store; clock: Clock; config: KaizenConfig },
  target: TargetConfig,
  abort?: AbortSignal,
): Promise<ObserveTickResult> {
  const outcomes = await sampleTarget(deps, target, {
    concurrency: deps.config.observe.concurrency,
    ...(abort ? { abort } : {}),
  });
  const now = deps.clock.now();
  const rolledUp = deps.store.samples.rollup(now);
  const { retention } = deps.config;
  const pruned = deps.store.samples.prune(
    now - retention.rawSamplesMs,
    now - retention.rollupsMs,
    retention.deleteBatch,
  );
  return { outcomes, rolledUp, pruned };
}
