import { stat } from 'node:fs/promises';
import type { Clock } from '../../clock.js';
import { SourceError } from '../../errors.js';
import { formatDuration } from '../../util/duration.js';
import { childEnv } from '../../util/env.js';
import { runProcess, SpawnError, type ProcessResult } from '../../util/process.js';
import type { SignalSource } from './types.js';
import {
  abortError,
  errorCode,
  errorMessage,
  parseNumber,
  quote,
  resolveInRepo,
  throwIfAborted,
} from './support.js';

/** Output kept per stream: a number fits in a few bytes, and a runaway command must not fill memory. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

type CommandConfig = Parameters<SignalSource<'command'>['sample']>[0];

interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stdoutTruncated: boolean;
  stderr: string;
}

export const command: SignalSource<'command'> = {
  kind: 'command',
  describe: 'run a command and read the one number it prints on stdout',
  async sample(config, ctx) {
    const what = `command ${describeCommand(config)}`;
    throwIfAborted(ctx.abort, what, config.timeoutMs);
    const cwd = resolveInRepo(ctx.repoPath, config.cwd ?? '.');
    await checkDirectory(cwd, what);
    const result = await run(argv(config), { cwd, env: childEnv(config.env) }, ctx, what, config.timeoutMs);
    return interpret(result, what);
  },
};

/** Without a shell the argv runs as is; with one, a string (or the argv joined, as Node does) goes to sh -c. */
function argv(config: CommandConfig): string[] {
  if (!config.shell) return typeof config.command === 'string' ? [config.command] : config.command;
  const script = typeof config.command === 'string' ? config.command : config.command.join(' ');
  return ['/bin/sh', '-c', script];
}

function describeCommand(config: CommandConfig): string {
  const text =
    typeof config.command === 'string'
      ? config.command
      : config.command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return quote(text, 100);
}

async function checkDirectory(cwd: string, what: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(cwd)).isDirectory();
  } catch (err) {
    const reason = errorCode(err) === 'ENOENT' ? 'does not exist' : `cannot be read: ${errorMessage(err)}`;
    throw new SourceError(`${what}: working directory ${cwd} ${reason}`);
  }
  if (!isDirectory) throw new SourceError(`${what}: working directory ${cwd} is not a directory`);
}

/**
 * Run through the shared process runner: in a process group of its own, so that a timeout kills
 * everything the command started, not just the shell (a `sleep 100` grandchild would otherwise
 * outlive the sample and keep the output pipe open). An abort kills the group at once (no SIGTERM
 * grace: a sample is cheap to lose), and the command is done when its first process exits: what
 * it left running in the background is killed, since it would hold stdout open and turn a
 * finished sample into a timeout.
 */
async function run(
  argv: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
  ctx: { clock: Clock; abort: AbortSignal },
  what: string,
  timeoutMs: number,
): Promise<RunResult> {
  let result: ProcessResult;
  try {
    result = await runProcess(argv, {
      ...options,
      clock: ctx.clock,
      abort: ctx.abort,
      timeoutMs,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      killGraceMs: 0,
      killGroupOnExit: true,
    });
  } catch (err) {
    if (ctx.abort.aborted) throw abortError(ctx.abort, what, timeoutMs);
    if (err instanceof SpawnError) throw spawnError(err, what);
    throw err;
  }
  if (result.aborted) throw abortError(ctx.abort, what, timeoutMs);
  if (result.timedOut) {
    throw new SourceError(`${what}: timed out after ${formatDuration(timeoutMs)}`, { timeout: true });
  }
  return {
    code: result.exitCode,
    signal: result.signal,
    stdout: result.stdout,
    stdoutTruncated: result.truncated.stdout,
    stderr: result.stderr,
  };
}

function spawnError(err: SpawnError, what: string): SourceError {
  const file = err.file;
  if (err.errno === 'ENOENT') {
    const hint = file.includes('/') ? 'no such file' : 'not found on PATH; is it installed?';
    return new SourceError(`${what}: ${file} ${hint} (ENOENT)`, { cause: err });
  }
  if (err.errno === 'EACCES') {
    return new SourceError(`${what}: ${file} is not executable (EACCES)`, { cause: err });
  }
  return new SourceError(`${what} could not be started: ${err.message}`, { cause: err });
}

function interpret(result: RunResult, what: string): number {
  if (result.signal !== null) {
    throw new SourceError(`${what} was killed by ${result.signal}${stderrTail(result.stderr)}`);
  }
  if (result.code !== 0) {
    const hint = result.code === 127 ? ' (127: the shell did not find the command)' : '';
    throw new SourceError(`${what} exited with code ${result.code}${hint}${stderrTail(result.stderr)}`);
  }
  const value = result.stdoutTruncated ? undefined : parseNumber(result.stdout);
  if (value !== undefined) return value;
  if (result.stdout.trim() === '') {
    throw new SourceError(`${what} printed nothing on stdout; expected exactly one number`);
  }
  const more = result.stdoutTruncated ? ` (more than ${MAX_OUTPUT_BYTES / 1024} KiB)` : '';
  throw new SourceError(
    `${what} printed ${quote(result.stdout.trim())}${more} on stdout; expected exactly one number`,
  );
}

/** The last non-empty line of stderr, which is where tools put the error that made them fail. */
function stderrTail(stderr: string): string {
  const last = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  return last === undefined ? ' and printed nothing on stderr' : `: ${quote(last, 200)}`;
}
