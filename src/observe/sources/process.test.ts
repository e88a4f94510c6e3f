import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedClock, SystemClock, type Clock } from '../../clock.js';
import { ProcessSource } from '../../config/schema.js';
import { processSource, type CpuState } from './process.js';
import type { SourceContext } from './types.js';

let repo: string;
let children: ChildProcess[];
let state: unknown;

beforeEach(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'kaizen-process-'));
  children = [];
  state = undefined;
});

afterEach(async () => {
  await Promise.all(children.map(stop));
  fs.rmSync(repo, { recursive: true, force: true });
});

function ctx(clock: Clock = new SystemClock(), abort = new AbortController().signal): SourceContext {
  return { repoPath: repo, clock, abort, state, setState: (next) => (state = next) };
}

function config(find: { pidFile?: string; name?: string }, metric: 'rss_mb' | 'cpu_percent') {
  return ProcessSource.parse({ kind: 'process', metric, ...find });
}

async function start(file: string, args: string[]): Promise<ChildProcess & { pid: number }> {
  const child = spawn(file, args, { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  return child as ChildProcess & { pid: number };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A node process that has finished starting up (its memory no longer grows fast) and then idles. */
async function idleNode(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("ready")'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(child);
  await new Promise((resolve, reject) => child.stdout!.once('data', resolve).once('error', reject));
  return child as ChildProcess & { pid: number };
}

/** Whether a sample finished without waiting, or waits on the clock for a second reading. */
async function sleptOrSampled(clock: SimulatedClock, sample: Promise<number>): Promise<'slept' | 'sampled'> {
  let done = false;
  void sample.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done && clock.pending === 0) await new Promise((r) => setTimeout(r, 5));
  return done ? 'sampled' : 'slept';
}

const busyNode = () => start(process.execPath, ['-e', 'for (;;) {}']);

function writePidFile(pid: number | string, name = 'app.pid'): string {
  const file = path.join(repo, name);
  fs.writeFileSync(file, `${pid}\n`);
  return file;
}

function vmRssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** A `sleep` whose /proc/PID/comm is `name`: comm is the name the program was executed under. */
async function namedSleeper(name: string): Promise<ChildProcess & { pid: number }> {
  const link = path.join(repo, name);
  if (!fs.existsSync(link)) fs.symlinkSync(fs.realpathSync('/bin/sleep'), link);
  return start(link, ['60']);
}

describe('process source', () => {
  it('reads resident memory in MiB of the pid in a pid file (relative to the repo)', async () => {
    const child = await idleNode();
    writePidFile(child.pid);
    const rss = await processSource.sample(config({ pidFile: 'app.pid' }, 'rss_mb'), ctx());
    expect(rss).toBeGreaterThan(5);
    expect(Math.abs(rss - vmRssMb(child.pid))).toBeLessThan(5);
  });

  it('accepts an absolute pid file path', async () => {
    const child = await idleNode();
    const file = writePidFile(child.pid);
    expect(await processSource.sample(config({ pidFile: file }, 'rss_mb'), ctx())).toBeGreaterThan(5);
  });

  it('measures CPU: a busy loop near one core, an idle process near zero', async () => {
    const busy = await busyNode();
    const idle = await idleNode();
    writePidFile(busy.pid, 'busy.pid');
    writePidFile(idle.pid, 'idle.pid');
    await new Promise((r) => setTimeout(r, 300)); // let node start up: its start-up is not idle
    const busyFirst = await processSource.sample(config({ pidFile: 'busy.pid' }, 'cpu_percent'), ctx());
    expect(busyFirst).toBeGreaterThan(20);
    state = undefined;
    const idleFirst = await processSource.sample(config({ pidFile: 'idle.pid' }, 'cpu_percent'), ctx());
    expect(idleFirst).toBeLessThan(20);
  });

  it('on later samples measures over the whole interval since the previous one', async () => {
    const busy = await busyNode();
    writePidFile(busy.pid);
    const clock = new SimulatedClock();
    const cfg = config({ pidFile: 'app.pid' }, 'cpu_percent');
    const firstSample = processSource.sample(cfg, ctx(clock));
    expect(await sleptOrSampled(clock, firstSample)).toBe('slept'); // the first sample takes two readings 200 ms apart
    await new Promise((r) => setTimeout(r, 200));
    await clock.advance(200);
    await firstSample;
    const first = state as CpuState;
    expect(first).toMatchObject({ pid: busy.pid });
    expect(Object.keys(first).sort()).toEqual(['pid', 'start', 't', 'ticks']);

    await new Promise((r) => setTimeout(r, 1000));
    await clock.advance(1000);
    const laterSample = processSource.sample(cfg, ctx(clock));
    expect(await sleptOrSampled(clock, laterSample)).toBe('sampled'); // no second reading needed
    const later = await laterSample;
    expect(later).toBeGreaterThan(20);
    const second = state as CpuState;
    expect(second.t - first.t).toBe(1000);
    expect(later).toBeCloseTo(((second.ticks - first.ticks) / 100 / ((second.t - first.t) / 1000)) * 100, 6);
  });

  it('finds a process by name, choosing the oldest when several match', async () => {
    const name = `kzs${process.pid}`.slice(0, 15);
    const older = await namedSleeper(name);
    await new Promise((r) => setTimeout(r, 50)); // start times are in 10 ms ticks
    await namedSleeper(name);
    await processSource.sample(config({ name }, 'cpu_percent'), ctx());
    expect((state as CpuState).pid).toBe(older.pid);
    expect(await processSource.sample(config({ name }, 'rss_mb'), ctx())).toBeGreaterThan(0);
  });

  it('matches a long name on the 15 characters the kernel keeps', async () => {
    const name = `kzsleeper-${process.pid}-with-a-long-name`;
    const child = await namedSleeper(name);
    expect(fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim()).toBe(name.slice(0, 15));
    await processSource.sample(config({ name }, 'cpu_percent'), ctx());
    expect((state as CpuState).pid).toBe(child.pid);
  });

  it('says when no process has the name', async () => {
    await expect(processSource.sample(config({ name: 'kz-no-such-proc' }, 'rss_mb'), ctx())).rejects.toThrow(
      'no running process is named "kz-no-such-proc" (as in /proc/PID/comm)',
    );
  });

  it('says when the pid file is missing', async () => {
    await expect(processSource.sample(config({ pidFile: 'run/app.pid' }, 'rss_mb'), ctx())).rejects.toThrow(
      `pid file ${path.join(repo, 'run/app.pid')} does not exist (is the process running?)`,
    );
  });

  it('quotes a pid file that does not hold a pid', async () => {
    const file = writePidFile('starting...');
    await expect(processSource.sample(config({ pidFile: 'app.pid' }, 'rss_mb'), ctx())).rejects.toThrow(
      `pid file ${file} does not hold a process id: "starting..."`,
    );
    writePidFile('-12');
    await expect(processSource.sample(config({ pidFile: 'app.pid' }, 'rss_mb'), ctx())).rejects.toThrow(
      'does not hold a process id: "-12"',
    );
    writePidFile('0');
    await expect(processSource.sample(config({ pidFile: 'app.pid' }, 'rss_mb'), ctx())).rejects.toThrow(
      'does not hold a process id: "0"',
    );
    fs.writeFileSync(file, '  \n');
    await expect(processSource.sample(config({ pidFile: 'app.pid' }, 'rss_mb'), ctx())).rejects.toThrow(
      `pid file ${file} does not hold a process id: it is empty`,
    );
  });

  it('says a pid that no longer runs comes from a stale pid file', async () => {
    const child = await idleNode();
    const file = writePidFile(child.pid);
    await stop(child);
    await expect(processSource.sample(config({ pidFile: 'app.pid' }, 'rss_mb'), ctx())).rejects.toThrow(
      `process ${child.pid} from ${file} is not running (stale pid file?)`,
    );
    await expect(processSource.sample(config({ pidFile: 'app.pid' }, 'cpu_percent'), ctx())).rejects.toThrow(
      `process ${child.pid} from ${file} is not running (stale pid file?)`,
    );
  });

  it('rejects promptly when aborted during the first CPU reading', async () => {
    const child = await idleNode();
    writePidFile(child.pid);
    const clock = new SimulatedClock(); // never advanced: only the abort can end the wait
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(
      processSource.sample(config({ pidFile: 'app.pid' }, 'cpu_percent'), ctx(clock, controller.signal)),
    ).rejects.toThrow(`process ${child.pid}: timed out after 5s`);
  });
});
