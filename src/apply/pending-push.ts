import { z } from 'zod';
import type { Store } from '../store/index.js';
import type { ApplyDeps } from './apply-intervention.js';
import { verifyPushed, type GitRepo } from './git.js';
import { short } from './written.js';

/*
 * A revert whose push failed (the remote did not answer, or refused it): the work tree and the
 * deploy are rolled back, the remote still has the change. The intent `pending-push` stays open
 * until the remote has the revert; `kaizen recover` (and the daemon at start) tries again, doctor
 * and /health show it meanwhile.
 */

export const PENDING_PUSH = 'pending-push';

const PendingData = z.object({
  revertSha: z.string(),
  commitSha: z.string(),
  remote: z.string(),
  branch: z.string(),
  error: z.string(),
});

export interface PendingPush extends z.infer<typeof PendingData> {
  interventionId: string;
  target: string;
  /** When the push first failed. */
  since: number;
}

export function recordPendingPush(
  store: Store,
  interventionId: string,
  at: number,
  data: z.infer<typeof PendingData>,
): void {
  store.intents.begin(interventionId, PENDING_PUSH, at, { ...data });
}

/** Reverts not on their remote yet, oldest first; of one target when given. */
export function pendingPushes(store: Store, target?: string): PendingPush[] {
  const found: PendingPush[] = [];
  for (const id of store.intents.unfinished(PENDING_PUSH)) {
    const iv = store.interventions.find(id);
    if (!iv || (target !== undefined && iv.target !== target)) continue;
    const intent = store.intents.get(id, PENDING_PUSH)!;
    const data = PendingData.safeParse(intent.data);
    if (!data.success) continue;
    found.push({ ...data.data, interventionId: id, target: iv.target, since: intent.startedAt });
  }
  return found;
}

export interface PushOutcome {
  interventionId: string;
  outcome: 'pushed' | 'on-remote' | 'not-needed' | 'still-pending';
  detail: string;
}

/**
 * Push a pending revert when that is safe: the remote answers, still has the change without its
 * revert, and HEAD is the revert (kaizen pushes no commit it did not make). Anything else either
 * settles it (someone pushed it, or the remote never had the change) or leaves it pending, saying why.
 */
export async function finishPendingPush(
  deps: ApplyDeps,
  git: GitRepo,
  push: PendingPush,
): Promise<PushOutcome> {
  const { store, clock } = deps;
  const { interventionId, remote, branch, revertSha, commitSha } = push;
  const where = `${remote}/${branch}`;
  const settle = (outcome: PushOutcome['outcome'], detail: string): PushOutcome => {
    store.intents.finish(interventionId, PENDING_PUSH, clock.now(), { outcome });
    if (outcome === 'pushed')
      store.events.append(clock.now(), {
        kind: 'revert_pushed',
        target: push.target,
        interventionId,
        data: { revertSha, remote, branch },
      });
    return { interventionId, outcome, detail };
  };
  const pending = (detail: string): PushOutcome => ({ interventionId, outcome: 'still-pending', detail });

  let remoteAt: string | undefined;
  try {
    remoteAt = await git.remoteSha(remote, branch);
  } catch (err) {
    return pending(`${where} does not answer yet: ${(err as Error).message}`);
  }
  if (remoteAt === undefined)
    return settle('not-needed', `${where} has no such branch: nothing to undo there`);
  const known = await git.commitExists(remoteAt);
  if (known && (await git.isAncestor(revertSha, remoteAt)))
    return settle('on-remote', `${where} has the revert ${short(revertSha)} already`);
  if (known && !(await git.isAncestor(commitSha, remoteAt)))
    return settle('not-needed', `${where} never had ${short(commitSha)}: nothing to undo there`);
  const head = await git.head();
  if (head !== revertSha)
    return pending(
      `HEAD moved past the revert ${short(revertSha)} to ${short(head)}: kaizen pushes no commit it did not make; push ${branch} yourself (it carries the revert)`,
    );
  try {
    if (remoteAt !== revertSha) await git.push(remote, branch);
    await verifyPushed(git, remote, branch, revertSha);
  } catch (err) {
    return pending(`the push to ${where} failed again: ${(err as Error).message}`);
  }
  return settle('pushed', `pushed the revert ${short(revertSha)} to ${where}`);
}
