import type { ApplyDeps, UndoResult } from '../apply/apply-intervention.js';
import { revertIntervention } from '../apply/revert.js';
import { approve, reject, type SubmitResult } from '../loop/submit.js';
import type { Intervention } from '../store/interventions.js';

/**
 * What a person may do through the API. The server calls these; the daemon may pass its own
 * implementation to route them through its scheduler so they never overlap an apply job.
 */
export interface ServerActions {
  /** Guard the backlog item again and apply it (or leave it waiting, with the reasons). */
  approve(id: string, by: string): Promise<SubmitResult>;
  reject(id: string, by: string, why: string): Promise<Intervention>;
  /** git revert, push, redeploy, probe; then `reverted`. */
  revert(id: string, by: string, why: string): Promise<{ intervention: Intervention; undo: UndoResult }>;
}

/**
 * The actions as the CLI runs them, one at a time: two applies or reverts must never touch the
 * target repo at once. Unlike the CLI, no crash recovery runs first: in a long-running process
 * an intervention in `applying` may be one the daemon is applying right now, and recovery is the
 * daemon's job at start.
 */
export function directActions(
  deps: ApplyDeps,
  /** Runs an action while no job may change a repo (the daemon's scheduler); default: at once. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): ServerActions {
  let queue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(() => exclusive(fn));
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    approve: (id, by) => oneAtATime(() => approve(deps, id, by)),
    reject: (id, by, why) => oneAtATime(() => Promise.resolve(reject(deps, id, by, why))),
    revert: (id, by, why) => oneAtATime(() => revertIntervention(deps, id, by, why)),
  };
}
