import { readFileSync } from 'node:fs';
import os from 'node:os';
import { alive } from './pid-lock.js';

/** A process as another process on the same host can recognise it again. */
export interface ProcessIdentity {
  pid: number;
  /** When the process started (Linux: /proc/<pid>/stat field 22), or null where that cannot be read. */
  start: string | null;
  host: string;
}

/**
 * When process `pid` started, in clock ticks since boot (Linux). A pid is reused once its process
 * is gone; the pair (pid, start) is not. Null where /proc is not there (macOS) or `pid` is gone.
 */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

let self: ProcessIdentity | undefined;

/** This process. */
export function thisProcess(): ProcessIdentity {
  self ??= { pid: process.pid, start: processStart(process.pid), host: os.hostname() };
  return self;
}

/**
 * Whether the process `who` names still runs, asked on this host: its pid answers and, where the
 * start time is known on both sides, it is the same process and not a later one given its pid.
 */
export function stillRunning(who: { pid: number; start: string | null }): boolean {
  if (!alive(who.pid)) return false;
  if (who.start === null) return true;
  const now = processStart(who.pid);
  return now === null || now === who.start;
}
