import { appliesCheck } from './applies.js';
import { approvalCheck } from './approval.js';
import { budgetCheck } from './budget.js';
import { canaryCheck } from './canary.js';
import { concurrencyCheck } from './concurrency.js';
import { dedupCheck } from './dedup.js';
import { freezeCheck } from './freeze.js';
import { gitCheck } from './git.js';
import { kindCheck } from './kind.js';
import { lessonsCheck } from './lessons.js';
import { overlapCheck } from './overlap.js';
import { pathCheck } from './path.js';
import { repeatCheck } from './repeat.js';
import { rollbackCheck } from './rollback.js';
import type { GuardCheck } from '../types.js';

/**
 * Every guard check, in the order they run. The ones that can reject come first, and the gate
 * stops at the first rejection. (The gate plans the file changes once, before any check, so the
 * risk floor can see what a change deletes; planning only reads files, and only inside the repo.)
 */
export const CHECKS: readonly GuardCheck[] = [
  pathCheck,
  kindCheck,
  rollbackCheck,
  appliesCheck,
  gitCheck,
  lessonsCheck,
  repeatCheck,
  dedupCheck,
  freezeCheck,
  canaryCheck,
  approvalCheck,
  budgetCheck,
  concurrencyCheck,
  overlapCheck,
];
