import { childEnv } from '../../util/env.js';
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { SourceError } from '../../errors.js';
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
  signal: NodeJS.Signals | null;
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
    const [file, ...args] = argv(config);
    const result = await run(
      file!,
      args,
      { cwd, env: childEnv(config.env) },
      ctx.abort,
      what,
      config.timeoutMs,
    );
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
 * Run in a process group of its own (detached) so that a timeout kills everything the command
 * started, not just the shell: a `sleep 100` grandchild would otherwise outlive the sample and keep
 * the output pipe open. Rejects as soon as the abort signal fires, without waiting for the exit.
 */
function run(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
  abort: AbortSignal,
  what: string,
  timeoutMs: number,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...options,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: abort,
      killSignal: 'SIGKILL',
    });
    const stdout = new HeadCapture(MAX_OUTPUT_BYTES);
    const stderr = new TailCapture(MAX_OUTPUT_BYTES);
    child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));

    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      abort.removeEventListener('abort', onAbort);
      fn();
    };
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the whole group is already gone.
      }
    };
    const onAbort = () => {
      killGroup();
      settle(() => reject(abortError(abort, what, timeoutMs)));
    };
    abort.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err) => {
      killGroup();
      settle(() => reject(abort.aborted ? abortError(abort, what, timeoutMs) : spawnError(err, file, what)));
    });
    // The command is done when its first process exits; whatever it left running in the background
    // would hold stdout open and turn a finished sample into a timeout.
    child.on('exit', killGroup);
    child.on('close', (code, signal) => {
      settle(() =>
        resolve({
          code,
          signal,
          stdout: stdout.text(),
          stdoutTruncated: stdout.truncated,
          stderr: stderr.text(),
        }),
      );
    });
  });
}

function spawnError(err: Error, file: string, what: string): SourceError {
  const code = errorCode(err);
  if (code === 'ENOENT') {
    const hint = file.includes('/') ? 'no such file' : 'not found on PATH; is it installed?';
    return new SourceError(`${what}: ${file} ${hint} (ENOENT)`, { cause: err });
  }
  if (code === 'EACCES') {
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

/** Keeps the first `max` bytes. */
class HeadCapture {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}

  add(chunk: Buffer): void {
    const room = this.max - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.subarray(0, room);
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Keeps the last `max` bytes (at least; trimmed a chunk at a time). */
class TailCapture {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.max) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}
