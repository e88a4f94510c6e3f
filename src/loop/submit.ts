import { z } from 'zod';
import type { ApplyDeps, ApplyResult } from '../apply/apply-intervention.js';
import { applyIntervention } from '../apply/apply-intervention.js';
import { TargetBusyError, withTargetLease } from '../apply/lease.js';
import { createGit } from '../apply/git.js';
import { selectTargets } from '../compose.js';
import { KaizenError } from '../errors.js';
import { runGuard } from '../guard/gate.js';
import { assessRisk } from '../guard/risk.js';
import { loadPolicy } from '../guard/policy.js';
import type { GuardOutcome } from '../guard/types.js';
import { fingerprint, Proposal } from '../propose/proposal.js';
import type { Intervention } from '../store/interventions.js';
import type { Lease } from '../store/leases.js';
import { formatLocal } from '../util/time.js';
import { formatPath, type TargetConfig } from '../config/schema.js';

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
 * A proposal through the gate: validated, guarded, recorded; a pass is applied at once (the
 * caller may pass `apply: false` to leave it in `applying` for a job to pick up).
 *
 * The intervention is created together with its guard verdict, in one transaction: no crash or
 * error ever leaves one in `proposed`. An error while guarding (a file the guard cannot read, a
 * YAML document built to exhaust the parser, a git failure) is a rejection with check
 * `guard-error`, never a half-recorded proposal. The whole submit holds the target's lease
 * (TargetBusyError, exit 75, when another process applies there).
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
  return withTargetLease(
    deps,
    target.name,
    {
      doing: `submitting a proposal from ${input.origin}`,
      ...(input.actor !== 'kaizen' ? { actor: input.actor } : {}),
    },
    async () => {
      const baseSha = await createGit(target.repoPath).head();
      const guard = guardSafely(deps, proposal, target, () =>
        runGuard(
          { store, now: clock.now() },
          { proposal, target, config, policy: loadPolicy(config, target) },
        ),
      );
      const intervention = store.db
        .transaction(() => {
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
          return recordGuard(deps, created, guard, 'kaizen');
        })
        .immediate();
      if (guard.decision !== 'pass' || options.apply === false) return { intervention, guard };
      const apply = await applyIntervention(deps, intervention.id);
      return { intervention: apply.intervention, guard, apply };
    },
  );
}

/** The check id of a rejection because the guard itself failed. */
export const GUARD_ERROR = 'guard-error';

/**
 * The guard's verdict, or a rejection naming the error that stopped it: a proposal the guard
 * could not finish checking is never applied and never left undecided.
 */
function guardSafely(
  deps: ApplyDeps,
  proposal: Proposal,
  target: TargetConfig,
  guard: () => GuardOutcome,
): GuardOutcome {
  try {
    return guard();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    deps.logger.warn({ error: message }, 'the guard failed on a proposal; it is rejected');
    const reason = `the guard could not finish checking this proposal (${message.split('\n')[0]}); it is rejected rather than applied unchecked`;
    let risk: GuardOutcome['risk'];
    try {
      risk = assessRisk(proposal, loadPolicy(deps.config, target));
    } catch {
      risk = { declared: proposal.risk, floor: proposal.risk, effective: proposal.risk, reasons: [] };
    }
    return {
      decision: 'reject',
      reasons: [`${GUARD_ERROR}: ${reason}`],
      risk,
      checks: [{ check: GUARD_ERROR, decision: 'reject', reason }],
    };
  }
}

function recordGuard(deps: ApplyDeps, iv: Intervention, guard: GuardOutcome, actor: string): Intervention {
  const { store, clock } = deps;
  const now = clock.now();
  const patch = { guard, risk: guard.risk.effective };
  // `iv.state` is what the caller read: a transition from anything else means someone moved it meanwhile.
  const from = iv.state;
  if (guard.decision === 'reject') {
    store.events.append(now, {
      kind: 'proposal_rejected',
      target: iv.target,
      interventionId: iv.id,
      data: { reasons: guard.reasons },
    });
    return store.interventions.transition(
      iv.id,
      'rejected',
      now,
      actor,
      guard.reasons.join('; '),
      patch,
      from,
    );
  }
  if (guard.decision === 'defer') {
    const waitingReason = guard.reasons.join('; ');
    store.events.append(now, {
      kind: 'proposal_deferred',
      target: iv.target,
      interventionId: iv.id,
      data: { reasons: guard.reasons },
    });
    return store.interventions.transition(
      iv.id,
      'backlog',
      now,
      actor,
      waitingReason,
      { ...patch, waitingReason },
      from,
    );
  }
  return store.interventions.transition(
    iv.id,
    'applying',
    now,
    actor,
    'every guard check passed',
    { ...patch, waitingReason: null },
    from,
  );
}

