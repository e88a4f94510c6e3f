import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Replace a file so that a crash leaves either the old content or the new, never half of it:
 * a temporary file in the same folder, fsync, rename, fsync the folder. Keeps the file's mode.
 */
export function writeAtomic(abs: string, content: string): void {
  const dir = path.dirname(abs);
  let mode: number | undefined;
  try {
    mode = fs.lstatSync(abs).mode & 0o7777;
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dir, { recursive: true });
  // Hidden, recognisable, and short enough that a long file name still leaves room for it.
  const tmp = path.join(
    dir,
    `.${path.basename(abs).slice(0, 64)}.kaizen-${randomBytes(6).toString('hex')}.tmp`,
  );
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | (O_NOFOLLOW ?? 0), 0o666);
  try {
    try {
      if (mode !== undefined) fs.fchmodSync(fd, mode); // keep an executable script executable
      fs.writeFileSync(fd, content, 'utf8');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, abs);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDirectory(dir);
}

/** Make the rename durable. Not every platform can fsync a folder; that is not an error. */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // EISDIR / EINVAL / EPERM on some file systems
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
