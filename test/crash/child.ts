import { spawnKaizen } from '../helpers/cli.js';

export interface ChildResult {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/**
 * Run the built CLI as a real child process WITHOUT blocking this process's event loop, so a
 * server living in the test process (the fixture's health endpoint) can answer the child.
 * KAIZEN_FAULT is never inherited: only `fault` sets it. The crash scenes live in real time (their
 * target answers on the real clock), so the child runs on the system clock.
 */
export function runKaizen(
  args: string[],
  options: { fault?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawnKaizen(args, {
      clock: 'system',
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      env: options.fault !== undefined ? { KAIZEN_FAULT: options.fault } : {},
    });
    child.stdin.end();
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `kaizen ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60_000} ms\n${out}\n${err}`,
        ),
      );
    }, options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const t0 = Date.now();
    child.on('close', (code, signal) => {
      if (process.env.CRASH_TIMING) console.log(`${Date.now() - t0} ms: ${args[0]} ${options.fault ?? ''}`);
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}
