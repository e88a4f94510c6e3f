import { chmodSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeConfig } from '../../test/helpers/config.js';
import { gitRepo } from '../../test/helpers/git.js';
import { proposal } from '../../test/helpers/target.js';
import { Proposal } from '../propose/proposal.js';
import { executedFiles } from './executed.js';
import { loadPolicy } from './policy.js';
import { assessRisk } from './risk.js';

function target() {
  const repo = gitRepo({
    'ship.sh': '#!/bin/sh\n./lib/restart.sh web\nnode scripts/notify.mjs\ncat config.json\n',
    'lib/restart.sh': '#!/bin/sh\nsystemctl restart "$1"\n',
    'scripts/notify.mjs': "console.log('deployed');\n",
    'ops/flush.py': 'print("flush")\n',
    'ops/warm.py': 'print("warm")\n',
    'probe/queue-depth': 'echo 3\n',
    'config.json': '{ "cacheSize": 1 }\n',
    'src/app.js': 'export const a = 1;\n',
  });
  chmodSync(path.join(repo, 'probe/queue-depth'), 0o755);
  const config = writeConfig({
    target: {
      name: 'app',
      repo,
      deploy: { command: ['./ship.sh', '--fast'] },
      runbooks: {
        flush: { command: ['python3', 'ops/flush.py'], inverse: ['python3', 'ops/warm.py'] },
      },
    },
    signals: [
      {
        name: 'queue_depth',
        source: { kind: 'command', command: ['./queue-depth'], cwd: 'probe' },
        unit: 'jobs',
        direction: 'lower_is_better',
      },
    ],
  });
  return config.targets[0]!;
}

describe('executedFiles: what the target’s config makes kaizen run', () => {
  it('finds the deploy script and the scripts it names, runbooks both ways, and command signals', () => {
    const files = executedFiles(target());
    const why = Object.fromEntries(files.map((f) => [f.rel, f.why]));

    expect(why['ship.sh']).toBe('the deploy command runs it');
    expect(why['lib/restart.sh']).toBe('ship.sh names it, and the deploy command runs it');
    expect(why['scripts/notify.mjs']).toBe('ship.sh names it, and the deploy command runs it');
    expect(why['ops/flush.py']).toBe('runbook flush runs it');
    expect(why['ops/warm.py']).toBe("runbook flush's inverse runs it");
    expect(why['probe/queue-depth']).toBe('signal queue_depth runs it');
    // Data a script reads is not code it runs; flags are not files.
    expect(why['config.json']).toBeUndefined();
    expect(why['src/app.js']).toBeUndefined();
    expect(Object.keys(why).some((k) => k.includes('--fast'))).toBe(false);
  });

  it('makes a change to any of them high risk, saying why, however small and whatever it is called', () => {
    const t = target();
    const policy = loadPolicy({ guard: { shadow: false } }, {});
    const edit = (p: string) =>
      Proposal.parse(
        proposal({ kind: 'edit', changes: [{ kind: 'edit', path: p, search: 'web', replace: 'api' }] }),
      );

    const risk = assessRisk(edit('lib/restart.sh'), policy, { executed: executedFiles(t) });
    const plain = assessRisk(edit('src/app.js'), policy, { executed: executedFiles(t) });

    expect(risk).toMatchObject({ declared: 'low', floor: 'high', effective: 'high' });
    expect(risk.reasons).toEqual([
      'touches lib/restart.sh, which kaizen runs (ship.sh names it, and the deploy command runs it): a person reviews code kaizen would execute',
    ]);
    expect(plain.floor).toBe('low');
  });
});
