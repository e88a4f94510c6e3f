import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { SimulatedClock, SystemClock } from '../clock.js';
import { runProcess, SpawnError, type RunProcessOptions } from './process.js';

const clock = new SystemClock();

function opts(cwd: string, extra: Partial<RunProcessOptions> = {}): RunProcessOptions {
  return { cwd, clock, timeoutMs: 10_000, ...extra };
}

/** Whether a pid is a live process (a zombie has exited; it only waits to be reaped). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

async function until(check: () => boolean): Promise<void> {
  if (!(await eventually(check))) throw new Error('condition not reached');
}

/** The pid a test's shell wrote, once the file holds a whole one: the file exists before `echo` fills it. */
function pidIn(dir: string, file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, file), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function readPid(dir: string, file: string): number {
  const pid = pidIn(dir, file);
  if (pid === undefined) throw new Error(`${file} holds no pid`);
  return pid;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('runProcess', () => {
  it('returns exit code, stdout, stderr and both interleaved in arrival order', async () => {
    const dir = tempDir();
    const r = await runProcess(
      ['sh', '-c', 'echo out1; sleep 0.05; echo err1 >&2; sleep 0.05; echo out2; exit 0'],
      opts(dir),
    );
    expect(r).toMatchObject({
      exitCode: 0,
      signal: null,
      timedOut: false,
      aborted: false,
      stdout: 'out1\nout2\n',
      stderr: 'err1\n',
      output: 'out1\nerr1\nout2\n',
      truncated: { output: false, stdout: false, stderr: false },
    });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('treats a non-zero exit and a signal as data, not errors', async () => {
    const dir = tempDir();
    const failed = await runProcess(['sh', '-c', 'echo "disk is full" >&2; exit 3'], opts(dir));
    expect(failed).toMatchObject({ exitCode: 3, signal: null, timedOut: false, output: 'disk is full\n' });
    const killed = await runProcess(['sh', '-c', 'kill -TERM $$'], opts(dir));
    expect(killed).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false });
  });

  it('runs in cwd, through sh -c when asked', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'here.txt'), 'x');
    expect((await runProcess(['ls'], opts(dir))).stdout).toBe('here.txt\n');
    expect((await runProcess(['echo $((6 * 7)) && pwd'], opts(dir, { shell: true }))).stdout).toBe(
      `42\n${fs.realpathSync(dir)}\n`,
    );
  });

  it("does not hand kaizen's secrets to the child by default; an explicit env is used as given", async () => {
    const dir = tempDir();
    process.env.KAIZEN_TOKEN = 'secret-token';
    try {
      const r = await runProcess(['sh', '-c', 'echo "${KAIZEN_TOKEN:-none} ${PATH:+path}"'], opts(dir));
      expect(r.stdout).toBe('none path\n');
      const given = await runProcess(
        ['/bin/sh', '-c', 'echo "${ONLY:-unset} ${HOME:-nohome}"'],
        opts(dir, { env: { ONLY: '1' } }),
      );
      expect(given.stdout).toBe('1 nohome\n');
    } finally {
      delete process.env.KAIZEN_TOKEN;
    }
  });

  it('keeps the last maxOutputBytes of each capture, cut at a character boundary', async () => {
    const dir = tempDir();
    const r = await runProcess(
      [process.execPath, '-e', 'process.stdout.write("a".repeat(5000) + "é".repeat(600) + "END")'],
      opts(dir, { maxOutputBytes: 1000 }),
    );
    expect(r.truncated).toEqual({ output: true, stdout: true, stderr: false });
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(1000);
    expect(r.stdout.endsWith('éEND')).toBe(true);
    expect(r.stdout).toMatch(/^é+END$/); // no half character (U+FFFD) at the start
    expect(r.output).toBe(r.stdout);
  });

  it('on timeout stops the whole process group (SIGTERM) and says timedOut', async () => {
    const dir = tempDir();
    const r = await runProcess(
      ['sh', '-c', 'echo $$ > leader.pid; sleep 30 & echo $! > child.pid; echo started; wait'],
      opts(dir, { timeoutMs: 300 }),
    );
    expect(r).toMatchObject({
      timedOut: true,
      aborted: false,
      exitCode: null,
      signal: 'SIGTERM',
      output: 'started\n',
    });
    const leader = readPid(dir, 'leader.pid');
    const child = readPid(dir, 'child.pid');
    expect(await eventually(() => !alive(leader) && !alive(child))).toBe(true);
  });

  it('sends SIGKILL to the group after the grace period when SIGTERM is ignored', async () => {
    const dir = tempDir();
    // A shell that ignores SIGTERM passes that on to its children: the sleep ignores it too.
    const r = await runProcess(
      ['sh', '-c', "trap '' TERM; sleep 30 & echo $! > child.pid; echo $$ > leader.pid; wait"],
      opts(dir, { timeoutMs: 200, killGraceMs: 300 }),
    );
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    const child = readPid(dir, 'child.pid');
    expect(await eventually(() => !alive(child))).toBe(true);
  });

  it('kills a straggler that ignores SIGTERM even after the leader exited on it', async () => {
    const dir = tempDir();
    // The leader dies on SIGTERM; its background child ignores it and has let go of the pipes.
    const r = await runProcess(
      ['sh', '-c', "(trap '' TERM; exec sleep 30) >/dev/null 2>&1 & echo $! > child.pid; sleep 30"],
      opts(dir, { timeoutMs: 200, killGraceMs: 300 }),
    );
    expect(r.timedOut).toBe(true);
    const child = readPid(dir, 'child.pid');
    expect(await eventually(() => !alive(child))).toBe(true);
  });

  it('times out on the injected clock: nothing happens until it is advanced', async () => {
    const dir = tempDir();
    const sim = new SimulatedClock();
    const run = runProcess(['sh', '-c', 'echo $$ > leader.pid; exec sleep 30'], {
      cwd: dir,
      clock: sim,
      timeoutMs: 60_000,
    });
    await until(() => pidIn(dir, 'leader.pid') !== undefined && sim.pending > 0);
    const leader = readPid(dir, 'leader.pid');
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(leader)).toBe(true);
    await sim.advance(60_000);
    const r = await run;
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGTERM', durationMs: 60_000 });
    expect(sim.pending).toBe(0); // no sleeper left behind
  });

  it('stops on abort and says aborted; an already aborted signal starts nothing', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const run = runProcess(
      ['sh', '-c', 'echo $$ > leader.pid; exec sleep 30'],
      opts(dir, { abort: controller.signal }),
    );
    await until(() => pidIn(dir, 'leader.pid') !== undefined);
    controller.abort();
    expect(await run).toMatchObject({ aborted: true, timedOut: false, signal: 'SIGTERM' });
    expect(await eventually(() => !alive(readPid(dir, 'leader.pid')))).toBe(true);

    const before = await runProcess(['sh', '-c', 'touch ran'], opts(dir, { abort: AbortSignal.abort() }));
    expect(before).toMatchObject({ aborted: true, exitCode: null, output: '' });
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('does not wait for a background process that keeps the output open, and leaves it running', async () => {
    const dir = tempDir();
    const r = await runProcess(['sh', '-c', 'sleep 30 & echo $! > bg.pid; echo deployed'], opts(dir));
    const bg = readPid(dir, 'bg.pid');
    try {
      expect(r).toMatchObject({ exitCode: 0, timedOut: false, output: 'deployed\n' });
      expect(alive(bg)).toBe(true); // a deploy may start a service: it is not killed
    } finally {
      killQuietly(bg);
    }
  });

  it('with killGroupOnExit, kills what the command left running', async () => {
    const dir = tempDir();
    const r = await runProcess(
      ['sh', '-c', 'sleep 30 & echo $! > bg.pid; echo 5'],
      opts(dir, { killGroupOnExit: true }),
    );
    expect(r).toMatchObject({ exitCode: 0, stdout: '5\n' });
    expect(await eventually(() => !alive(readPid(dir, 'bg.pid')))).toBe(true);
  });

  describe('start failures', () => {
    async function spawnFailure(argv: string[], cwd: string): Promise<SpawnError> {
      const err = await runProcess(argv, opts(cwd)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpawnError);
      expect((err as SpawnError).code).toBe('SPAWN_FAILED');
      return err as SpawnError;
    }

    it('says "command not found" for a program that does not exist', async () => {
      const dir = tempDir();
      expect((await spawnFailure(['deploy.sh'], dir)).message).toBe(
        'command not found: deploy.sh (not on PATH)',
      );
      expect((await spawnFailure(['./deploy.sh', '--prod'], dir)).message).toBe(
        `command not found: ./deploy.sh (no such file in ${dir})`,
      );
      fs.writeFileSync(path.join(dir, 'deploy.sh'), '#!/bin/sh\n', { mode: 0o755 });
      expect((await spawnFailure(['deploy.sh'], dir)).message).toBe(
        `command not found: deploy.sh (not on PATH; to run the file in ${dir}, write ./deploy.sh)`,
      );
    });

    it('names a missing #! interpreter, a file that is not executable, and a missing working directory', async () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'bad.sh'), '#!/nonexistent/interpreter\n', { mode: 0o755 });
      expect((await spawnFailure(['./bad.sh'], dir)).message).toBe(
        'cannot run ./bad.sh: the interpreter on its #! line was not found (ENOENT)',
      );
      fs.writeFileSync(path.join(dir, 'plain.sh'), '#!/bin/sh\n', { mode: 0o644 });
      const eacces = await spawnFailure(['./plain.sh'], dir);
      expect(eacces.message).toBe(
        'cannot run ./plain.sh: permission denied (EACCES); is it executable? (chmod +x ./plain.sh)',
      );
      expect(eacces.errno).toBe('EACCES');
      expect((await spawnFailure(['true'], path.join(dir, 'nope'))).message).toBe(
        `cannot run true: the working directory ${path.join(dir, 'nope')} does not exist`,
      );
      expect((await spawnFailure([], dir)).message).toBe('no command to run: the argv list is empty');
    });
  });
});
