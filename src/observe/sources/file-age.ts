import { stat } from 'node:fs/promises';
import { SourceError } from '../../errors.js';
import type { SignalSource } from './types.js';
import { errorCode, errorMessage, resolveInRepo, throwIfAborted } from './support.js';

export const fileAge: SignalSource<'file-age'> = {
  kind: 'file-age',
  describe: 'seconds since a file was last modified (a heartbeat or output file going stale)',
  async sample(config, ctx) {
    const file = resolveInRepo(ctx.repoPath, config.path);
    const what = `file ${file}`;
    throwIfAborted(ctx.abort, what, config.timeoutMs);
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(file)).mtimeMs;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        if (config.ifMissing === 'zero') return 0;
        throw new SourceError(
          `${what} does not exist (set ifMissing: zero if it exists only some of the time)`,
        );
      }
      throw new SourceError(`${what} cannot be read: ${errorMessage(err)}`, { cause: err });
    }
    throwIfAborted(ctx.abort, what, config.timeoutMs);
    // A clock skewed against the file system (or a file touched into the future) is not a negative age.
    return Math.max(0, (ctx.clock.now() - mtimeMs) / 1000);
  },
};
