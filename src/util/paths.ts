import path from 'node:path';

/**
 * A proposal's path as the repo sees it (backslashes to slashes, `.` and `..` folded), so pattern
 * checks and fingerprints cannot be dodged by spelling a path another way. Containment is the
 * path check's job; this only normalises.
 */
export function repoRelative(p: string): string {
  return path.posix.normalize(p.replace(/\\/g, '/'));
}
