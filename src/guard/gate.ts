import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { KaizenConfig, TargetConfig } from '../config/schema.js';
import { loadLessons } from '../learn/lesson-files.js';
import type { Lesson } from '../propose/context/lesson.js';
import { fingerprint, type Proposal } from '../propose/proposal.js';
import type { Store } from '../store/index.js';
import { CHECKS } from './checks/index.js';
import { DEFAULT_POLICY_FILE, type GuardPolicy } from './policy.js';
import { assessRisk } from './risk.js';
import type { CheckResult, GuardContext, GuardOutcome, ProtectedPath } from './types.js';

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
  const hooks = configuredHooksPath(target.repoPath);
  if (hooks)
    list.push({
      path: hooks,
      why: "in the repository's git hooks folder (core.hooksPath): code there runs on every commit",
    });
  return list;
}

/** The repository's core.hooksPath, resolved, if it sets one. */
function configuredHooksPath(repo: string): string | undefined {
  try {
    const out = execFileSync('git', ['config', '--get', 'core.hooksPath'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    })
      .toString()
      .trim();
    return out ? path.resolve(repo, out) : undefined;
  } catch {
    return undefined; // not set (git exits 1)
  }
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
 * Run every check. Any reject → reject (checks after it are not run); else any defer → defer
 * with every reason; else pass. In shadow mode a pass becomes a defer: everything but apply.
 */
export function runGuard(deps: { store: Store; now: number }, input: GuardInput): GuardOutcome {
  const risk = assessRisk(input.proposal, input.policy);
  const ctx: GuardContext = {
    proposal: input.proposal,
    fingerprint: fingerprint(input.proposal),
    risk,
    target: input.target,
    policy: input.policy,
    store: deps.store,
    now: deps.now,
    timeZone: input.config.timeZone,
    protectedPaths: protectedPaths(input.config, input.target),
    lessons: input.lessons ?? loadLessons(input.config).lessons,
    ...(input.interventionId ? { interventionId: input.interventionId } : {}),
    ...(input.approvedBy ? { approvedBy: input.approvedBy } : {}),
  };
  const checks: CheckResult[] = [];
  for (const c of CHECKS) {
    const verdict = c.check(ctx);
    checks.push({ check: c.id, ...verdict });
    if (verdict.decision === 'reject') {
      return { decision: 'reject', reasons: [`${c.id}: ${verdict.reason}`], risk, checks };
    }
  }
  const deferred = checks.filter((c) => c.decision === 'defer').map((c) => `${c.check}: ${c.reason}`);
  if (input.config.guard.shadow)
    deferred.push('shadow: shadow mode is on (guard.shadow: true): kaizen proposes but does not apply');
  if (deferred.length > 0) return { decision: 'defer', reasons: deferred, risk, checks };
  return { decision: 'pass', risk, checks };
}
