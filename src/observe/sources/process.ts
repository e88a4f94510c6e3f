import { readdir, readFile } from 'node:fs/promises';
import { SourceError } from '../../errors.js';
import type { SignalSource, SourceContext } from './types.js';
import { abortError, errorCode, errorMessage, quote, resolveInRepo, throwIfAborted } from './support.js';

/**
 * What a cpu_percent signal keeps between samples: the process (pid and its start time, so a reused
 * pid is noticed), its CPU ticks (utime + stime) and when they were read.
 */
export interface CpuState {
  pid: number;
  start: number;
  ticks: number;
  t: number;
}

/** USER_HZ: the unit of /proc/PID/stat times. 100 on every Linux architecture kaizen runs on. */
const CLK_TCK = 100;
/** Gap between the two readings of a first sample: 20 ticks at 100 Hz, so 5 % resolution, for little delay. */
const FIRST_GAP_MS = 200;
/** A previous reading older than this (say, from before a long outage) would average over too long; start afresh. */
const STALE_AFTER_MS = 60 * 60 * 1000;
/** /proc/PID/comm holds at most this many characters of the name. */
const COMM_LENGTH = 15;

type ProcessConfig = Parameters<SignalSource<'process'>['sample']>[0];

interface Target {
  pid: number;
  /** How the pid was found, for messages: `from /srv/app.pid` or `named "app"`. */
  from: string;
}

interface ProcStat {
  state: string;
  ticks: number;
  start: number;
}

export const processSource: SignalSource<'process'> = {
  kind: 'process',
  describe: 'resident memory (MiB) or CPU use (% of one core) of a process found by pid file or name',
  async sample(config, ctx) {
    const target =
      config.pidFile !== undefined
        ? await pidFromFile(resolveInRepo(ctx.repoPath, config.pidFile))
        : await pidByName(nameOf(config));
    throwIfAborted(ctx.abort, `process ${target.pid}`, config.timeoutMs);
    const first = await readStat(target);
    if (config.metric === 'rss_mb') return rssMb(target);
    return cpuPercent(target, first, ctx, config.timeoutMs);
  },
};

function nameOf(config: ProcessConfig): string {
  if (config.name === undefined) throw new SourceError('a process source needs pidFile or name');
  return config.name;
}

async function pidFromFile(file: string): Promise<Target> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') {
      throw new SourceError(`pid file ${file} does not exist (is the process running?)`);
    }
    throw new SourceError(`pid file ${file} cannot be read: ${errorMessage(err)}`, { cause: err });
  }
  const trimmed = text.trim();
  const pid = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new SourceError(
      `pid file ${file} does not hold a process id: ${trimmed === '' ? 'it is empty' : quote(trimmed, 40)}`,
    );
  }
  return { pid, from: `from ${file}` };
}

/** The oldest process whose /proc/PID/comm is `name`: with several (a master and its workers) the first one started. */
async function pidByName(name: string): Promise<Target> {
  const wanted = name.slice(0, COMM_LENGTH); // the kernel keeps only the first 15 characters
  let entries: string[];
  try {
    entries = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  } catch (err) {
    throw new SourceError(
      `cannot list processes: ${errorMessage(err)} (the process source needs Linux /proc)`,
      { cause: err },
    );
  }
  const found = await Promise.all(entries.map((e) => commMatch(Number(e), wanted)));
  const oldest = found
    .filter((p): p is { pid: number; start: number } => p !== undefined)
    .sort((a, b) => a.start - b.start || a.pid - b.pid)[0];
  if (!oldest) {
    throw new SourceError(`no running process is named ${JSON.stringify(name)} (as in /proc/PID/comm)`);
  }
  return { pid: oldest.pid, from: `named ${JSON.stringify(name)}` };
}

async function commMatch(pid: number, wanted: string): Promise<{ pid: number; start: number } | undefined> {
  try {
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).replace(/\n$/, '');
    if (comm !== wanted) return undefined;
    const stat = parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
    return stat.state === 'Z' ? undefined : { pid, start: stat.start };
  } catch {
    return undefined; // exited while we looked
  }
}

