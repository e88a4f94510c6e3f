import { z } from 'zod';
import type { ApplyDeps, ApplyResult } from '../apply/apply-intervention.js';
import { applyIntervention } from '../apply/apply-intervention.js';
import { createGit } from '../apply/git.js';
import { selectTargets } from '../compose.js';
import { KaizenError } from '../errors.js';
import { runGuard } from '../guard/gate.js';
import { loadPolicy } from '../guard/policy.js';
import type { GuardOutcome } from '../guard/types.js';
import { fingerprint, Proposal } from '../propose/proposal.js';
import type { Intervention } from '../store/interventions.js';
import { formatPath } from '../config/schema.js';

export class ProposalInvalidError extends KaizenError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('PROPOSAL_INVALID', `the proposal is invalid: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** Validate untrusted proposal data (from a model, a file, an HTTP body) into a Proposal. */
export function parseProposal(input: unknown, signals?: readonly string[]): Proposal {
  const result = Proposal.safeParse(input);
  if (!result.success) {
    throw new ProposalInvalidError(
      result.error.issues.map((i) => {
        const where = formatPath(i.path);
        const message =
          i.code === 'unrecognized_keys'
            ? `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`
            : i.message;
        return where ? `${where}: ${message}` : message;
      }),
    );
  }
  if (signals && !signals.includes(result.data.prediction.signal)) {
    throw new ProposalInvalidError([
      `prediction.signal: no signal "${result.data.prediction.signal}" in this target (signals: ${signals.join(', ') || 'none'})`,
    ]);
  }
  return result.data;
}

export interface SubmitInput {
  target: string;
  proposal: unknown;
  /** Who or what proposed it: a provider name, or a person. */
  origin: string;
  actor: string;
}

export interface SubmitResult {
  intervention: Intervention;
  guard: GuardOutcome;
  apply?: ApplyResult;
}

/**
 * A proposal through the gate: validated, recorded, guarded; a pass is applied at once (the
 * caller may pass `apply: false` to leave it in `applying` for a job to pick up).
 */
export async function submitProposal(
  deps: ApplyDeps,
  input: SubmitInput,
  options: { apply?: boolean } = {},
): Promise<SubmitResult> {
  const { store, clock, config } = deps;
  const target = selectTargets(config, input.target)[0]!;
  const proposal = parseProposal(
    input.proposal,
    target.signals.map((s) => s.name),
  );
  store.catalog.sync(target, clock.now());
  const baseSha = await createGit(target.repoPath).head();
  const created = store.interventions.create(
    {
      target: target.name,
      proposal,
      fingerprint: fingerprint(proposal),
      origin: input.origin,
      baseSha,
      actor: input.actor,
      reason: `proposed by ${input.origin}`,
    },
    clock.now(),
  );
  const guard = runGuard(
    { store, now: clock.now() },
    { proposal, target, config, policy: loadPolicy(config, target), interventionId: created.id },
  );
  const intervention = recordGuard(deps, created, guard, 'kaizen');
  if (guard.decision !== 'pass' || options.apply === false) return { intervention, guard };
  const apply = await applyIntervention(deps, created.id);
  return { intervention: apply.intervention, guard, apply };
}

function recordGuard(deps: ApplyDeps, iv: Intervention, guard: GuardOutcome, actor: string): Intervention {
  const { store, clock } = deps;
  const now = clock.now();
  const patch = { guard, risk: guard.risk.effective };
  if (guard.decision === 'reject') {
    store.events.append(now, {
      kind: 'proposal_rejected',
      target: iv.target,
      interventionId: iv.id,
      data: { reasons: guard.reasons },
    });
    return store.interventions.transition(iv.id, 'rejected', now, actor, guard.reasons.join('; '), patch);
  }
  if (guard.decision === 'defer') {
    const waitingReason = guard.reasons.join('; ');
    store.events.append(now, {
      kind: 'proposal_deferred',
      target: iv.target,
      interventionId: iv.id,
      data: { reasons: guard.reasons },
    });
    return store.interventions.transition(iv.id, 'backlog', now, actor, waitingReason, {
      ...patch,
      waitingReason,
    });
  }
  return store.interventions.transition(iv.id, 'applying', now, actor, 'every guard check passed', {
    ...patch,
    waitingReason: null,
  });
}

export const PersonName = z.string().min(1).max(100);

/**
 * A person approves a backlog item: it is guarded again (against the HEAD of now) and applied,
 * or stays in the backlog with the reasons it still waits, or is rejected.
 */
export async function approve(deps: ApplyDeps, id: string, person: string): Promise<SubmitResult> {
  const { store, clock, config } = deps;
  const iv = store.interventions.get(id);
  if (iv.state !== 'backlog') {
    throw new KaizenError(
      'ILLEGAL_TRANSITION',
      `intervention ${id} is ${iv.state}; only backlog items can be approved`,
    );
  }
  const target = selectTargets(config, iv.target)[0]!;
  const head = await createGit(target.repoPath).head();
  // The person approves against the repo as it is now; the applies check re-checks the change on it.
  if (head !== iv.baseSha) store.interventions.patch(id, { baseSha: head }, clock.now());
  const guard = runGuard(
    { store, now: clock.now() },
    {
      proposal: iv.proposal,
      target,
      config,
      policy: loadPolicy(config, target),
      interventionId: id,
      approvedBy: person,
    },
  );
  store.events.append(clock.now(), {
    kind: 'approved',
    target: iv.target,
    interventionId: id,
    data: { by: person },
  });
  const intervention = recordGuard(deps, store.interventions.get(id), guard, person);
  if (guard.decision !== 'pass') return { intervention, guard };
  const apply = await applyIntervention(deps, id);
  return { intervention: apply.intervention, guard, apply };
}

export function reject(deps: ApplyDeps, id: string, person: string, why: string): Intervention {
  const { store, clock } = deps;
  const iv = store.interventions.get(id);
  if (iv.state !== 'backlog' && iv.state !== 'proposed') {
    throw new KaizenError(
      'ILLEGAL_TRANSITION',
      `intervention ${id} is ${iv.state}; only backlog items can be rejected`,
    );
  }
  store.events.append(clock.now(), {
    kind: 'rejected_by_person',
    target: iv.target,
    interventionId: id,
    data: { by: person, why },
  });
  return store.interventions.transition(id, 'rejected', clock.now(), person, why, { waitingReason: null });
}