export const PersonName = z.string().min(1).max(100);

/**
 * A person approves a backlog item: it is guarded again (against the HEAD of now) and applied,
 * or stays in the backlog with the reasons it still waits, or is rejected.
 *
 * Holding the target's lease, the state is checked and the approval recorded together with the
 * guard's verdict in one transaction: of many concurrent approvals exactly one wins and is
 * recorded; the others fail with ILLEGAL_TRANSITION (exit 13) naming who approved it and when.
 */
export async function approve(deps: ApplyDeps, id: string, person: string): Promise<SubmitResult> {
  const { store } = deps;
  const found = store.interventions.get(id);
  if (found.state !== 'backlog') throw notApprovable(deps, found);
  try {
    return await withTargetLease(
      deps,
      found.target,
      { doing: `approving ${id}`, interventionId: id, actor: person },
      () => approveHeld(deps, id, person),
    );
  } catch (err) {
    if (!(err instanceof TargetBusyError)) throw err;
    const now = store.interventions.get(id);
    // Busy with this very item, or it left the backlog meanwhile: the race is lost, not a wait.
    if (err.holder.interventionId === id || now.state !== 'backlog')
      throw notApprovable(deps, now, err.holder);
    throw err;
  }
}

async function approveHeld(deps: ApplyDeps, id: string, person: string): Promise<SubmitResult> {
  const { store, clock, config } = deps;
  const iv = store.interventions.get(id);
  if (iv.state !== 'backlog') throw notApprovable(deps, iv);
  const target = selectTargets(config, iv.target)[0]!;
  const head = await createGit(target.repoPath).head();
  // The person approves against the repo as it is now; the applies check re-checks the change on it.
  if (head !== iv.baseSha) store.interventions.patch(id, { baseSha: head }, clock.now());
  const guard = guardSafely(deps, iv.proposal, target, () =>
    runGuard(
      { store, now: clock.now() },
      {
        proposal: iv.proposal,
        target,
        config,
        policy: loadPolicy(config, target),
        interventionId: id,
        approvedBy: person,
      },
    ),
  );
  const intervention = store.db
    .transaction(() => {
      store.events.append(clock.now(), {
        kind: 'approved',
        target: iv.target,
        interventionId: id,
        data: { by: person },
      });
      return recordGuard(deps, store.interventions.get(id), guard, person);
    })
    .immediate();
  if (guard.decision !== 'pass') return { intervention, guard };
  const apply = await applyIntervention(deps, id);
  return { intervention: apply.intervention, guard, apply };
}

/** Why an item cannot be approved: for one already approved, by whom and when. */
function notApprovable(deps: ApplyDeps, iv: Intervention, holder?: Lease): KaizenError {
  const tz = deps.config.timeZone;
  if (holder?.interventionId === iv.id && holder.actor) {
    return new KaizenError(
      'ILLEGAL_TRANSITION',
      `${iv.id} is already being applied (approved by ${holder.actor} at ${formatLocal(holder.acquiredAt, tz)})`,
    );
  }
  const approval = deps.store.events
    .list({ kind: 'approved', limit: 1000 })
    .find((e) => e.interventionId === iv.id);
  if (approval) {
    const by = `approved by ${String(approval.data.by)} at ${formatLocal(approval.t, tz)}`;
    return new KaizenError(
      'ILLEGAL_TRANSITION',
      iv.state === 'applying'
        ? `${iv.id} is already being applied (${by})`
        : `${iv.id} was already ${by} and is ${iv.state} now; only backlog items can be approved`,
    );
  }
  return new KaizenError(
    'ILLEGAL_TRANSITION',
    `intervention ${iv.id} is ${iv.state}; only backlog items can be approved`,
  );
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
  return store.interventions.transition(
    id,
    'rejected',
    clock.now(),
    person,
    why,
    { waitingReason: null },
    iv.state,
  );
}
