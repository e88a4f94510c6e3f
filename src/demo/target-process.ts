import { spawn, type ChildProcess } from 'node:child_process';
import { KaizenError } from '../errors.js';

export interface RunningTarget {
  child: ChildProcess;
  port: number;
  pid: number;
  baseUrl: string;
  /** Stop it (SIGTERM, then SIGKILL after `graceMs`) and wait for the exit. */
  stop(graceMs?: number): Promise<void>;
}

const LISTENING = /demo-target listening on (http:\/\/127\.0\.0\.1:(\d+)) pid (\d+)/;

/**
 * Start the demo target in `dir` as a child process and wait until it says where it listens.
 * Fails with its stderr when it exits first (an invalid config.json makes it exit 2).
 */
export function startDemoTarget(
  dir: string,
  options: { port?: number; startTimeoutMs?: number } = {},
): Promise<RunningTarget> {
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: dir,
    env: { ...process.env, PORT: String(options.port ?? 0) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new KaizenError(
          'DEMO_FAILED',
          `the demo target did not start within ${options.startTimeoutMs ?? 10_000} ms; stderr: ${stderr.trim() || '(empty)'}`,
        ),
      );
    }, options.startTimeoutMs ?? 10_000);
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = LISTENING.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      const exited = new Promise<void>((r) =>
        child.exitCode !== null ? r() : child.once('exit', () => r()),
      );
      resolve({
        child,
        baseUrl: m[1]!,
        port: Number(m[2]),
        pid: Number(m[3]),
        stop: async (graceMs = 3000) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(killer);
        },
      });
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(
        new KaizenError(
          'DEMO_FAILED',
          `the demo target exited (${sig ?? `code ${code}`}) before it listened: ${stderr.trim() || '(no output)'}`,
        ),
      );
    });
  });
}
