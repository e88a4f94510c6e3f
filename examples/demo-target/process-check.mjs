// process-check.mjs: what deploy.mjs and stop.mjs both ask of a pid in run/demo.pid. Only node: built-ins.

import { existsSync, readFileSync } from 'node:fs';

/** Alive = signalable and not a zombie (an orphan nobody reaped yet still answers kill(pid, 0)). */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust kill(pid, 0)
  }
}

/** A stale pid file can name a reused pid: only signal a process that runs server.mjs (checked where /proc exists). */
export function isDemoTarget(pid) {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .some((a) => a.endsWith('server.mjs'));
  } catch {
    return !existsSync('/proc/self'); // with /proc: it raced with its exit; without: trust kill(pid, 0)
  }
}
