import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../src/clock.js';
import { runCliAt, spawnCli } from './helpers/cli.js';
import { writeConfig } from './helpers/config.js';

/*
 * The suite must pass on any date (issue 11: a spawned CLI on today's clock over a scene built on
 * a fixed date passed the day it was written and failed 30 days later). .ci/run also runs the
 * suite under faketime, a year ahead and across a new year and a DST change; these tests hold the
 * one mechanism that hands a scene's time to kaizen in place.
 */

const TEST_ROOT = import.meta.dirname;
const REPO_ROOT = path.resolve(TEST_ROOT, '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : testFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('the time a test hands to kaizen', () => {
  it('reaches a spawned CLI and an in-process one: the weekly report covers the scene’s last week, not today’s', async () => {
    const config = writeConfig({ proposer: { provider: 'rules' } });
    const clock = new SimulatedClock('2031-03-05T12:00:00Z'); // a Wednesday in 2031-W10

    const child = spawnCli(['report', 'weekly', '--json', '--config', config.configPath], { clock });
    const inProcess = await runCliAt(clock, 'report', 'weekly', '--json', '--config', config.configPath);

    expect(child.err).toBe('');
    expect(JSON.parse(child.out)).toMatchObject({ week: '2031-W09' });
    expect(JSON.parse(inProcess.out)).toMatchObject({ week: '2031-W09' });
  });

  it('is refused, with what to set, when KAIZEN_CLOCK_START cannot be read', () => {
    const config = writeConfig({ proposer: { provider: 'rules' } });

    const r = spawnCli(['status', '--config', config.configPath], {
      clock: 'system',
      env: { KAIZEN_CLOCK_START: 'next tuesday' },
    });

    expect(r.code).toBe(64);
    expect(r.err).toBe(
      'kaizen: KAIZEN_CLOCK_START="next tuesday": expected an ISO-8601 time with a zone, such as 2026-11-02T12:00:00Z, or milliseconds since the epoch; unset it to run on the system clock\n',
    );
  });

  it('is the only way a test starts kaizen: no test runs bin/kaizen.js except through test/helpers/cli.ts', () => {
    const helper = path.join(TEST_ROOT, 'helpers', 'cli.ts');
    const files = [...testFiles(TEST_ROOT), ...testFiles(path.join(REPO_ROOT, 'src'))].filter(
      (f) => f !== helper && f !== import.meta.filename,
    );

    const offenders = files.filter((f) =>
      /['"`][^'"`\n]*bin\/kaizen\.js|['"`]kaizen\.js['"`]|\bBIN\b/.test(readFileSync(f, 'utf8')),
    );

    expect(
      offenders.map((f) => path.relative(REPO_ROOT, f)),
      'start kaizen with spawnCli/spawnKaizen (they require the scene’s clock or an explicit "system")',
    ).toEqual([]);
  });
});
