import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Clock } from '../clock.js';
import { KaizenError } from '../errors.js';
import { childEnv } from './env.js';

/*
 * The one way kaizen runs a program: deploy commands, command signal sources. The program runs in
 * a process group of its own, so a timeout or an abort stops everything it started, not just the
 * first process: SIGTERM to the group, then SIGKILL to the group after a grace period.
 *
 * A non-zero exit, a signal and a timeout are results, not errors. Only a program that could not be
 * started at all (not found, not executable, no such working directory) throws, as SpawnError.
 */

export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024;
export const DEFAULT_KILL_GRACE_MS = 2000;
/**
 * After the program's first process exits, how long to wait for its output pipes to close. They stay
 * open when it left a background process holding them (`server &` without a redirect); kaizen then
 * stops reading rather than wait for that process.
 */
export const EXIT_DRAIN_MS = 1000;

export interface RunProcessOptions {
  cwd: string;
  /** The child's whole environment. Default: kaizen's own without its secrets (childEnv()). */
  env?: NodeJS.ProcessEnv;
  /** Stop the program (SIGTERM, then SIGKILL) after this long on `clock`. */
  timeoutMs: number;
  clock: Clock;
  /** Stop the program like a timeout; the result says `aborted`. */
  abort?: AbortSignal;
  /** Bytes kept of each of output, stdout and stderr: the LAST ones (default 16 KiB). */
  maxOutputBytes?: number;
  /** Run `argv.join(' ')` through /bin/sh -c. */
  shell?: boolean;
  /** Between SIGTERM and SIGKILL (default 2000 ms); 0 sends SIGKILL at once. */
  killGraceMs?: number;
  /**
   * Kill what is left of the process group as soon as the first process exits (default false: a
   * deploy may legitimately leave a service running).
   */
  killGroupOnExit?: boolean;
}

export interface ProcessResult {
  /** Exit code, or null when the program was ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the program (SIGTERM, SIGKILL, …), or null. */
  signal: string | null;
  /** Stopped because timeoutMs passed. */
  timedOut: boolean;
  /** Stopped because the abort signal fired. */
  aborted: boolean;
  /** stdout and stderr interleaved in arrival order; the last maxOutputBytes. */
  output: string;
  stdout: string;
  stderr: string;
  /** Which captures dropped earlier bytes to stay within maxOutputBytes. */
  truncated: { output: boolean; stdout: boolean; stderr: boolean };
  /** On `clock`. */
  durationMs: number;
}

/** The program could not be started. `errno` is ENOENT, EACCES, … when the system said so. */
export class SpawnError extends KaizenError {
  readonly file: string;
  readonly errno: string | undefined;

  constructor(message: string, file: string, errno: string | undefined, cause?: unknown) {
    super('SPAWN_FAILED', message, { cause });
    this.file = file;
    this.errno = errno;
  }
}

