import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { SourceError } from '../../errors.js';
import type { SignalSource } from './types.js';
import { abortError, errorCode, errorMessage, resolveInRepo } from './support.js';

/**
 * What a log-count signal keeps between samples, like `tail -F`: which file (by inode) it was
 * reading, how far (just after the last complete line), and the matches seen at each sample
 * still inside the window, as [sample time, matching lines since the sample before].
 */
export interface LogCountState {
  ino: number;
  offset: number;
  buckets: [number, number][];
}

const CHUNK_BYTES = 64 * 1024;
/**
 * Bytes of a line kept while waiting for its newline: a longer line is matched on its first MiB and
 * its end only, so one runaway line cannot fill memory.
 */
const MAX_LINE_BYTES = 1024 * 1024;

type LogCountConfig = Parameters<SignalSource<'log-count'>['sample']>[0];

interface Reader {
  re: RegExp;
  abort: AbortSignal;
  what: string;
  timeoutMs: number;
}

export const logCount: SignalSource<'log-count'> = {
  kind: 'log-count',
  describe:
    'count log lines matching a regular expression over a trailing window, following rotation like tail -F',
  async sample(config, ctx) {
    const file = resolveInRepo(ctx.repoPath, config.file);
    const reader: Reader = {
      re: new RegExp(config.pattern),
      abort: ctx.abort,
      what: `log file ${file}`,
      timeoutMs: config.timeoutMs,
    };
    const prev = readState(ctx.state);
    const ino = await inodeOf(file, reader.what);
    if (ino === undefined) {
      // Mid-rotation the file can be briefly absent: keep the position so the next sample resumes.
      if (prev) ctx.setState(prev);
      throw new SourceError(`${reader.what} does not exist`);
    }
    const now = ctx.clock.now();
    let read: { matches: number; offset: number };
    try {
      read = prev ? await readOnward(file, ino, prev, reader) : await firstSight(file, config, reader);
    } catch (err) {
      if (prev) ctx.setState(prev);
      if (err instanceof SourceError) throw err;
      // Rotated again between stat and open, permissions, …: the next sample starts from the same place.
      throw new SourceError(`${reader.what} cannot be read: ${errorMessage(err)}`, { cause: err });
    }
    const { matches, offset } = read;
    const buckets = prev ? [...prev.buckets] : [];
    // An empty bucket adds nothing to the sum; leaving it out keeps the stored state small.
    if (matches > 0) buckets.push([now, matches]);
    const kept = buckets.filter(([t]) => t > now - config.windowMs);
    ctx.setState({ ino, offset, buckets: kept } satisfies LogCountState);
    return kept.reduce((sum, [, n]) => sum + n, 0);
  },
};

function readState(state: unknown): LogCountState | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const { ino, offset, buckets } = state as Partial<LogCountState>;
  if (typeof ino !== 'number' || typeof offset !== 'number' || offset < 0 || !Array.isArray(buckets)) {
    return undefined;
  }
  const valid = buckets.every(
    (b) => Array.isArray(b) && typeof b[0] === 'number' && typeof b[1] === 'number',
  );
  return valid ? { ino, offset, buckets } : undefined;
}

async function inodeOf(file: string, what: string): Promise<number | undefined> {
  try {
    return (await stat(file)).ino;
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined;
    throw new SourceError(`${what} cannot be read: ${errorMessage(err)}`, { cause: err });
  }
}

/** Like tail -F, start at the end (after the last complete line) unless told to count what is there. */
async function firstSight(
  file: string,
  config: LogCountConfig,
  reader: Reader,
): Promise<{ matches: number; offset: number }> {
  if (config.fromStart) return countLines(file, 0, reader);
  return { matches: 0, offset: await endOfLastLine(file, reader) };
}

/** Continue where the previous sample stopped: finish a rotated-away file first, restart a truncated one. */
async function readOnward(
  file: string,
  ino: number,
  prev: LogCountState,
  reader: Reader,
): Promise<{ matches: number; offset: number }> {
  if (ino !== prev.ino) {
    const old = await findRotated(file, prev.ino);
    const tail = old ? await countLines(old, prev.offset, reader) : { matches: 0 };
    const fresh = await countLines(file, 0, reader);
    return { matches: tail.matches + fresh.matches, offset: fresh.offset };
  }
  const size = (await stat(file)).size;
  // Smaller than where we were: truncated in place (copytruncate), so everything there is new.
  return countLines(file, size < prev.offset ? 0 : prev.offset, reader);
}

/**
 * The rotated file still holding inode `ino`: in the same folder, its name starting with the log's
 * (app.log.1, app.log-20260105). A compressed copy has a new inode and is rightly not found.
 */
async function findRotated(file: string, ino: number): Promise<string | undefined> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (name === base || !name.startsWith(base)) continue;
    const candidate = path.join(dir, name);
    const st = await stat(candidate).catch(() => undefined);
    if (st?.ino === ino) return candidate;
  }
  return undefined;
}

/**
 * Count complete lines matching the pattern from `start` to the end of the file, a chunk at a time.
 * The returned offset is just after the last newline, so a line still being written is counted once,
 * by the sample that sees it finished.
 */
async function countLines(
  file: string,
  start: number,
  reader: Reader,
): Promise<{ matches: number; offset: number }> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(CHUNK_BYTES);
    let position = start;
    let offset = start;
    let matches = 0;
    let partial: Buffer[] = [];
    let partialBytes = 0;
    for (;;) {
      if (reader.abort.aborted) throw abortError(reader.abort, reader.what, reader.timeoutMs);
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      position += bytesRead;
      const lastNewline = chunk.lastIndexOf(0x0a);
      if (lastNewline === -1) {
        if (partialBytes < MAX_LINE_BYTES) {
          partial.push(Buffer.from(chunk.subarray(0, MAX_LINE_BYTES - partialBytes)));
        }
        partialBytes += bytesRead;
        continue;
      }
      // Splitting bytes at '\n' is safe for UTF-8: no multi-byte character contains that byte.
      const complete = Buffer.concat([...partial, chunk.subarray(0, lastNewline)]);
      matches += countMatches(complete.toString('utf8'), reader.re);
      offset = position - bytesRead + lastNewline + 1;
      partial = [Buffer.from(chunk.subarray(lastNewline + 1))];
      partialBytes = bytesRead - lastNewline - 1;
    }
    return { matches, offset };
  } finally {
    await fh.close();
  }
}

function countMatches(text: string, re: RegExp): number {
  let n = 0;
  for (const line of text.split('\n')) if (re.test(line.endsWith('\r') ? line.slice(0, -1) : line)) n++;
  return n;
}

/** Offset just after the file's last newline (0 if it has none), found by reading backwards. */
async function endOfLastLine(file: string, reader: Reader): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(CHUNK_BYTES);
    let end = (await fh.stat()).size;
    while (end > 0) {
      if (reader.abort.aborted) throw abortError(reader.abort, reader.what, reader.timeoutMs);
      const start = Math.max(0, end - CHUNK_BYTES);
      const { bytesRead } = await fh.read(buf, 0, end - start, start);
      const i = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (i !== -1) return start + i + 1;
      end = start;
    }
    return 0;
  } finally {
    await fh.close();
  }
}
