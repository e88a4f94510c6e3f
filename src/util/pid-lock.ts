import fs from 'node:fs';
import path from 'node:path';

/** Locks this process holds, so a second take in the same process is refused too. */
const held = new Set<string>();

/**
 * Take a lock file holding this process's pid. A lock whose process is gone (crashed, killed) is
 * taken over, so a lock frees itself when its holder dies. `busy(pid)` builds the error thrown
 * while a live process holds it. Returns the release function.
 */
export function takePidLock(file: string, busy: (pid: number) => Error): () => void {
  const key = path.resolve(file);
  if (held.has(key)) throw busy(process.pid);
  for (let tries = 0; tries < 3; tries++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      held.add(key);
      return () => {
        held.delete(key);
        // Only remove our own lock: a successor may have taken over a lock it thought stale.
        if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = readPid(file);
      // Our own pid in a lock we do not hold: a dead predecessor whose pid was reused for us.
      if (pid !== undefined && pid !== process.pid && alive(pid)) throw busy(pid);
      fs.rmSync(file, { force: true });
    }
  }
  throw busy(readPid(file) ?? 0);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
