import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { runDoctor } from '../src/loop/doctor.js';
import { submitProposal } from '../src/loop/submit.js';
import { git } from './helpers/git.js';
import { proposal, targetFixture } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';

/*
 * A repository whose .git/config includes a tracked file, and that file (planted by someone, or
 * changed by a proposal) sets the config that makes git run a program: core.fsmonitor runs on
 * status, add and commit; diff.external on a diff. kaizen must neither change such a file nor
 * let its own git commands run what one says.
 */

const runtimes: Runtime[] = [];
afterEach(() => {
  for (const rt of runtimes.splice(0)) rt.close();
});

async function plantedWorld() {
  const fx = await targetFixture();
  const markers = tempDir('kaizen-markers-');
  const fsmonitor = path.join(markers, 'fsmonitor-ran');
  const external = path.join(markers, 'external-diff-ran');
  mkdirSync(path.join(fx.repo, 'conf'), { recursive: true });
  writeFileSync(
    path.join(fx.repo, 'conf/git.inc'),
    `[core]\n\tfsmonitor = "touch ${fsmonitor}"\n[diff]\n\texternal = "touch ${external}"\n`,
  );
  git(fx.repo, 'add', 'conf/git.inc');
  git(fx.repo, '-c', 'core.fsmonitor=false', 'commit', '-q', '-m', 'shared git settings');
  git(fx.repo, '-c', 'core.fsmonitor=false', 'push', '-q', 'origin', 'main');
  git(fx.repo, 'config', 'include.path', '../conf/git.inc');
  const rt = fx.runtime(new SimulatedClock());
  runtimes.push(rt);
  const submit = (p: Record<string, unknown>) =>
    submitProposal(rt, { target: 'app', proposal: proposal(p), origin: 'test', actor: 'test' });
  return { fx, rt, fsmonitor, external, submit };
}

describe('a hostile git include', () => {
  it('cannot be changed by a proposal: the included file is refused, byte for byte as it was', async () => {
    const w = await plantedWorld();
    const before = readFileSync(path.join(w.fx.repo, 'conf/git.inc'), 'utf8');

    const r = await w.submit({
      title: 'Speed up git status',
      area: 'git',
      kind: 'edit',
      changes: [
        {
          kind: 'edit',
          path: 'conf/git.inc',
          search: '[diff]',
          replace: '[core]\n\thooksPath = conf\n[diff]',
        },
      ],
    });

    expect(r.intervention.state).toBe('rejected');
    expect(r.guard.decision === 'reject' && r.guard.reasons[0]).toBe(
      "path: conf/git.inc is read by git itself: git reads it as configuration (include.path in .git/config); a change there could make git run a command on kaizen's host, so kaizen never changes it",
    );
    expect(readFileSync(path.join(w.fx.repo, 'conf/git.inc'), 'utf8')).toBe(before);
    expect(existsSync(w.fsmonitor)).toBe(false);
  });

  it('runs nothing through kaizen’s git: an apply, a rollback with its revert, and doctor', async () => {
    const w = await plantedWorld();

    const good = await w.submit({
      title: 'More worker threads',
      area: 'worker',
      changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'worker.threads', value: 4 }],
    });
    const bad = await w.submit({
      title: 'Break health',
      area: 'health',
      changes: [{ kind: 'config_set', path: 'config.json', key: 'healthy', value: false }],
    });
    const doctor = await runDoctor(w.rt);

    expect(good.intervention.state).toBe('applied');
    expect(bad.intervention.state).toBe('rolled_back');
    expect(bad.intervention.revertSha).toMatch(/^[0-9a-f]{40}$/);
    expect(doctor.problems).toEqual([]);
    expect(existsSync(w.fsmonitor), 'core.fsmonitor ran through kaizen').toBe(false);
    expect(existsSync(w.external), 'diff.external ran through kaizen').toBe(false);

    // The planted config is live: plain git, as a person runs it, does run it.
    git(w.fx.repo, 'status', '--porcelain');
    expect(existsSync(w.fsmonitor)).toBe(true);
  });
});
