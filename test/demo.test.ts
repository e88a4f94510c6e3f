import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/cli.js';
import { git } from './helpers/git.js';
import { tempDir } from './helpers/temp.js';

describe('kaizen demo', () => {
  it('observes the live target, applies and validates a good change, auto-reverts a breaking one', () => {
    const dir = path.join(tempDir(), 'demo');

    const r = spawnCli(['demo', '--dir', dir, '--ticks', '2', '--interval', '300ms', '--window', '8s']);

    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const status = r.out.slice(r.out.indexOf('== Status'), r.out.indexOf('== Baseline'));
    for (const name of [
      'latency_p50_ms',
      'error_rate',
      'errors_per_s',
      'jobs_per_s',
      'error_log_lines',
      'worker_lock_age_s',
      'rss_mb',
      'commits',
    ]) {
      expect(status).toMatch(new RegExp(`demo\\s+${name}\\s+\\d`));
    }
    expect(r.out).toMatch(/K0001 validated: latency_p50_ms fell [\d.]+ %/);
    expect(r.out).toMatch(
      /K0002 Make requests fast\n.*\n {2}ROLLED BACK: commit [0-9a-f]{7} reverted by [0-9a-f]{7}; healthy again/,
    );
    expect(r.out).toContain('kaizen doctor: all invariants hold over 2 intervention(s)');
    // Learn: the validated cache change and the rolled-back deploy each leave a lesson on file.
    expect(r.out).toMatch(/distill run 1: 2 intervention\(s\) finished so far reviewed \(rules\)\n {2}new lessons: (D-[0-9a-f]{8}), (D-[0-9a-f]{8})\n/);
    expect(r.out).toContain('escaped the guard: K0002 (rolled_back)');
    const lessonFiles = readdirSync(path.join(dir, '.kaizen', 'lessons'));
    expect(lessonFiles).toHaveLength(2);
    // The weekly report of the demo's own week, written where it says, with its charts.
    const html = /weekly report: (.*\.html)\n/.exec(r.out)?.[1];
    expect(html).toMatch(new RegExp(`^${path.join(dir, '.kaizen', 'reports')}/weekly-\\d{4}-W\\d{2}\\.html$`));
    expect(readFileSync(html!, 'utf8')).toContain('<svg');
    expect(r.out).toMatch(/in Markdown: {3}.*\.md\n/);
    const repo = path.join(dir, 'target');
    expect(git(repo, 'log', '--format=%s').split('\n')).toEqual([
      'kaizen: revert "Make requests fast"',
      'kaizen: Make requests fast',
      expect.stringMatching(/^kaizen: Enable the response cache: latency_p50_ms at [\d.]+ ms for [\d.]+s$/),
      'demo target: initial import',
    ]);
    expect(r.out).toContain('rule latency_cache: fired: latency_p50_ms above 30 for 5s');
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(r.out).toContain('kaizen demo: demo target stopped; files left in');
    expect(existsSync(path.join(repo, 'run', 'demo.pid'))).toBe(false);
  });

  it('refuses bad options before starting anything', () => {
    const dir = path.join(tempDir(), 'demo');

    const ticks = spawnCli(['demo', '--dir', dir, '--ticks', 'many']);
    const window = spawnCli(['demo', '--dir', dir, '--window', '1s']);

    expect(ticks.code).toBe(64);
    expect(ticks.err).toBe('kaizen: --ticks many: expected a whole number from 1 to 1000\n');
    expect(window.code).toBe(64);
    expect(window.err).toBe('kaizen: --window "1s": expected a duration from 3s to 10m, such as 10s\n');
    expect(existsSync(dir)).toBe(false);
  });
});
