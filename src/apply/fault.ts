/**
 * Fault injection for crash tests: when KAIZEN_FAULT names a step boundary, the process dies
 * there at once (SIGKILL: no cleanup, no finally blocks), as a power cut would.
 */
export function faultPoint(name: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.KAIZEN_FAULT === name) process.kill(process.pid, 'SIGKILL');
}

/** Every boundary the crash tests exercise, in the order an apply passes them. */
export const FAULT_POINTS = [
  'after-lockdown',
  'after-write',
  'commit-made',
  'after-commit',
  'after-push',
  'after-deploy',
  'after-health',
  'revert-made',
  'after-revert',
  'after-revert-push',
  'after-redeploy',
] as const;