export async function runProcess(argv: string[], opts: RunProcessOptions): Promise<ProcessResult> {
  if (argv.length === 0 || !argv[0]) {
    throw new SpawnError('no command to run: the argv list is empty', '', undefined);
  }
  const [file, ...args] = opts.shell ? ['/bin/sh', '-c', argv.join(' ')] : (argv as [string, ...string[]]);
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const grace = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  // A program runs in the world's time: a time scale does not shorten its timeout.
  const clock = opts.clock.world;
  const { abort } = opts;
  const started = clock.now();

  const output = new TailCapture(max);
  const stdout = new TailCapture(max);
  const stderr = new TailCapture(max);
  const result = (
    fields: Pick<ProcessResult, 'exitCode' | 'signal' | 'timedOut' | 'aborted'>,
  ): ProcessResult => ({
    ...fields,
    output: output.text(),
    stdout: stdout.text(),
    stderr: stderr.text(),
    truncated: { output: output.truncated, stdout: stdout.truncated, stderr: stderr.truncated },
    durationMs: Math.max(0, clock.now() - started),
  });

  if (abort?.aborted) return result({ exitCode: null, signal: null, timedOut: false, aborted: true });
  checkDirectory(opts.cwd, file);

  return new Promise<ProcessResult>((resolve, reject) => {
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(file, args, {
        cwd: opts.cwd,
        env: opts.env ?? childEnv(),
        detached: true, // a process group of its own, led by the child
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      return reject(spawnError(err as Error, file, opts.cwd));
    }
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.add(chunk);
      output.add(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.add(chunk);
      output.add(chunk);
    });

    let settled = false;
    let stopping: 'timeout' | 'abort' | undefined;
    let sigkillSent = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const timers = new AbortController(); // cancels this run's clock sleeps once it is settled

    const signalGroup = (sig: NodeJS.Signals | 0): boolean => {
      if (child.pid === undefined) return false;
      try {
        process.kill(-child.pid, sig);
        return true;
      } catch {
        return false; // ESRCH: no process of the group is left
      }
    };
    const groupAlive = () => child.pid !== undefined && signalGroup(0) && groupHasLiveMembers(child.pid);

    const finish = () => {
      if (settled) return;
      settled = true;
      timers.abort();
      abort?.removeEventListener('abort', onAbort);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve(
        result({
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          timedOut: stopping === 'timeout',
          aborted: stopping === 'abort',
        }),
      );
    };
    const sleep = (ms: number) =>
      clock.sleep(ms, timers.signal).then(
        () => true,
        () => false,
      );

    const kill = () => {
      signalGroup('SIGKILL');
      sigkillSent = true;
      if (exit) finish(); // what still holds the pipes (if anything) has escaped the group
    };
    const stop = (why: 'timeout' | 'abort') => {
      if (settled || stopping) return;
      // The program has already exited (its output is draining): it finished, it did not time out.
      if (exit) return finish();
      stopping = why;
      if (grace <= 0) return kill();
      signalGroup('SIGTERM');
      void sleep(grace).then((due) => {
        if (due && !settled) kill();
      });
    };
    const onAbort = () => stop('abort');
    abort?.addEventListener('abort', onAbort, { once: true });
    void sleep(opts.timeoutMs).then((due) => {
      if (due) stop('timeout');
    });

    child.on('error', (err) => {
      if (child.pid !== undefined || settled) return; // only spawn failures are errors
      settled = true;
      timers.abort();
      abort?.removeEventListener('abort', onAbort);
      reject(spawnError(err, file, opts.cwd));
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (stopping) {
        if (sigkillSent) finish();
        return;
      }
      if (opts.killGroupOnExit) {
        signalGroup('SIGKILL');
        return;
      }
      void sleep(EXIT_DRAIN_MS).then((due) => {
        if (due) finish();
      });
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      // Stopping: the pipes closed, but a process of the group that ignores SIGTERM may still be
      // running; it gets its SIGKILL when the grace period ends.
      if (stopping && !sigkillSent && groupAlive()) return;
      finish();
    });
  });
}

/**
 * Whether any process of the group is still running. kill(-pgid, 0) also counts zombies, which
 * linger when PID 1 does not reap orphans (common in containers); on Linux /proc tells them apart.
 */
function groupHasLiveMembers(pgid: number): boolean {
  if (process.platform !== 'linux') return true;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

function checkDirectory(cwd: string, file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(cwd);
  } catch {
    throw new SpawnError(`cannot run ${file}: the working directory ${cwd} does not exist`, file, 'ENOENT');
  }
  if (!st.isDirectory()) {
    throw new SpawnError(
      `cannot run ${file}: the working directory ${cwd} is not a directory`,
      file,
      'ENOTDIR',
    );
  }
}

function spawnError(err: Error, file: string, cwd: string): SpawnError {
  const errno = (err as NodeJS.ErrnoException).code;
  if (errno === 'ENOENT') {
    if (file.includes('/')) {
      const abs = path.resolve(cwd, file);
      if (fs.existsSync(abs)) {
        return new SpawnError(
          `cannot run ${file}: the interpreter on its #! line was not found (ENOENT)`,
          file,
          errno,
          err,
        );
      }
      return new SpawnError(`command not found: ${file} (no such file in ${cwd})`, file, errno, err);
    }
    const local = fs.existsSync(path.join(cwd, file)) ? `; to run the file in ${cwd}, write ./${file}` : '';
    return new SpawnError(`command not found: ${file} (not on PATH${local})`, file, errno, err);
  }
  if (errno === 'EACCES') {
    return new SpawnError(
      `cannot run ${file}: permission denied (EACCES); is it executable? (chmod +x ${file})`,
      file,
      errno,
      err,
    );
  }
  return new SpawnError(`cannot run ${file}: ${err.message}`, file, errno, err);
}

/** Keeps the last `max` bytes, cut at a UTF-8 character boundary. */
class TailCapture {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.max) {
      this.size -= this.chunks.shift()!.length;
      this.truncated = true;
    }
    if (this.size > this.max) this.truncated = true;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    let start = Math.max(0, all.length - this.max);
    while (start > 0 && start < all.length && (all[start]! & 0xc0) === 0x80) start++; // a continuation byte
    return all.subarray(start).toString('utf8');
  }
}
