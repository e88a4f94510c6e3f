import type { Clock } from '../clock.js';
import { formatDuration } from '../util/duration.js';
import { runProcess, SpawnError } from '../util/process.js';

/*
 * The deploy step: run the target's deploy command (an argv, no shell) in the repository, in a
 * process group of its own, bounded by its timeout. A deploy that fails in any way, including one
 * that could not be started, is a result with ok: false, never an exception, so the caller has a
 * single place to decide on the rollback.
 */

/** Output kept from a deploy: the last 16 KiB of stdout and stderr, interleaved. */
export const DEPLOY_OUTPUT_BYTES = 16 * 1024;

export interface DeployResult {
  /** Exit code 0 within the timeout. */
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Stopped because the abort signal fired (shutdown), not a verdict on the change. */
  aborted: boolean;
  /** The last 16 KiB of the command's output; for a command that did not start, why. */
  output: string;
  durationMs: number;
  /** When not ok, what went wrong in a few words: "exited with code 3", "timed out after 5m", … */
  failure?: string;
}

export async function runDeploy(
  deploy: { command: string[]; timeoutMs: number },
  opts: { cwd: string; clock: Clock; abort?: AbortSignal },
): Promise<DeployResult> {
  try {
    const r = await runProcess(deploy.command, {
      cwd: opts.cwd,
      timeoutMs: deploy.timeoutMs,
      clock: opts.clock,
      abort: opts.abort,
      maxOutputBytes: DEPLOY_OUTPUT_BYTES,
    });
    const ok = r.exitCode === 0 && !r.timedOut && !r.aborted;
    const failure = ok
      ? undefined
      : r.timedOut
        ? `timed out after ${formatDuration(deploy.timeoutMs)}`
        : r.aborted
          ? 'stopped: kaizen is shutting down'
          : r.signal !== null
            ? `killed by ${r.signal}`
            : `exited with code ${r.exitCode}`;
    return {
      ok,
      exitCode: r.exitCode,
      signal: r.signal,
      timedOut: r.timedOut,
      aborted: r.aborted,
      output: r.output,
      durationMs: r.durationMs,
      ...(failure === undefined ? {} : { failure }),
    };
  } catch (err) {
    if (!(err instanceof SpawnError)) throw err;
    return {
      ok: false,
      exitCode: null,
      signal: null,
      timedOut: false,
      aborted: false,
      output: err.message,
      durationMs: 0,
      failure: err.message,
    };
  }
}