/** Fields of /proc/PID/stat after the command name, which may itself contain spaces and ")". */
export function parseStat(text: string): ProcStat {
  const fields = text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
  // Counting from field 3 (state): utime is field 14, stime 15, starttime 22.
  const [state, utime, stime, start] = [fields[0], fields[11], fields[12], fields[19]];
  if (state === undefined || utime === undefined || stime === undefined || start === undefined) {
    throw new SourceError(`unexpected /proc/PID/stat format: ${quote(text)}`);
  }
  return { state, ticks: Number(utime) + Number(stime), start: Number(start) };
}

async function readStat(target: Target): Promise<ProcStat> {
  let text: string;
  try {
    text = await readFile(`/proc/${target.pid}/stat`, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ESRCH') throw notRunning(target);
    throw new SourceError(`process ${target.pid} ${target.from} cannot be inspected: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const stat = parseStat(text);
  if (stat.state === 'Z') {
    throw new SourceError(
      `process ${target.pid} ${target.from} has exited (a zombie its parent has not reaped)`,
    );
  }
  return stat;
}

function notRunning(target: Target): SourceError {
  const hint = target.from.startsWith('from ') ? ' (stale pid file?)' : '';
  return new SourceError(`process ${target.pid} ${target.from} is not running${hint}`);
}

async function rssMb(target: Target): Promise<number> {
  let status: string;
  try {
    status = await readFile(`/proc/${target.pid}/status`, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ESRCH') throw notRunning(target);
    throw new SourceError(`process ${target.pid} ${target.from} cannot be inspected: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) {
    throw new SourceError(
      `process ${target.pid} ${target.from} reports no resident memory (VmRSS): a kernel thread, or exiting`,
    );
  }
  return Number(m[1]) / 1024;
}

/**
 * CPU use in percent of one core over the time since the previous sample. Ticks are cumulative since
 * the process started, so one reading alone gives only its lifetime average, which hides what it does
 * now. With a previous reading of the same process the delta covers the whole sampling interval; the
 * first time (or after a restart, or a long gap) two readings FIRST_GAP_MS apart give a short
 * but current measurement instead of no value at all.
 */
async function cpuPercent(
  target: Target,
  first: ProcStat,
  ctx: SourceContext,
  timeoutMs: number,
): Promise<number> {
  const now = ctx.clock.now();
  const prev = readCpuState(ctx.state);
  const usable =
    prev !== undefined &&
    prev.pid === target.pid &&
    prev.start === first.start &&
    first.ticks >= prev.ticks &&
    now > prev.t &&
    now - prev.t <= STALE_AFTER_MS;
  if (usable) {
    ctx.setState({ pid: target.pid, start: first.start, ticks: first.ticks, t: now } satisfies CpuState);
    return percent(first.ticks - prev.ticks, now - prev.t);
  }
  try {
    await ctx.clock.sleep(FIRST_GAP_MS, ctx.abort);
  } catch {
    throw abortError(ctx.abort, `process ${target.pid}`, timeoutMs);
  }
  const second = await readStat(target);
  if (second.start !== first.start) throw notRunning(target);
  const later = ctx.clock.now();
  ctx.setState({ pid: target.pid, start: second.start, ticks: second.ticks, t: later } satisfies CpuState);
  return percent(second.ticks - first.ticks, later - now);
}

function percent(ticks: number, elapsedMs: number): number {
  if (elapsedMs <= 0) throw new SourceError('no time passed between the two CPU readings');
  return (ticks / CLK_TCK / (elapsedMs / 1000)) * 100;
}

function readCpuState(state: unknown): CpuState | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const { pid, start, ticks, t } = state as Partial<CpuState>;
  const ok = [pid, start, ticks, t].every((v) => typeof v === 'number' && Number.isFinite(v));
  return ok ? (state as CpuState) : undefined;
}
