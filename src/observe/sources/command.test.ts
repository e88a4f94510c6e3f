import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedClock, SystemClock } from '../../clock.js';
import { CommandSource } from '../../config/schema.js';
import { SourceError } from '../../errors.js';
import { command } from './command.js';
import type { SourceContext } from './types.js';

let repo: string;

beforeEach(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'kaizen-command-'));
});

afterEach(() => {
  fs.rmSync(repo, { recursive: true, force: true });
});

function ctx(abort = new AbortController().signal): SourceContext {
  return { repoPath: repo, clock: new SimulatedClock(), abort, state: undefined, setState: () => {} };
}

function config(cmd: string | string[], extra: { cwd?: string; env?: Record<string, string> } = {}) {
  return CommandSource.parse({ kind: 'command', command: cmd, shell: typeof cmd === 'string', ...extra });
}

/** Whether a pid is a live process: a zombie has exited, it only waits to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes whose process group is `pgid`. */
function groupMembers(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return fields[0] !== 'Z' && Number(fields[2]) === pgid;
      } catch {
        return false;
      }
    });
}

async function eventually(check: () => boolean, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

const readPid = (file: string) => Number(fs.readFileSync(path.join(repo, file), 'utf8').trim());

describe('command source', () => {
  it('runs an argv list without a shell and reads the number it prints', async () => {
    expect(await command.sample(config([process.execPath, '-e', 'console.log(42.5)']), ctx())).toBe(42.5);
    // Without a shell, $HOME and ; are plain characters of the argument.
    await expect(command.sample(config(['echo', '$HOME;1']), ctx())).rejects.toThrow('printed "$HOME;1"');
  });

  it('runs a string through sh -c when shell is true, allowing surrounding whitespace', async () => {
    expect(await command.sample(config('printf "  \\n 7\\n\\n"'), ctx())).toBe(7);
    expect(await command.sample(config('echo $((6 * 7))'), ctx())).toBe(42);
  });

  it('runs in cwd resolved against the repo, with env merged over the environment', async () => {
    fs.mkdirSync(path.join(repo, 'sub'));
    fs.writeFileSync(path.join(repo, 'sub', 'value.txt'), '-3.25\n');
    expect(await command.sample(config(['cat', 'value.txt'], { cwd: 'sub' }), ctx())).toBe(-3.25);
    // PATH still comes from the environment (sh and expr are found), KZ_EXTRA from the config.
    expect(await command.sample(config('expr $KZ_EXTRA + 1', { env: { KZ_EXTRA: '9' } }), ctx())).toBe(10);
  });

  it('reports a missing working directory', async () => {
    await expect(command.sample(config(['true'], { cwd: 'nope' }), ctx())).rejects.toThrow(
      `command "true": working directory ${path.join(repo, 'nope')} does not exist`,
    );
  });

  it('reports a non-zero exit with the last line of stderr', async () => {
    const cfg = config('echo starting >&2; echo 12; echo "disk is full" >&2; echo >&2; exit 3');
    await expect(command.sample(cfg, ctx())).rejects.toThrow(
      'command "echo starting >&2; echo 12; echo \\"disk is full\\" >&2; echo >&2; exit 3" exited with code 3: "disk is full"',
    );
    await expect(command.sample(config(['false']), ctx())).rejects.toThrow(
      'command "false" exited with code 1 and printed nothing on stderr',
    );
  });

  it('says when the shell did not find the command', async () => {
    await expect(command.sample(config('kaizen-no-such-tool-xyz'), ctx())).rejects.toThrow(
      /exited with code 127 \(127: the shell did not find the command\): ".*kaizen-no-such-tool-xyz.*not found"/,
    );
  });

  it('says when the program does not exist (ENOENT)', async () => {
    await expect(command.sample(config(['kaizen-no-such-tool-xyz', '--json']), ctx())).rejects.toThrow(
      'command "kaizen-no-such-tool-xyz --json": kaizen-no-such-tool-xyz not found on PATH; is it installed? (ENOENT)',
    );
    await expect(command.sample(config(['./missing.sh']), ctx())).rejects.toThrow(
      './missing.sh no such file (ENOENT)',
    );
  });

  it('quotes stdout that is not exactly one number', async () => {
    await expect(command.sample(config('echo hello world'), ctx())).rejects.toThrow(
      'command "echo hello world" printed "hello world" on stdout; expected exactly one number',
    );
    await expect(command.sample(config('echo 1; echo 2'), ctx())).rejects.toThrow(
      'printed "1\\n2" on stdout',
    );
    await expect(command.sample(config('echo 12ms'), ctx())).rejects.toThrow('printed "12ms" on stdout');
    await expect(command.sample(config('true'), ctx())).rejects.toThrow(
      'command "true" printed nothing on stdout; expected exactly one number',
    );
  });

  it('caps captured stdout at 64 KiB', async () => {
    const err = await command
      .sample(config("head -c 300000 /dev/zero | tr '\\0' 1"), ctx())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(
      /printed "1{80}…" \(more than 64 KiB\) on stdout; expected exactly one number$/,
    );
  });

  it('on timeout kills the whole process group, grandchildren included, and rejects promptly', async () => {
    const controller = new AbortController();
    // The command waits on a 120 s sleep: only the abort can end it within the test's timeout.
    const cfg = config('echo $$ > leader.pid; sleep 120 & echo $! > child.pid; wait');
    setTimeout(() => controller.abort(), 300);
    const err = await command.sample(cfg, ctx(controller.signal)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toBe(
      `command "echo $$ > leader.pid; sleep 120 & echo $! > child.pid; wait": timed out after 5s`,
    );
    expect((err as SourceError).code).toBe('SOURCE_TIMEOUT');
    const leader = readPid('leader.pid');
    const child = readPid('child.pid');
    expect(await eventually(() => !alive(child) && !alive(leader))).toBe(true);
    expect(await eventually(() => groupMembers(leader).length === 0)).toBe(true);
  });

  it('does not wait for (and cleans up) what the command left running in the background', async () => {
    // Waiting for the 120 s sleep would fail this test on its timeout.
    expect(await command.sample(config('sleep 120 & echo $! > bg.pid; echo 5'), ctx())).toBe(5);
    const bg = readPid('bg.pid');
    expect(await eventually(() => !alive(bg))).toBe(true);
  });
});

describe('command source environment', () => {
  it("does not hand kaizen's own secrets to the command", async () => {
    process.env.ANTHROPIC_API_KEY = 'sk-ant-test-secret';
    try {
      const value = await command.sample(
        {
          kind: 'command',
          command: 'test -z "$ANTHROPIC_API_KEY" && echo 1 || echo 0',
          shell: true,
          env: { VISIBLE: '1' },
          timeoutMs: 5000,
        },
        {
          repoPath: process.cwd(),
          clock: new SystemClock(),
          abort: new AbortController().signal,
          state: undefined,
          setState: () => {},
        },
      );
      expect(value).toBe(1);
    } finally {
      delete process.env.ANTHROPIC_API_KEY;
    }
  });
});
