import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SimulatedClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { proposeCycle } from '../src/propose/cycle.js';
import { runCliAt } from './helpers/cli.js';
import { reply, startFakeLlm, type FakeLlm } from './helpers/fake-llm.js';
import { proposal, targetFixture, type TargetFixture } from './helpers/target.js';
import { snapshot, snapshotDiff } from './hostile/world.js';

/*
 * The same hostile proposals by the two other roads into the gate: a model's answer in a Propose
 * cycle (through the real SDK, against a local server speaking its wire format) and a person's
 * `kaizen propose --file`. Each is refused for its reason, the CLI's exit code says which way, and
 * not a byte of the repo or its remote changes.
 */

interface Case {
  name: string;
  proposal: Record<string, unknown>;
  /** rejected: the first guard reason starts with it; backlog: the first reason contains it; invalid: a problem contains it. */
  expect: { outcome: 'rejected' | 'backlog' | 'invalid'; text: string };
}

const write = (p: string, content: string, o: Record<string, unknown> = {}) =>
  proposal({
    title: `Write ${p}`,
    area: 'app',
    kind: 'write',
    changes: [{ kind: 'write', path: p, content }],
    ...o,
  });
const edit = (p: string, search: string, replace: string, o: Record<string, unknown> = {}) =>
  proposal({
    title: `Edit ${p}`,
    area: 'app',
    kind: 'edit',
    changes: [{ kind: 'edit', path: p, search, replace }],
    ...o,
  });

const CASES: Case[] = [
  {
    name: '.gitmodules (git reads it as configuration)',
    proposal: write('.gitmodules', '[submodule "x"]\n\tupdate = !touch /tmp/kaizen-pwned\n'),
    expect: { outcome: 'rejected', text: 'path: .gitmodules is read by git itself' },
  },
  {
    name: 'a diff driver in a new .gitattributes',
    proposal: write('src/.gitattributes', '*.js diff=sneaky\n', { area: 'attrs' }),
    expect: { outcome: 'rejected', text: 'git: src/.gitattributes: the change adds "*.js diff=sneaky"' },
  },
  {
    name: 'a file git ignores',
    proposal: write('deployed.json', '{}\n', { area: 'ignored' }),
    expect: {
      outcome: 'rejected',
      text: 'git: deployed.json is ignored by git (.gitignore:1: deployed.json)',
    },
  },
  {
    name: 'the deploy script kaizen runs next, claimed low',
    proposal: edit('deploy.js', "'utf8'", "'latin1'", { area: 'deploy' }),
    expect: { outcome: 'backlog', text: 'touches deploy.js, which kaizen runs (the deploy command runs it)' },
  },
  {
    name: 'package.json scripts, claimed low',
    proposal: edit('package.json', '"commonjs"', '"commonjs", "scripts": { "postinstall": "sh evil.sh" }', {
      area: 'build',
    }),
    expect: { outcome: 'backlog', text: 'touches package.json (schema, migration, build, deploy or CI)' },
  },
  {
    name: 'a new test file replacing checks, claimed low',
    proposal: write('test/app.test.js', '// removed\n', { area: 'tests' }),
    expect: { outcome: 'backlog', text: 'touches test files (test/app.test.js)' },
  },
  {
    name: 'terminal escapes in the title',
    proposal: proposal({ title: 'Tune \u001b]0;approved\u0007 cache' }),
    expect: { outcome: 'invalid', text: 'title: contains the control character \\u001b at position 5' },
  },
];

const runtimes: Runtime[] = [];
const llms: FakeLlm[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) rt.close();
  for (const l of llms.splice(0)) await l.close();
});

/** The repo and its remote, byte for byte (the data folder lives beside them). */
function landmarks(fx: TargetFixture) {
  return { repo: snapshot(fx.repo), remote: snapshot(fx.remote) };
}
function changed(fx: TargetFixture, before: ReturnType<typeof landmarks>): string[] {
  const after = landmarks(fx);
  return [...snapshotDiff(before.repo, after.repo), ...snapshotDiff(before.remote, after.remote)];
}

describe('hostile proposals by every road', () => {
  it('a model’s answers in Propose cycles are refused for their reasons, and nothing changes', async () => {
    const llm = await startFakeLlm();
    llms.push(llm);
    const fx = await targetFixture({ config: { proposer: { provider: 'anthropic', baseUrl: llm.url } } });
    const clock = new SimulatedClock();
    const rt = fx.runtime(clock);
    runtimes.push(rt);
    fx.git('status', '--porcelain'); // refresh the index's stat cache before the snapshot
    const before = landmarks(fx);

    for (const c of CASES) {
      // An answer the schema refuses gets one repair round: the model insists.
      const rounds = c.expect.outcome === 'invalid' ? 2 : 1;
      for (let i = 0; i < rounds; i++) llm.queue(reply.tool({ proposals: [c.proposal] }));
      const r = await proposeCycle(
        { ...rt, env: { ANTHROPIC_API_KEY: 'sk-ant-test-key' } },
        rt.config.targets[0]!,
      );
      await clock.advance(60_000);

      if (c.expect.outcome === 'invalid') {
        expect(r.submitted, c.name).toEqual([]);
        expect(r.note, c.name).toContain("the model's answer was invalid twice");
        expect(r.note, c.name).toContain(c.expect.text.replace(/^title:/, 'proposals[0].title:'));
        continue;
      }
      const iv = r.submitted[0]!.intervention;
      const guard = r.submitted[0]!.guard;
      const reasons = guard.decision === 'pass' ? [] : guard.reasons;
      expect(iv.state, `${c.name}: ${reasons.join('; ')}`).toBe(
        c.expect.outcome === 'rejected' ? 'rejected' : 'backlog',
      );
      if (c.expect.outcome === 'rejected')
        expect(reasons[0]).toMatch(new RegExp(`^${escape(c.expect.text)}`));
      else expect(reasons[0]).toContain(c.expect.text);
    }

    expect(changed(fx, before)).toEqual([]);
  });

  it('kaizen propose --file refuses them too, and its exit code says how: 10 rejected, 11 backlog, 65 invalid', async () => {
    const fx = await targetFixture();
    fx.git('status', '--porcelain');
    const before = landmarks(fx);

    for (const [i, c] of CASES.entries()) {
      const file = path.join(fx.dir, `case-${i}.yaml`);
      writeFileSync(file, stringify(c.proposal));
      const r = await runCliAt(
        'system',
        'propose',
        '--file',
        file,
        '--by',
        'tester',
        '--config',
        fx.configPath,
      );

      const code = { rejected: 10, backlog: 11, invalid: 65 }[c.expect.outcome];
      expect({ case: c.name, code: r.code }).toEqual({ case: c.name, code });
      expect(r.out + r.err, c.name).toContain(c.expect.text);
    }

    expect(changed(fx, before)).toEqual([]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
