import { EXIT, type ExitCode } from '../errors.js';
import type { SubmitResult } from '../loop/submit.js';

/**
 * The exit code of a proposal's outcome, so a script can tell what happened without parsing text:
 * applied 0, rejected by the guard 10, waiting in the backlog 11, rolled back or failed 12.
 */
export function submitExit(r: SubmitResult): ExitCode {
  if (r.guard.decision === 'reject') return EXIT.rejected;
  if (r.guard.decision === 'defer') return EXIT.deferred;
  if (r.apply && r.apply.outcome !== 'applied') return EXIT.rolledBack;
  return EXIT.ok;
}

/** Most serious first: a change that was undone, then a refusal, then a wait. */
const SEVERITY: readonly ExitCode[] = [EXIT.rolledBack, EXIT.rejected, EXIT.deferred, EXIT.ok];

/** The exit code of several outcomes (a propose cycle): the most serious of them. */
export function worstExit(results: readonly SubmitResult[]): ExitCode {
  const codes = new Set(results.map(submitExit));
  return SEVERITY.find((c) => codes.has(c)) ?? EXIT.ok;
}
