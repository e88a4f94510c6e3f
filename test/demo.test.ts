import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

describe('kaizen demo', () => {
  it('starts the demo target, samples every source kind live and stops it again', () => {
    const dir = path.join(tempDir(), 'demo');

    const r = spawnCli(['demo', '--dir', dir, '--ticks', '2', '--interval', '300ms']);

    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const status = r.out.slice(r.out.indexOf('== Status'));
    for (const name of [
      'latency_p95_ms',
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
    expect(status).toMatch(/error_rate .*(ALERT > 0\.05|ok)/);
    expect(r.out).toContain('kaizen demo: demo target stopped; files left in');
    expect(existsSync(path.join(dir, 'target', '.git'))).toBe(true);
    expect(existsSync(path.join(dir, 'target', 'run', 'demo.pid'))).toBe(false);
  });

  it('refuses a bad --ticks value before starting anything', () => {
    const dir = path.join(tempDir(), 'demo');

    const r = spawnCli(['demo', '--dir', dir, '--ticks', 'many']);

    expect(r.code).toBe(64);
    expect(r.err).toBe('kaizen: --ticks many: expected a whole number from 1 to 1000\n');
    expect(existsSync(dir)).toBe(false);
  });
});
