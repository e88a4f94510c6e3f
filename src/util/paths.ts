import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * A proposal's path as the repo sees it (backslashes to slashes, `.` and `..` folded), so pattern
 * checks and fingerprints cannot be dodged by spelling a path another way. Containment is the
 * path check's job; this only normalises.
 */
export function repoRelative(p: string): string {
  return path.posix.normalize(p.replace(/\\/g, '/'));
}

/** The real path of the deepest existing ancestor of `p`, with the rest appended: where `p` is or would be. */
export function realish(p: string): string {
  let head = path.resolve(p);
  const tail: string[] = [];
  while (!existsSync(head) && path.dirname(head) !== head) {
    tail.unshift(path.basename(head));
    head = path.dirname(head);
  }
  return path.join(realpathSync(head), ...tail);
}
