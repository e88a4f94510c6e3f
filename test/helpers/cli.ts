import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { CLOCK_START_ENV, clockStartValue, type Clock } from '../../src/clock.js';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * The time a kaizen process started by a test runs on: the scene's clock (its present moment is
 * handed over through KAIZEN_CLOCK_START, and the child's clock runs on from there), or `'system'`,
 * said out loud, for a process that has no scene (`--help`, the demo, a daemon watched in real
 * time). Required everywhere a test starts kaizen, so no test can forget it: a spawned CLI on
 * today's date over a scene built on a fixed date passes the day it is written and fails a month
 * later (issue 11).
 */
export type ChildClock = Clock | 'system';

export interface KaizenProcessOptions {
  clock: ChildClock;
  cwd?: string;
  /** Added to the environment; KAIZEN_FAULT and KAIZEN_CLOCK_START are never inherited. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The environment of a kaizen process a test starts: this process's, without the variables that
 * must be set on purpose (a fault to inject, the clock), then the clock's start, then `extra`.
 */
export function kaizenEnv(clock: ChildClock, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.KAIZEN_FAULT;
  delete env[CLOCK_START_ENV];
  if (clock !== 'system') env[CLOCK_START_ENV] = clockStartValue(clock);
  return { ...env, ...extra };
}

/**
 * Run the CLI in this process with captured output, on `clock` (default: the system clock). The
 * clock reaches the command the same way it reaches a child process, through KAIZEN_CLOCK_START,
 * set for the duration of the call.
 */
export async function runCli(...args: string[]): Promise<CliResult> {
  return runCliAt('system', ...args);
}

/** runCli on the scene's clock: for commands that read or judge the scene's stored history. */
export async function runCliAt(clock: ChildClock, ...args: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const before = process.env[CLOCK_START_ENV];
  if (clock === 'system') delete process.env[CLOCK_START_ENV];
  else process.env[CLOCK_START_ENV] = clockStartValue(clock);
  try {
    const code = await main(['node', 'kaizen', ...args], {
      out: (t) => (out += t.endsWith('\n') ? t : `${t}\n`),
      err: (t) => (err += t.endsWith('\n') ? t : `${t}\n`),
      isTty: false,
    });
    return { code, out, err };
  } finally {
    if (before === undefined) delete process.env[CLOCK_START_ENV];
    else process.env[CLOCK_START_ENV] = before;
  }
}

const BIN = path.resolve(import.meta.dirname, '../../bin/kaizen.js');

/** Run the built CLI as a real child process and wait for it (blocks this process's event loop). */
export function spawnCli(args: string[], options: KaizenProcessOptions): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: kaizenEnv(options.clock, options.env),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Start the built CLI as a real child process without waiting for it; the caller ends it. */
export function spawnKaizen(args: string[], options: KaizenProcessOptions): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: kaizenEnv(options.clock, options.env),
    stdio: 'pipe',
  });
}
