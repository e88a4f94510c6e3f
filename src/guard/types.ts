import type { FileEdit } from '../apply/changes.js';
import type { TargetConfig } from '../config/schema.js';
import type { Lesson } from '../propose/context/lesson.js';
import type { Proposal, Risk } from '../propose/proposal.js';
import type { Store } from '../store/index.js';
import type { ExecutedFile } from './executed.js';
import type { GitRead } from './git-reads.js';
import type { GuardPolicy } from './policy.js';

export type Decision = 'pass' | 'defer' | 'reject';

/** A path kaizen must never change, and why (shown to the person reading the rejection). */
export interface ProtectedPath {
  path: string;
  why: string;
}

export interface RiskAssessment {
  /** What the proposal claimed. */
  declared: Risk;
  /** The floor computed from the change itself. */
  floor: Risk;
  /** The higher of the two: what every check uses. */
  effective: Risk;
  /** Why the floor is what it is. */
  reasons: string[];
}

/** Everything a check may look at. Checks read; they never write. */
export interface GuardContext {
  proposal: Proposal;
  fingerprint: string;
  risk: RiskAssessment;
  target: TargetConfig;
  policy: GuardPolicy;
  store: Store;
  now: number;
  timeZone: string;
  protectedPaths: ProtectedPath[];
  /** kaizen's data folder and config file: if they sit in the repo, git must keep ignoring them. */
  ownPaths: { dataDir: string; configPath: string };
  /** The lessons in force (shipped and the system's own); the lessons check reads the active ones. */
  lessons: readonly Lesson[];
  /** The file changes planned against the work tree as it is now, or why they do not apply. */
  plan: { edits: FileEdit[] } | { error: unknown };
  /** Work-tree files git reads as configuration or runs (asked of git). */
  gitReads: readonly GitRead[];
  /** Work-tree files the target's config makes kaizen run. */
  executed: readonly ExecutedFile[];
  /** The intervention being guarded, left out of its own counts. */
  interventionId?: string;
  /** A person approved it (from the backlog). */
  approvedBy?: string;
}

export interface CheckVerdict {
  decision: Decision;
  reason: string;
}

export interface CheckResult extends CheckVerdict {
  check: string;
}

/** One deterministic pre-flight check. No model output can talk its way past it. */
export interface GuardCheck {
  id: string;
  describe: string;
  check(ctx: GuardContext): CheckVerdict;
}

export type GuardOutcome =
  | { decision: 'pass'; risk: RiskAssessment; checks: CheckResult[] }
  | { decision: 'defer'; reasons: string[]; risk: RiskAssessment; checks: CheckResult[] }
  | { decision: 'reject'; reasons: string[]; risk: RiskAssessment; checks: CheckResult[] };
