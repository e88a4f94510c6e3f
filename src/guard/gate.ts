import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { KaizenConfig, TargetConfig } from '../config/schema.js';
import { loadLessons } from '../learn/lesson-files.js';
import type { Lesson } from '../propose/context/lesson.js';
import { planChanges } from '../apply/changes.js';
import { fingerprint, type Change, type Proposal } from '../propose/proposal.js';
import type { Store } from '../store/index.js';
import { CHECKS } from './checks/index.js';
import { DEFAULT_POLICY_FILE, type GuardPolicy } from './policy.js';
import { executedFiles } from './executed.js';
import { gitReads } from './git-reads.js';
import { assessRisk } from './risk.js';
import type {
  CheckResult,
  CheckVerdict,
  GuardContext,
  GuardOutcome,
  ProtectedPath,
  RiskAssessment,
} from './types.js';

/** Where kaizen itself is installed (src/guard and dist/guard both sit two levels down). */
export const INSTALL_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** kaizen's own files: never changed, even when they sit inside the target repo. */
export function protectedPaths(config: KaizenConfig, target: TargetConfig): ProtectedPath[] {
  const list: ProtectedPath[] = [
    { path: INSTALL_ROOT, why: "inside kaizen's install folder" },
    { path: config.configPath, why: "kaizen's config file" },
    { path: config.dataDir, why: "kaizen's data folder" },
    { path: path.join(INSTALL_ROOT, 'prompts'), why: "kaizen's prompts" },
    { path: path.dirname(DEFAULT_POLICY_FILE), why: "kaizen's guard policies" },
    { path: path.join(INSTALL_ROOT, 'lessons'), why: "kaizen's lessons" },
  ];
  if (config.lessonsDir) list.push({ path: config.lessonsDir, why: "kaizen's lessons" });
  for (const file of [config.guard.policy, target.guardPolicy]) {
    if (file) list.push({ path: file, why: 'a kaizen guard policy' });
  }
  return list;
}

export interface GuardInput {
  proposal: Proposal;
  target: TargetConfig;
  config: KaizenConfig;
  policy: GuardPolicy;
  interventionId?: string;
  approvedBy?: string;
  /** Default: loaded from the shipped lessons and the config's lessonsDir. */
  lessons?: readonly Lesson[];
}

/**
 * What every check reads, built once per proposal: the planned file changes, the risk floor, and
 * what the repository's git config and the target's config make git or kaizen read and run.
 * Throws when git cannot be asked (the gate then refuses, failing closed).
 */
export function guardContext(deps: { store: Store; now: number }, input: GuardInput): GuardContext {
  const plan = planFor(input.proposal, input.target);
  const executed = executedFiles(input.target);
  const risk = assessRisk(input.proposal, input.policy, {
    executed,
    ...('edits' in plan ? { edits: plan.edits } : {}),
  });
  const touchesFiles = input.proposal.changes.some((c) => c.kind !== 'runbook');
  return {
    proposal: input.proposal,
    fingerprint: fingerprint(input.proposal),
    risk,
    target: input.target,
    policy: input.policy,
    store: deps.store,
    now: deps.now,
    timeZone: input.config.timeZone,
    protectedPaths: protectedPaths(input.config, input.target),
    ownPaths: { dataDir: input.config.dataDir, configPath: input.config.configPath },
    lessons: input.lessons ?? loadLessons(input.config).lessons,
    plan,
    gitReads: touchesFiles ? gitReads(input.target.repoPath) : [],
    executed,
    ...(input.interventionId ? { interventionId: input.interventionId } : {}),
    ...(input.approvedBy ? { approvedBy: input.approvedBy } : {}),
  };
}

/**
 * Run every check. Any reject → reject (checks after it are not run); else any defer → defer
 * with every reason; else pass. In shadow mode a pass becomes a defer: everything but apply.
 * Fails closed: a question that cannot be answered (git, a file, a check that threw) rejects,
 * saying why; it never leaves a proposal undecided.
 */
export function runGuard(deps: { store: Store; now: number }, input: GuardInput): GuardOutcome {
  const checks: CheckResult[] = [];
  const refuse = (check: string, risk: RiskAssessment, err: unknown): GuardOutcome => {
    const reason = `could not check it, so it is refused: ${err instanceof Error ? err.message : String(err)}`;
    checks.push({ check, decision: 'reject', reason });
    return { decision: 'reject', reasons: [`${check}: ${reason}`], risk, checks };
  };
  let ctx: GuardContext;
  try {
    ctx = guardContext(deps, input);
  } catch (err) {
    return refuse('path', assessRisk(input.proposal, input.policy), err);
  }
  for (const c of CHECKS) {
    let verdict: CheckVerdict;
    try {
      verdict = c.check(ctx);
    } catch (err) {
      return refuse(c.id, ctx.risk, err);
    }
    checks.push({ check: c.id, ...verdict });
    if (verdict.decision === 'reject') {
      return { decision: 'reject', reasons: [`${c.id}: ${verdict.reason}`], risk: ctx.risk, checks };
    }
  }
  const deferred = checks.filter((c) => c.decision === 'defer').map((c) => `${c.check}: ${c.reason}`);
  if (input.config.guard.shadow)
    deferred.push('shadow: shadow mode is on (guard.shadow: true): kaizen proposes but does not apply');
  if (deferred.length > 0) return { decision: 'defer', reasons: deferred, risk: ctx.risk, checks };
  return { decision: 'pass', risk: ctx.risk, checks };
}

/** The file changes as they would apply now; any failure is kept for the applies check to report. */
function planFor(proposal: Proposal, target: TargetConfig): GuardContext['plan'] {
  const changes = proposal.changes.filter(
    (c): c is Exclude<Change, { kind: 'runbook' }> => c.kind !== 'runbook',
  );
  if (changes.length === 0) return { edits: [] };
  try {
    return { edits: planChanges(target.repoPath, changes) };
  } catch (error) {
    return { error };
  }
}
