import type { Runtime } from '../../compose.js';
import { validateIntervention } from '../../validate/validate-intervention.js';
import type { JobContext } from '../jobs.js';
import { MUTATE_QUEUE, wallMs, type KaizenJobData, type Queues } from './queues.js';
import type { Runnable } from './processor.js';

/*
 * One delayed job per applied intervention, due when its validation window ends, so the verdict
 * comes on time rather than at the next tick of the periodic validate job (which still runs: it
 * samples watched signals densely, and judges anything these jobs missed, such as an intervention
 * applied while Redis was away).
 *
 * They are queued by a scan of the store, not by the code that applies: after every mutating job
 * (the only jobs that apply, besides a person's `kaizen approve`, whose intervention the next
 * propose tick picks up) and at daemon start. The job id is deterministic, so a scan that finds the
 * same applied intervention again adds nothing.
 */

/** BullMQ job ids may not contain `:`, so this is `validate-K0007` (its JobSpec-style key is `validate:K0007`). */
export const validationJobId = (interventionId: string) => `validate-${interventionId}`;
export const validationKey = (interventionId: string) => `validate:${interventionId}`;

const DAY_MS = 86_400_000;

/** Queue a delayed validation for every applied intervention; returns the intervention ids. */
export async function queueValidations(
  rt: Pick<Runtime, 'store' | 'clock' | 'config'>,
  queues: Queues,
): Promise<string[]> {
  const now = rt.clock.now();
  const applied = rt.store.interventions.list({ states: ['applied'] });
  const queue = queues.get(MUTATE_QUEUE);
  for (const iv of applied) {
    if (iv.appliedAt === null) continue;
    const windowEnd = iv.appliedAt + (iv.windowMs ?? rt.config.validation.windowMs);
    const data: KaizenJobData = { key: validationKey(iv.id), intervention: iv.id };
    await queue.add(data.key, data, {
      jobId: validationJobId(iv.id),
      delay: wallMs(rt.clock, windowEnd - now),
      attempts: 5,
      backoff: { type: 'exponential', delay: wallMs(rt.clock, 60_000) },
      // Kept a week: while it is kept, a later scan cannot queue the same validation again.
      removeOnComplete: { age: (7 * DAY_MS) / 1000 },
      removeOnFail: { age: (30 * DAY_MS) / 1000 },
    });
  }
  return applied.map((iv) => iv.id);
}

/** The job that judges one intervention: nothing to do once it is judged (by this or the periodic job). */
export function validationJob(interventionId: string): Runnable {
  return {
    key: validationKey(interventionId),
    kind: 'validate',
    mutates: true,
    notBefore: (ctx) => {
      const iv = ctx.store.interventions.find(interventionId);
      if (!iv || iv.state !== 'applied' || iv.appliedAt === null) return undefined;
      return iv.appliedAt + (iv.windowMs ?? ctx.config.validation.windowMs);
    },
    run: async (ctx: JobContext) => {
      const iv = ctx.store.interventions.find(interventionId);
      if (!iv) return `${interventionId} no longer exists`;
      if (iv.state !== 'applied') return `${interventionId} is already ${iv.state}`;
      const { verdict } = await validateIntervention(ctx, interventionId);
      return `judged ${interventionId} ${verdict.outcome}`;
    },
  };
}
