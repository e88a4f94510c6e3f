import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli, spawnKaizen } from './helpers/cli.js';
import { git } from './helpers/git.js';
import { tempDir } from './helpers/temp.js';

interface Demo {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  /** Resolves once stdout has matched `pattern` (fails after `ms` of real time). */
  waitFor: (pattern: RegExp, ms?: number) => Promise<RegExpExecArray>;
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function startDemo(args: string[]): Demo {
  // The demo makes its own world from now on: it runs on the system clock.
  const child = spawnKaizen(['demo', ...args], {
    clock: 'system',
    env: { KAIZEN_TOKEN: '', KAIZEN_REDIS_URL: '' },
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    waitFor: async (pattern, ms = 90_000) => {
      for (let waited = 0; waited < ms; waited += 50) {
        const m = pattern.exec(out);
        if (m) return m;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the demo never printed ${String(pattern)}; stdout:\n${out}\nstderr:\n${err}`);
    },
  };
}

describe('kaizen demo', () => {
  it('runs the whole loop through the daemon on a compressed clock, then serves the dashboard until Ctrl-C', async () => {
    const dir = path.join(tempDir(), 'demo');
    const demo = startDemo(['--dir', dir]);

    const [, url, token] = await demo.waitFor(
      /== Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)\n[^]*ask for the token: (\S+)\n[^]*press Ctrl-C to stop the demo/,
    );
    const r = demo.out();
    // Observe: every source kind answered the first scheduled observe job.
    const status = r.slice(r.indexOf('== Observe'), r.indexOf('== Propose'));
    for (const name of [
      'latency_p50_ms',
      'error_rate',
      'error_log_lines',
      'worker_lock_age_s',
      'rss_mb',
      'commits',
    ])
      expect(status).toMatch(new RegExp(`demo\\s+${name}\\s+\\d`));
    // The daemon's own jobs found, applied and judged the cache change, stamped on its clock.
    expect(r).toMatch(/\+0\d:\d\d:\d\d {2}K0001 proposed by rules: Enable the response cache/);
    expect(r).toContain('why now: rule latency_cache: latency_p50_ms above 30 for 1h15m');
    expect(r).toMatch(/K0001 applying → applied \(kaizen\): committed [0-9a-f]{7} and healthy/);
    expect(r).toMatch(/K0001 applied → validated \(kaizen\): latency_p50_ms fell [\d.]+ %/);
    expect(r).toMatch(
      /K0002 Make requests fast\n.*\n {2}ROLLED BACK: commit [0-9a-f]{7} reverted by [0-9a-f]{7}; healthy again/,
    );
    // Learn: the scheduler's distill job; its lessons on file.
    expect(r).toMatch(
      /distill run \d+: 2 intervention\(s\) finished .* reviewed \(rules\)\n {2}new lessons: D-[0-9a-f]{8}, D-[0-9a-f]{8}\n/,
    );
    expect(r).toContain('escaped the guard: K0002 (rolled_back)');
    expect(readdirSync(path.join(dir, '.kaizen', 'lessons'))).toHaveLength(2);
    expect(r).toContain('kaizen doctor: all invariants hold over 2 intervention(s)');

    // The dashboard and its API answer while the demo waits, with the daemon's own records.
    const page = await fetch(url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script');
    const list = (await (await fetch(`${url}api/interventions`)).json()) as {
      interventions: { id: string; state: string }[];
    };
    expect(list.interventions.map((i) => [i.id, i.state]).sort()).toEqual([
      ['K0001', 'validated'],
      ['K0002', 'rolled_back'],
    ]);
    // A state-changing call needs the token the demo printed.
    const anonymous = await fetch(`${url}api/interventions/K0002/reject`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    const signed = await fetch(`${url}api/interventions/K0002/reject`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'tester', why: 'checking the token works' }),
    });
    // Past the token check: refused only because a rolled-back change is not in the backlog.
    expect(signed.status).toBe(409);

    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    const out = demo.out();
    const html = /weekly report: (.*\.html)\n/.exec(out)?.[1];
    expect(html).toMatch(
      new RegExp(`^${path.join(dir, '.kaizen', 'reports')}/weekly-\\d{4}-W\\d{2}\\.html$`),
    );
    expect(readFileSync(html!, 'utf8')).toContain('<svg');
    const repo = path.join(dir, 'target');
    expect(git(repo, 'log', '--format=%s').split('\n')).toEqual([
      'kaizen: revert "Make requests fast"',
      'kaizen: Make requests fast',
      expect.stringMatching(/^kaizen: Enable the response cache: latency_p50_ms at [\d.]+ ms for \d+h\d*m?$/),
      'demo target: initial import',
    ]);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(out).toContain('kaizen demo: demo target stopped; files left in');
    expect(existsSync(path.join(repo, 'run', 'demo.pid'))).toBe(false);
    expect(demo.err()).toBe('');
  }, 180_000);

  it('stops the daemon and the target when interrupted mid-story, and says so', async () => {
    const dir = path.join(tempDir(), 'demo');
    const demo = startDemo(['--dir', dir, '--exit']);
    await demo.waitFor(/== Propose, guard, apply, validate/);

    demo.child.kill('SIGINT');

    expect(await demo.exited).toBe(130);
    expect(demo.err()).toBe('kaizen: the demo was interrupted; the daemon and the demo target are stopped\n');
    expect(demo.out()).toContain('kaizen demo: demo target stopped; files left in');
    expect(existsSync(path.join(dir, 'target', 'run', 'demo.pid'))).toBe(false);
    expect(existsSync(path.join(dir, '.kaizen', 'kaizen.lock'))).toBe(false);
  }, 120_000);

  it('says which option to change when --port is taken, and stops the target it started', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const dir = path.join(tempDir(), 'demo');
      const demo = startDemo(['--dir', dir, '--port', String(port), '--exit']);

      expect(await demo.exited).toBe(78);
      expect(demo.err()).toBe(
        `kaizen: cannot listen on 127.0.0.1:${port}: the port is in use; stop the other process or choose another --port\n`,
      );
      expect(existsSync(path.join(dir, 'target', 'run', 'demo.pid'))).toBe(false);
      expect(existsSync(path.join(dir, '.kaizen', 'kaizen.lock'))).toBe(false);
    } finally {
      taken.close();
    }
  }, 120_000);

  it('refuses bad options before starting anything', () => {
    const dir = path.join(tempDir(), 'demo');

    const scale = spawnCli(['demo', '--dir', dir, '--time-scale', 'fast'], { clock: 'system' });
    const window = spawnCli(['demo', '--dir', dir, '--window', '1m'], { clock: 'system' });
    const tooFast = spawnCli(['demo', '--dir', dir, '--time-scale', '5000'], { clock: 'system' });
    const port = spawnCli(['demo', '--dir', dir, '--port', '70000'], { clock: 'system' });

    expect(scale.code).toBe(64);
    expect(scale.err).toBe('kaizen: --time-scale "fast": expected a number from 1 to 100000\n');
    expect(window.code).toBe(64);
    expect(window.err).toBe('kaizen: --window "1m": expected a duration from 10m to 24h, such as 1h\n');
    expect(tooFast.code).toBe(64);
    expect(tooFast.err).toBe(
      'kaizen: --time-scale 5000 with --window 1h: the window would last 720ms of real time and need a sample every 6 ms, faster than a real target answers reliably; lower --time-scale or lengthen --window (the window needs at least 6s of real time)\n',
    );
    expect(port.code).toBe(64);
    expect(port.err).toBe('kaizen: --port "70000": expected a port number from 0 (any free one) to 65535\n');
    expect(existsSync(dir)).toBe(false);
  });
});
