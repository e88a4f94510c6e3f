import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DateTime } from 'luxon';
import { describe, expect, it, onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { writeConfig } from '../../../test/helpers/config.js';
import { gitRepo } from '../../../test/helpers/git.js';
import { proposal } from '../../../test/helpers/target.js';
import { tempDir } from '../../../test/helpers/temp.js';
import { SimulatedClock } from '../../clock.js';
import { loadConfig } from '../../config/load.js';
import type { KaizenConfig, TargetConfig } from '../../config/schema.js';
import type { State } from '../../loop/states.js';
import { CHANGE_KINDS, Proposal, fingerprint, type ChangeKind } from '../../propose/proposal.js';
import { openStore, type Store } from '../../store/index.js';
import type { Intervention } from '../../store/interventions.js';
import { guardContext } from '../gate.js';
import { loadPolicy, type GuardPolicy } from '../policy.js';
import type { GuardCheck, GuardContext } from '../types.js';
import { appliesCheck } from './applies.js';
import { approvalCheck } from './approval.js';
import { budgetCheck } from './budget.js';
import { canaryCheck } from './canary.js';
import { concurrencyCheck } from './concurrency.js';
import { dedupCheck } from './dedup.js';
import { repeatCheck } from './repeat.js';
import { lessonsCheck } from './lessons.js';
import { Lesson } from '../../propose/context/lesson.js';
import { freezeCheck } from './freeze.js';
import { kindCheck } from './kind.js';
import { pathCheck } from './path.js';
import { gitCheck } from './git.js';
import { overlapCheck } from './overlap.js';
import { rollbackCheck } from './rollback.js';

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const berlin = (iso: string) => DateTime.fromISO(iso, { zone: 'Europe/Berlin' }).toMillis();

const FILES: Record<string, string> = {
  'config.json': JSON.stringify({ cacheSize: 0, ttl: 60 }, null, 2) + '\n',
  'src/app.js': "export const greeting = 'hello';\nexport const retries = 3;\nexport const maxRetries = 3;\n",
  'app/settings.yaml': 'worker:\n  interval_ms: 1000\n',
  'broken.json': '{ "cacheSize": ',
};

const RUNBOOKS = {
  restart_worker: { command: ['./ctl', 'restart', 'worker'], inverse: ['./ctl', 'start', 'worker'] },
  flush_cache: { command: ['./ctl', 'flush'], inverse: ['./ctl', 'warm'] },
};

interface Env {
  repo: string;
  config: KaizenConfig;
  target: TargetConfig;
  store: Store;
  policy: GuardPolicy;
}

/** A real git repo and a real store; targets `app` (the one guarded) and `other`, on the same repo. */
function env(
  opts: { timeZone?: string; target?: Record<string, unknown>; config?: KaizenConfig; git?: boolean } = {},
): Env {
  let config = opts.config;
  if (!config) {
    const repo = opts.git ? gitRepo(FILES) : plainRepo(FILES);
    config = writeConfig({
      timeZone: opts.timeZone ?? 'UTC',
      target: undefined,
      signals: undefined,
      targets: [
        { name: 'app', repo, ...opts.target },
        { name: 'other', repo },
      ],
    });
  }
  const store = openStore(config.dataDir, { now: NOW });
  onTestFinished(() => store.close());
  for (const t of config.targets) store.catalog.sync(t, NOW);
  const target = config.targets[0]!;
  return { repo: target.repoPath, config, target, store, policy: loadPolicy(config, target) };
}

/** A real git repo, for the checks that read the repo (path, applies). */
const gitEnv = (opts: Parameters<typeof env>[0] = {}) => env({ ...opts, git: true });

/** The same files in a plain folder: the other checks never read the repo. */
function plainRepo(files: Record<string, string>): string {
  const dir = tempDir('kaizen-plain-');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** The context the gate would build, for one proposal (fixture defaults, overridden). */
function ctx(e: Env, input: Record<string, unknown> = {}, extra: Partial<GuardContext> = {}): GuardContext {
  const p = Proposal.parse(proposal(input));
  const policy = extra.policy ?? e.policy;
  return {
    ...guardContext(
      { store: e.store, now: NOW },
      { proposal: p, target: e.target, config: e.config, policy, lessons: [] },
    ),
    ...extra,
  };
}

/** An intervention created at `at` and walked through `states`, each step at `at`. */
function seed(
  e: Env,
  at: number,
  states: State[] = [],
  input: Record<string, unknown> = {},
  target = 'app',
): Intervention {
  const p = Proposal.parse(proposal(input));
  let iv = e.store.interventions.create(
    {
      target,
      proposal: p,
      fingerprint: fingerprint(p),
      origin: 'rules',
      baseSha: null,
      actor: 'kaizen',
      reason: 'seeded',
    },
    at,
  );
  for (const s of states) iv = e.store.interventions.transition(iv.id, s, at, 'kaizen', `to ${s}`);
  return iv;
}

const APPLIED: State[] = ['applying', 'applied', 'validated'];
const ROLLED_BACK: State[] = ['applying', 'rolled_back'];
const REVERTED: State[] = ['applying', 'applied', 'reverted'];

const pass = (reason: string) => ({ decision: 'pass', reason });
const defer = (reason: string) => ({ decision: 'defer', reason });
const reject = (reason: string) => ({ decision: 'reject', reason });
const run = (check: GuardCheck, c: GuardContext) => check.check(c);

const editOf = (p: string, search = 'x', replace = 'y') => ({
  kind: 'edit',
  changes: [{ kind: 'edit', path: p, search, replace }],
});
const writeOf = (p: string, content = 'text\n') => ({
  kind: 'write',
  changes: [{ kind: 'write', path: p, content }],
});
const runbookOf = (action: string) => ({ kind: 'runbook', changes: [{ kind: 'runbook', action }] });
const setCache = (value: unknown) => ({
  changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value }],
});

describe('path check', () => {
  it('passes paths inside the repo, and skips runbook actions', () => {
    const e = gitEnv({ target: { runbooks: RUNBOOKS } });
    expect(run(pathCheck, ctx(e))).toEqual(pass('all paths inside the repo and allowed'));
    expect(run(pathCheck, ctx(e, writeOf('docs/new/notes.md')))).toEqual(
      pass('all paths inside the repo and allowed'),
    );
    expect(run(pathCheck, ctx(e, runbookOf('restart_worker')))).toEqual(
      pass('all paths inside the repo and allowed'),
    );
  });

  it.each([
    ['.ENV', '.ENV', '**/.env'],
    ['config/.Env.Production', 'config/.Env.Production', '**/.env.*'],
    ['src/../.env', '.env', '**/.env'],
    ['config\\.env', 'config/.env', '**/.env'],
    ['certs/Server.PEM', 'certs/Server.PEM', '**/*.pem'],
    ['keys/ID_RSA.pub', 'keys/ID_RSA.pub', '**/id_rsa*'],
    ['home/.SSH/authorized_keys', 'home/.SSH/authorized_keys', '**/.ssh/**'],
    ['deploy/Secrets/db.txt', 'deploy/Secrets/db.txt', '**/secrets/**'],
    ['app/my_secret_token.txt', 'app/my_secret_token.txt', '**/*secret*'],
    ['ops/Kaizen.YAML', 'ops/Kaizen.YAML', '**/kaizen.yaml'],
    ['.kaizen/kaizen.db', '.kaizen/kaizen.db', '**/.kaizen/**'],
    ['./.npmrc', '.npmrc', '**/.npmrc'],
  ])('rejects %s: it matches a blocked pattern, whatever its letter case or spelling', (p, rel, glob) => {
    const e = gitEnv();
    expect(run(pathCheck, ctx(e, writeOf(p)))).toEqual(
      reject(`${rel} matches the blocked pattern "${glob}"`),
    );
  });

  it('names the first refused path among several changes', () => {
    const e = gitEnv();
    const input = {
      kind: 'write',
      changes: [
        { kind: 'write', path: 'docs/a.md', content: 'a' },
        { kind: 'write', path: 'certs/b.key', content: 'b' },
        { kind: 'write', path: '.env', content: 'c' },
      ],
    };
    expect(run(pathCheck, ctx(e, input))).toEqual(
      reject('certs/b.key matches the blocked pattern "**/*.key"'),
    );
  });

  describe("kaizen's own files inside the target repo", () => {
    /** A repo holding kaizen's config (not named kaizen.yaml), data folder and guard policies. */
    function selfHosted(): Env {
      const repo = gitRepo(FILES);
      mkdirSync(path.join(repo, 'guard'));
      writeFileSync(path.join(repo, 'guard/policy.yaml'), 'dailyBudget: 4\n');
      writeFileSync(path.join(repo, 'guard/target.yaml'), 'maxConcurrent: 1\n');
      writeFileSync(
        path.join(repo, 'ops.yaml'),
        stringify({
          dataDir: 'var/kaizen',
          guard: { policy: 'guard/policy.yaml' },
          target: { name: 'app', repo: '.', guardPolicy: 'guard/target.yaml' },
          signals: [],
        }),
      );
      return env({ config: loadConfig(path.join(repo, 'ops.yaml')) });
    }

    it.each([
      ['ops.yaml', "ops.yaml is kaizen's config file"],
      ['var/kaizen/kaizen.db', "var/kaizen/kaizen.db is kaizen's data folder"],
      ['var/kaizen/reports/new.md', "var/kaizen/reports/new.md is kaizen's data folder"],
      ['var/kaizen', "var/kaizen is kaizen's data folder"],
      ['src/../var/kaizen/kaizen.db', "var/kaizen/kaizen.db is kaizen's data folder"],
      ['guard/policy.yaml', 'guard/policy.yaml is a kaizen guard policy'],
      ['guard/target.yaml', 'guard/target.yaml is a kaizen guard policy'],
    ])('rejects %s', (p, why) => {
      const e = selfHosted();
      expect(run(pathCheck, ctx(e, writeOf(p)))).toEqual(reject(`${why}: kaizen never modifies itself`));
    });

    it.each([['var/kaizen2/notes.md'], ['var/notes.md'], ['guard/policy.yaml.example'], ['ops.yaml.bak']])(
      'passes %s, which only shares a prefix',
      (p) => {
        const e = selfHosted();
        expect(run(pathCheck, ctx(e, writeOf(p)))).toEqual(pass('all paths inside the repo and allowed'));
      },
    );

    it('sees through a symlinked repo path to the data folder behind it', () => {
      const real = gitRepo(FILES);
      const alias = path.join(tempDir(), 'alias');
      symlinkSync(real, alias);
      const e = gitEnv({
        config: writeConfig({ dataDir: path.join(real, 'state'), target: { name: 'app', repo: alias } }),
      });
      expect(run(pathCheck, ctx(e, writeOf('state/kaizen.db')))).toEqual(
        reject("state/kaizen.db is kaizen's data folder: kaizen never modifies itself"),
      );
    });
  });

  it.each<[string, (repo: string, outside: string) => string]>([
    [
      'escape/secrets.txt',
      (_repo, outside) =>
        `path "escape/secrets.txt" is refused: escape is a symbolic link to ${outside}, outside the repository`,
    ],
    [
      'alias.json',
      () =>
        'path "alias.json" is refused: alias.json is a symbolic link (to config.json); kaizen does not write through links: change config.json instead',
    ],
    [
      '../outside.txt',
      () => 'path "../outside.txt" is refused: it leaves the repository (too many ".." segments)',
    ],
    [
      '/etc/passwd',
      () => 'path "/etc/passwd" is refused: it is absolute; expected a path relative to the repository root',
    ],
    [
      '.git/config',
      () => 'path ".git/config" is refused: it is inside a .git folder; kaizen never touches git internals',
    ],
  ])('rejects %s, which leaves the repo or goes through a link', (p, reason) => {
    const e = gitEnv();
    const outside = realpathSync(tempDir('kaizen-outside-'));
    writeFileSync(path.join(outside, 'secrets.txt'), 'x');
    symlinkSync(outside, path.join(e.repo, 'escape'));
    symlinkSync('config.json', path.join(e.repo, 'alias.json'));
    expect(run(pathCheck, ctx(e, writeOf(p)))).toEqual(reject(reason(e.repo, outside)));
  });
});

describe('kind check', () => {
  const inputs: Record<ChangeKind, Record<string, unknown>> = {
    edit: editOf('src/app.js', "'hello'", "'hi'"),
    write: writeOf('docs/new.md'),
    config_set: {},
    runbook: runbookOf('restart_worker'),
  };

  it.each(CHANGE_KINDS.map((k) => [k]))(
    'rejects kind %s when blockedKinds lists it, and only then',
    (kind) => {
      const e = env({ target: { runbooks: RUNBOOKS } });
      const blocked = { ...e.policy, blockedKinds: [kind] };
      expect(run(kindCheck, ctx(e, inputs[kind], { policy: blocked }))).toEqual(
        reject(`change kind "${kind}" is blocked by the guard policy (blockedKinds)`),
      );
      for (const other of CHANGE_KINDS.filter((k) => k !== kind)) {
        expect(run(kindCheck, ctx(e, inputs[other], { policy: blocked }))).toEqual(
          pass(`kind "${other}" allowed`),
        );
      }
    },
  );

  it('passes an allow-listed runbook action', () => {
    const e = env({ target: { runbooks: RUNBOOKS } });
    expect(run(kindCheck, ctx(e, runbookOf('flush_cache')))).toEqual(pass('kind "runbook" allowed'));
  });

  it.each([
    [
      'reboot_host',
      RUNBOOKS,
      'runbook action "reboot_host" is not on the allow-list of target app (known: restart_worker, flush_cache)',
    ],
    [
      'restart_worker',
      {},
      'runbook action "restart_worker" is not on the allow-list of target app (it has no runbooks)',
    ],
    // Names every object inherits are not runbooks either.
    [
      'constructor',
      {},
      'runbook action "constructor" is not on the allow-list of target app (it has no runbooks)',
    ],
    [
      'constructor',
      RUNBOOKS,
      'runbook action "constructor" is not on the allow-list of target app (known: restart_worker, flush_cache)',
    ],
  ])('rejects the unknown runbook action %s', (action, runbooks, reason) => {
    const e = env({ target: { runbooks } });
    expect(run(kindCheck, ctx(e, runbookOf(action)))).toEqual(reject(reason));
  });
});

describe('rollback check', () => {
  it('passes a commit, which git revert undoes', () => {
    const e = env();
    expect(run(rollbackCheck, ctx(e))).toEqual(pass('git revert of the commit'));
  });

  it.each([[''], ['   '], ['\n\t']])('rejects an empty rollback (%j)', (rollback) => {
    const e = env();
    expect(run(rollbackCheck, ctx(e, { rollback }))).toEqual(
      reject('the proposal says nothing about how to undo it (rollback is empty)'),
    );
    expect(run(rollbackCheck, ctx(e, { rollback: undefined }))).toEqual(
      reject('the proposal says nothing about how to undo it (rollback is empty)'),
    );
  });

  it('passes a runbook with an allow-listed inverse, and names it', () => {
    const e = env({ target: { runbooks: RUNBOOKS } });
    expect(run(rollbackCheck, ctx(e, { ...runbookOf('restart_worker'), rollback: 'the inverse' }))).toEqual(
      pass('inverse declared: ./ctl start worker'),
    );
  });

  it.each([['reboot_host'], ['constructor'], ['tostring']])(
    'rejects runbook %s without an allow-listed inverse',
    (action) => {
      const e = env({ target: { runbooks: RUNBOOKS } });
      expect(run(rollbackCheck, ctx(e, { ...runbookOf(action), rollback: 'undo it' }))).toEqual(
        reject('a runbook action needs an allow-listed runbook with a declared inverse'),
      );
    },
  );

  it.each([
    ['db/migrations/0042_add_index.sql'],
    ['db/migrate/20260105_users.rb'],
    ['prisma/schema.prisma'],
    ['DB/Schema/users.rb'],
    ['reports/cleanup.SQL'],
    // Spelled differently, still the same migration.
    ['./db/migrations/0042_add_index.sql'],
    ['src/../migrations/0001.py'],
    ['db\\migrations\\0042.sql'],
  ])('a migration (%s) needs a backup step', (p) => {
    const e = env();
    const input = { ...writeOf(p, 'ALTER TABLE users ADD COLUMN x int;\n'), risk: 'high' };
    const reason = `${p} is a schema or data migration: git revert does not undo data, so the proposal must name a backup step (backup)`;
    expect(run(rollbackCheck, ctx(e, input))).toEqual(reject(reason));
    expect(run(rollbackCheck, ctx(e, { ...input, backup: '  ' }))).toEqual(reject(reason));
    expect(run(rollbackCheck, ctx(e, { ...input, backup: 'pg_dump -Fc app > /backups/app.dump' }))).toEqual(
      pass('git revert of the commit, after backup: pg_dump -Fc app > /backups/app.dump'),
    );
  });

  it('names the migration among other changes', () => {
    const e = env();
    const input = {
      kind: 'write',
      changes: [
        { kind: 'write', path: 'docs/a.md', content: 'a' },
        { kind: 'write', path: 'db/migrations/7.sql', content: 'b' },
      ],
    };
    expect(run(rollbackCheck, ctx(e, input))).toEqual(
      reject(
        'db/migrations/7.sql is a schema or data migration: git revert does not undo data, so the proposal must name a backup step (backup)',
      ),
    );
  });
});

describe('git check', () => {
  it('refuses a path git ignores, naming the rule: kaizen could not commit it', () => {
    const e = gitEnv();
    writeFileSync(path.join(e.repo, '.gitignore'), '# build output\nbuild/\n*.log\n');

    expect(run(gitCheck, ctx(e, writeOf('build/app.js')))).toEqual(
      reject(
        'build/app.js is ignored by git (.gitignore:2: build/): kaizen could not commit it, and a change it cannot commit is not one it can undo',
      ),
    );
    expect(run(gitCheck, ctx(e, editOf('src/app.js', 'hello', 'hi')))).toEqual(
      pass('git commits it as written and runs nothing new'),
    );
  });

  it.each([
    ['adds a filter driver', '*.png binary\n', '*.png binary\n*.js filter=evil\n', '"*.js filter=evil"'],
    [
      'adds a diff driver through a macro',
      '',
      '[attr]sneaky diff=run\n*.md sneaky\n',
      '"[attr]sneaky diff=run"',
    ],
    ['changes a merge driver', '*.lock merge=ours\n', '*.lock merge=theirs\n', '"*.lock merge=theirs"'],
    ['removes a filter (lfs)', '*.bin filter=lfs diff=lfs\n', '', undefined],
  ])('refuses a .gitattributes change that %s', (_name, before, after, added) => {
    const e = gitEnv();
    writeFileSync(path.join(e.repo, '.gitattributes'), before);
    const verdict = run(gitCheck, ctx(e, writeOf('.gitattributes', after)));

    expect(verdict.decision).toBe('reject');
    expect(verdict.reason).toMatch(
      new RegExp(
        `^\\.gitattributes: the change ${added ? `adds ${added.replace(/[[\]*.]/g, '\\$&')}` : 'removes '}.*; attributes choose the filter, diff and merge drivers git runs as commands, so kaizen does not change them$`,
      ),
    );
  });

  it('lets a .gitattributes change through that names no driver', () => {
    const e = gitEnv();
    writeFileSync(path.join(e.repo, '.gitattributes'), '*.js filter=lfs\n');

    expect(run(gitCheck, ctx(e, writeOf('.gitattributes', '*.js   filter=lfs\n*.png binary\n')))).toEqual(
      pass('git commits it as written and runs nothing new'),
    );
  });

  it('refuses a .gitignore change that would un-ignore kaizen’s data folder or config in the repo', () => {
    const repo = gitRepo({ ...FILES, '.gitignore': 'node_modules/\n.kaizen/\nkaizen.yaml\n' });
    const config = writeConfig({ dataDir: '.kaizen', target: { name: 'app', repo: '.' } }, repo);
    const e = env({ config });

    const dropData = run(gitCheck, ctx(e, writeOf('.gitignore', 'node_modules/\nkaizen.yaml\n')));
    const negate = run(gitCheck, ctx(e, writeOf('sub/.gitignore', 'x\n')));
    const both = run(gitCheck, ctx(e, writeOf('.gitignore', 'node_modules/\n')));
    const harmless = run(
      gitCheck,
      ctx(e, writeOf('.gitignore', 'node_modules/\n.kaizen/\nkaizen.yaml\ndist/\n')),
    );

    expect(dropData).toEqual(
      reject(
        "the change would stop git ignoring kaizen's own .kaizen/: they would show as uncommitted changes and every later apply would stop as drift",
      ),
    );
    expect(negate.decision).toBe('pass');
    expect(both.reason).toContain("kaizen's own .kaizen/ and kaizen.yaml");
    expect(harmless).toEqual(pass('git commits it as written and runs nothing new'));
  });

  it('refuses a negation in a nested .gitignore on the way to kaizen’s data folder', () => {
    const repo = gitRepo({ ...FILES, '.gitignore': 'state/\n' });
    const config = writeConfig({ dataDir: 'ops/state', target: { name: 'app', repo: '.' } }, repo);
    const e = env({ config });

    const verdict = run(gitCheck, ctx(e, writeOf('ops/.gitignore', '!state/\n')));

    expect(verdict.reason).toContain("kaizen's own ops/state/");
  });
});

describe('overlap check', () => {
  it('waits while another change in the same area is applying or awaiting its verdict', () => {
    const e = env();
    const busy = seed(e, NOW - HOUR, ['applying', 'applied'], { area: 'cache', ...setCache(5) });

    const verdict = run(overlapCheck, ctx(e, { area: 'cache', ...editOf('src/app.js', 'hello', 'hi') }));

    expect(verdict).toEqual(
      defer(
        `area cache already has ${busy.id} applied and awaiting its verdict: two changes at once in one place could not be told apart, so this one waits until ${busy.id} is judged`,
      ),
    );
  });

  it('waits while another change touches the same path, whatever its area', () => {
    const e = env();
    const busy = seed(e, NOW - HOUR, ['applying'], { area: 'perf', ...setCache(5) });

    const verdict = run(overlapCheck, ctx(e, { area: 'cache', ...setCache(9) }));

    expect(verdict).toEqual(
      defer(
        `config.json already has ${busy.id} being applied: two changes at once in one place could not be told apart, so this one waits until ${busy.id} is judged`,
      ),
    );
  });

  it('passes when the others are elsewhere or finished, and leaves the guarded one out', () => {
    const e = env();
    seed(e, NOW - 2 * HOUR, APPLIED, setCache(1));
    seed(e, NOW - HOUR, ['applying', 'applied'], {
      area: 'perf',
      changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'w', value: 1 }],
    });
    const self = seed(e, NOW, ['applying'], setCache(3));

    expect(run(overlapCheck, ctx(e, setCache(3), { interventionId: self.id }))).toEqual(
      pass('nothing else is changing the same area or paths'),
    );
  });
});

describe('applies check', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['a config_set', {}, 'applies cleanly to 1 file(s)'],
    ['an edit', editOf('src/app.js', "'hello'", "'hi'"), 'applies cleanly to 1 file(s)'],
    ['a new file', writeOf('docs/new.md'), 'applies cleanly to 1 file(s)'],
    [
      'changes to two files',
      {
        kind: 'edit',
        changes: [
          { kind: 'edit', path: 'src/app.js', search: "'hello'", replace: "'hi'" },
          { kind: 'edit', path: 'app/settings.yaml', search: '1000', replace: '2000' },
          { kind: 'edit', path: 'src/app.js', search: 'retries = 3', replace: 'retries = 4' },
        ],
      },
      'applies cleanly to 2 file(s)',
    ],
  ])('passes %s', (_name, input, reason) => {
    const e = gitEnv();
    expect(run(appliesCheck, ctx(e, input))).toEqual(pass(reason));
  });

  it('passes a runbook: there is no file to change', () => {
    const e = gitEnv({ target: { runbooks: RUNBOOKS } });
    expect(run(appliesCheck, ctx(e, runbookOf('restart_worker')))).toEqual(pass('no file changes'));
  });

  it.each<[string, Record<string, unknown>, string | RegExp]>([
    ['search text not found', editOf('src/app.js', 'goodbye'), 'edit of src/app.js: search text not found'],
    [
      'search text not unique',
      editOf('src/app.js', '= 3;'),
      'edit of src/app.js: search text occurs 2 times; it must be unique (add surrounding lines to the search text)',
    ],
    [
      'an edit of a missing file',
      editOf('src/gone.js'),
      'edit of src/gone.js: the file does not exist; use a write change to create it',
    ],
    [
      'a config_set of a missing file',
      { changes: [{ kind: 'config_set', path: 'missing.json', key: 'a', value: 1 }] },
      'config_set of missing.json: the file does not exist; use a write change to create it',
    ],
    [
      'a change that changes nothing',
      setCache(0),
      'config_set of config.json: the change makes no difference',
    ],
    [
      'a config_set of a file that does not parse',
      { changes: [{ kind: 'config_set', path: 'broken.json', key: 'cacheSize', value: 1 }] },
      /^config_set of broken\.json: the file is not valid JSON \(.+\)$/,
    ],
  ])('rejects %s', (_name, input, reason) => {
    const e = gitEnv();
    const verdict = run(appliesCheck, ctx(e, input));
    expect(verdict.decision).toBe('reject');
    if (typeof reason === 'string') expect(verdict.reason).toBe(reason);
    else expect(verdict.reason).toMatch(reason);
  });

  it('reads the work tree as it is now, not the last commit', () => {
    const e = gitEnv();
    writeFileSync(path.join(e.repo, 'src/app.js'), "export const greeting = 'bonjour';\n");
    expect(run(appliesCheck, ctx(e, editOf('src/app.js', "'hello'", "'hi'")))).toEqual(
      reject('edit of src/app.js: search text not found'),
    );
    expect(run(appliesCheck, ctx(e, editOf('src/app.js', "'bonjour'", "'hi'")))).toEqual(
      pass('applies cleanly to 1 file(s)'),
    );
  });
});

describe('lessons check', () => {
  const lesson = (id: string, extra: Record<string, unknown> = {}) =>
    Lesson.parse({
      id,
      scope: 'cache',
      when: 'latency rises with an empty cache',
      prefer: 'warm the cache before raising its size',
      because: 'a cold cache of any size misses',
      falsifiable: 'true iff the hit rate rises within 10 minutes',
      source: 'human',
      status: 'active',
      created_at: '2026-01-01',
      ...extra,
    });

  it.each<[string, Record<string, unknown>, Lesson[], ReturnType<typeof pass> | ReturnType<typeof reject>]>([
    [
      'no lesson speaks to the change',
      {},
      [lesson('L1', { scope: 'db' })],
      pass('no lesson speaks to this change'),
    ],
    ['a lesson on its area is cited', { citesLessons: ['L1'] }, [lesson('L1')], pass('addresses L1')],
    [
      'a lesson on its predicted signal is argued against',
      { arguesAgainst: [{ lesson: 'L2', why: 'the cache is warm already' }] },
      [lesson('L2', { scope: 'x', signals: ['latency_ms'] })],
      pass('addresses L2'),
    ],
    [
      'a retired lesson is not in force',
      {},
      [lesson('L3', { status: 'retired' })],
      pass('no lesson speaks to this change'),
    ],
    [
      'a lesson on its area is ignored',
      {},
      [lesson('L1')],
      reject(
        'ignores L1 (warm the cache before raising its size): follow a lesson and cite it (citesLessons), or argue against it (arguesAgainst) with why',
      ),
    ],
    [
      'a cited lesson does not exist',
      { citesLessons: ['L9'] },
      [lesson('L1', { scope: 'db' })],
      reject('cites or argues against lessons that do not exist: L9'),
    ],
  ])('%s', (_name, input, lessons, verdict) => {
    const e = env();
    expect(run(lessonsCheck, ctx(e, input, { lessons }))).toEqual(verdict);
  });
});

describe('repeat check', () => {
  const DAY = 24 * HOUR;
  it.each<[string, State[], number, ReturnType<typeof pass> | ReturnType<typeof reject>]>([
    [
      'ended no_effect 3 days ago',
      ['applying', 'applied', 'no_effect'],
      3 * DAY,
      reject('repeats K0001, which ended no_effect 3d ago: the same change is not tried again within 14d'),
    ],
    [
      'was rolled back 13 days ago',
      ROLLED_BACK,
      13 * DAY,
      reject('repeats K0001, which ended rolled_back 13d ago: the same change is not tried again within 14d'),
    ],
    [
      'was validated (a success may be proposed again)',
      APPLIED,
      3 * DAY,
      pass('not a repeat of a failed change'),
    ],
    [
      'ended no_effect 15 days ago (outside the window)',
      ['applying', 'applied', 'no_effect'],
      15 * DAY,
      pass('not a repeat of a failed change'),
    ],
  ])('the same change that %s', (_name, states, age, verdict) => {
    const e = env();
    seed(e, NOW - age, states);
    expect(run(repeatCheck, ctx(e, { title: 'Try it again', area: 'elsewhere' }))).toEqual(verdict);
  });
});

describe('dedup check', () => {
  const twin = { title: 'Warm the cache', hypothesis: 'Cold cache.' };

  it.each([
    [
      '30m',
      30 * MIN,
      reject(
        'duplicate of K0001 (proposed, proposed 30m ago): the same change in area cache within the 2h dedup window',
      ),
    ],
    [
      '1h59m',
      2 * HOUR - MIN,
      reject(
        'duplicate of K0001 (proposed, proposed 1h59m ago): the same change in area cache within the 2h dedup window',
      ),
    ],
    [
      'exactly 2h',
      2 * HOUR,
      reject(
        'duplicate of K0001 (proposed, proposed 2h ago): the same change in area cache within the 2h dedup window',
      ),
    ],
    ['2h01m', 2 * HOUR + MIN, pass('no duplicate in the window')],
    ['a day', 24 * HOUR, pass('no duplicate in the window')],
  ])('the same change under another title proposed %s ago', (_name, age, verdict) => {
    const e = env();
    seed(e, NOW - age);
    expect(run(dedupCheck, ctx(e, twin))).toEqual(verdict);
  });

  it('counts a twin in any state, and names its state', () => {
    const e = env();
    seed(e, NOW - HOUR, ['rejected']);
    expect(run(dedupCheck, ctx(e, twin))).toEqual(
      reject(
        'duplicate of K0001 (rejected, proposed 1h ago): the same change in area cache within the 2h dedup window',
      ),
    );
  });

  it('recognises the same change written with its keys in another order', () => {
    const e = env();
    seed(e, NOW - HOUR);
    const reordered = {
      changes: [{ value: 200, path: 'config.json', kind: 'config_set', key: 'cacheSize' }],
    };
    expect(run(dedupCheck, ctx(e, reordered)).decision).toBe('reject');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['another value', setCache(300), 'app'],
    [
      'another key',
      { changes: [{ kind: 'config_set', path: 'config.json', key: 'ttl', value: 200 }] },
      'app',
    ],
    ['the same change for another target', {}, 'other'],
  ])('passes %s', (_name, input, seededTarget) => {
    const e = env();
    seed(e, NOW - HOUR, [], {}, seededTarget);
    expect(run(dedupCheck, ctx(e, input))).toEqual(pass('no duplicate in the window'));
  });

  it('refuses the same change proposed under another area name', () => {
    const e = env();
    const first = seed(e, NOW - HOUR);
    expect(run(dedupCheck, ctx(e, { area: 'perf' })).decision).toBe('reject');
    expect(run(dedupCheck, ctx(e, { area: 'perf' })).reason).toContain(`duplicate of ${first.id}`);
  });

  it('leaves the intervention being guarded out', () => {
    const e = env();
    const self = seed(e, NOW);
    expect(run(dedupCheck, ctx(e, {}, { interventionId: self.id }))).toEqual(
      pass('no duplicate in the window'),
    );
    const second = seed(e, NOW - MIN);
    expect(run(dedupCheck, ctx(e, {}, { interventionId: self.id }))).toEqual(
      reject(
        `duplicate of ${second.id} (proposed, proposed 1m ago): the same change in area cache within the 2h dedup window`,
      ),
    );
  });
});

describe('freeze check', () => {
  const T = NOW - 3 * HOUR;

  it('freezes the area for exactly 24h after three consecutive rollbacks', () => {
    const e = env();
    seed(e, T, ROLLED_BACK);
    seed(e, T + HOUR, REVERTED);
    seed(e, T + 2 * HOUR, ROLLED_BACK);
    const until = T + 2 * HOUR + 24 * HOUR;
    const frozen = defer(
      'area cache is frozen until 2026-01-06 11:00 UTC after 3 consecutive rollbacks (K0003, K0002, K0001)',
    );

    expect(run(freezeCheck, ctx(e, {}, { now: T + 2 * HOUR }))).toEqual(frozen);
    expect(run(freezeCheck, ctx(e, {}, { now: until - 1 }))).toEqual(frozen);
    // The freeze covers [last rollback, +24h): at the hour named in the message it is over.
    expect(run(freezeCheck, ctx(e, {}, { now: until }))).toEqual(pass('area cache is not frozen'));
    expect(run(freezeCheck, ctx(e, {}, { now: until + 1 }))).toEqual(pass('area cache is not frozen'));
  });

  it('names the end of the freeze in the configured time zone', () => {
    const e = env({ timeZone: 'Europe/Berlin' });
    for (let i = 0; i < 3; i++) seed(e, T + i * MIN, ROLLED_BACK);
    expect(run(freezeCheck, ctx(e))).toEqual(
      defer(
        'area cache is frozen until 2026-01-06 10:02 Europe/Berlin after 3 consecutive rollbacks (K0003, K0002, K0001)',
      ),
    );
  });

  it('two rollbacks are not yet a freeze', () => {
    const e = env();
    seed(e, T, ROLLED_BACK);
    seed(e, T + HOUR, ROLLED_BACK);
    expect(run(freezeCheck, ctx(e))).toEqual(pass('area cache is not frozen'));
  });

  it.each<[State[]]>([
    [APPLIED],
    [['applying', 'applied', 'no_effect']],
    [['applying', 'applied', 'inconclusive']],
  ])('a finished outcome in between (%j) resets the streak', (between) => {
    const e = env();
    seed(e, T, ROLLED_BACK);
    seed(e, T + 1 * MIN, between);
    seed(e, T + 2 * MIN, ROLLED_BACK);
    seed(e, T + 3 * MIN, ROLLED_BACK);
    expect(run(freezeCheck, ctx(e))).toEqual(pass('area cache is not frozen'));

    seed(e, T + 4 * MIN, REVERTED);
    expect(run(freezeCheck, ctx(e))).toEqual(
      defer(
        'area cache is frozen until 2026-01-06 09:04 UTC after 3 consecutive rollbacks (K0005, K0004, K0003)',
      ),
    );
  });

  it('orders by when the outcome came, not when the proposal was made', () => {
    const e = env();
    const first = seed(e, T); // proposed first, validated last
    seed(e, T + 1 * MIN, ROLLED_BACK);
    seed(e, T + 2 * MIN, ROLLED_BACK);
    seed(e, T + 3 * MIN, ROLLED_BACK);
    for (const s of APPLIED) e.store.interventions.transition(first.id, s, T + 10 * MIN, 'kaizen', s);
    expect(run(freezeCheck, ctx(e))).toEqual(pass('area cache is not frozen'));
  });

  it('interventions still under way neither count nor break the streak', () => {
    const e = env();
    for (let i = 0; i < 3; i++) seed(e, T + i * MIN, ROLLED_BACK);
    seed(e, T + 5 * MIN, ['applying']);
    seed(e, T + 6 * MIN, ['applying', 'applied']);
    seed(e, T + 7 * MIN, ['backlog']);
    expect(run(freezeCheck, ctx(e)).decision).toBe('defer');
  });

  it('freezes a path after three rollbacks of changes to it, whatever area each was labelled with', () => {
    const e = env();
    seed(e, T, ROLLED_BACK, { area: 'crashy' });
    seed(e, T + MIN, ROLLED_BACK, { area: 'crashy-two' });
    seed(e, T + 2 * MIN, REVERTED, { area: 'fresh-name' });

    const verdict = run(freezeCheck, ctx(e, { area: 'yet-another' }));

    expect(verdict).toEqual(
      defer(
        'config.json is frozen until 2026-01-06 09:02 UTC after 3 consecutive rollbacks of changes to it (K0003, K0002, K0001), whatever area they were labelled with',
      ),
    );
    // Another file in the same made-up area is not frozen by it.
    const other = {
      area: 'yet-another',
      changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'w', value: 1 }],
    };
    expect(run(freezeCheck, ctx(e, other))).toEqual(pass('area yet-another is not frozen'));
  });

  it.each([
    [
      'another area, on another file',
      { area: 'db', changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'w', value: 1 }] },
      'app',
    ],
    ['another target', {}, 'other'],
  ])('rollbacks in %s do not count', (_name, input, target) => {
    const e = env();
    seed(e, T, ROLLED_BACK);
    seed(e, T + MIN, ROLLED_BACK, input, target);
    seed(e, T + 2 * MIN, ROLLED_BACK);
    expect(run(freezeCheck, ctx(e))).toEqual(pass('area cache is not frozen'));
    expect(run(freezeCheck, ctx(e, { area: 'db' }))).toEqual(pass('area db is not frozen'));
  });

  it('follows the policy: after 2 rollbacks, for 1h', () => {
    const e = env();
    const policy = { ...e.policy, freeze: { after: 2, forMs: HOUR } };
    seed(e, NOW - 2 * HOUR, ROLLED_BACK);
    seed(e, NOW - 30 * MIN, ROLLED_BACK);
    expect(run(freezeCheck, ctx(e, {}, { policy }))).toEqual(
      defer('area cache is frozen until 2026-01-05 12:30 UTC after 2 consecutive rollbacks (K0002, K0001)'),
    );
    expect(run(freezeCheck, ctx(e, {}, { policy, now: NOW + 30 * MIN + 1 }))).toEqual(
      pass('area cache is not frozen'),
    );
  });
});

describe('canary check', () => {
  type Canaries = (string | { area: string; paths: string[] })[];
  const canaries = (e: Env, areas: Canaries) => ({
    ...e.policy,
    canaryAreas: areas.map((a) => (typeof a === 'string' ? { area: a } : a)),
  });
  const CACHE: Canaries = [{ area: 'cache', paths: ['config.json', 'cache/**'] }];

  it.each<[string, Record<string, unknown>, Canaries, ReturnType<typeof pass>]>([
    ['low risk anywhere', { area: 'perf' }, [], pass('low risk: no canary needed')],
    [
      'medium risk, its file behind the area’s canary',
      { risk: 'medium' },
      CACHE,
      pass("medium risk; config.json is behind area cache's canary"),
    ],
    [
      'high risk, its file behind the area’s canary',
      { risk: 'high' },
      CACHE,
      pass("high risk; config.json is behind area cache's canary"),
    ],
    [
      'medium risk as proposed, no canary',
      { risk: 'medium' },
      [],
      defer(
        'blocked on missing canary: medium risk (as proposed) and area cache has no canary (canaryAreas)',
      ),
    ],
    [
      'medium risk by its kind, in an area without canary',
      { ...writeOf('docs/new.md'), area: 'perf' },
      CACHE,
      defer('blocked on missing canary: medium risk (kind write) and area perf has no canary (canaryAreas)'),
    ],
    [
      'high risk for several reasons',
      { ...writeOf('db/migrations/1.sql'), backup: 'dump' },
      [],
      defer(
        'blocked on missing canary: high risk (kind write; touches db/migrations/1.sql (schema, migration, build, deploy or CI)) and area cache has no canary (canaryAreas)',
      ),
    ],
    [
      'service code labelled as the canary area: the label does not put it behind the canary',
      { ...editOf('src/app.js', 'hello', 'hi'), risk: 'medium' },
      CACHE,
      defer(
        "blocked on missing canary: medium risk (as proposed); src/app.js is not behind area cache's canary (its paths: config.json, cache/**)",
      ),
    ],
    [
      'one file behind the canary and one not',
      {
        kind: 'config_set',
        risk: 'medium',
        changes: [
          { kind: 'config_set', path: 'config.json', key: 'a', value: 1 },
          { kind: 'config_set', path: 'app/settings.yaml', key: 'b', value: 2 },
        ],
      },
      CACHE,
      defer(
        "blocked on missing canary: medium risk (as proposed); app/settings.yaml is not behind area cache's canary (its paths: config.json, cache/**)",
      ),
    ],
    [
      'a canary named without paths covers no file',
      { risk: 'medium' },
      ['cache'],
      defer(
        "blocked on missing canary: medium risk (as proposed); area cache's canary declares no paths, so nothing shows that config.json deploys through it (give it paths: canaryAreas: [{ area: cache, paths: [...] }])",
      ),
    ],
    [
      'a runbook in an area named as a canary',
      { area: 'cache', kind: 'runbook', changes: [{ kind: 'runbook', action: 'restart' }] },
      ['cache'],
      pass('medium risk; area cache has a canary'),
    ],
  ])('%s', (_name, input, areas, verdict) => {
    const e = env();
    expect(run(canaryCheck, ctx(e, input, { policy: canaries(e, areas) }))).toEqual(verdict);
  });
});

describe('approval check', () => {
  it.each<
    [string, Record<string, unknown>, 'low' | 'medium' | 'high', string | undefined, ReturnType<typeof pass>]
  >([
    ['low risk', {}, 'high', undefined, pass('low risk: no approval needed')],
    ['medium risk', { risk: 'medium' }, 'high', undefined, pass('medium risk: no approval needed')],
    [
      'high risk',
      { risk: 'high' },
      'high',
      undefined,
      defer('needs approval: high risk (approvalFrom: high)'),
    ],
    [
      'high risk by its floor, proposed as low',
      editOf('.github/workflows/ci.yml'),
      'high',
      undefined,
      defer('needs approval: high risk (approvalFrom: high)'),
    ],
    ['high risk, approved', { risk: 'high' }, 'high', 'alice', pass('approved by alice')],
    [
      'medium risk from approvalFrom medium',
      { risk: 'medium' },
      'medium',
      undefined,
      defer('needs approval: medium risk (approvalFrom: medium)'),
    ],
    [
      'low risk from approvalFrom low',
      {},
      'low',
      undefined,
      defer('needs approval: low risk (approvalFrom: low)'),
    ],
    ['low risk from approvalFrom low, approved', {}, 'low', 'bob', pass('approved by bob')],
  ])('%s', (_name, input, approvalFrom, approvedBy, verdict) => {
    const e = env();
    const policy = { ...e.policy, approvalFrom };
    expect(run(approvalCheck, ctx(e, input, { policy, ...(approvedBy ? { approvedBy } : {}) }))).toEqual(
      verdict,
    );
  });
});

describe('budget check', () => {
  /** `n` interventions that entered applying at `at` (and were then validated, so no slot is held). */
  const applies = (e: Env, n: number, at: number, target = 'app') => {
    for (let i = 0; i < n; i++) seed(e, at + i, APPLIED, setCache(1000 + i), target);
  };

  it('5 applies at 23:30 in Berlin spend the day: the 6th at 23:50 waits, at 00:10 it may go, though UTC is still on the same day', async () => {
    const e = env({ timeZone: 'Europe/Berlin' });
    const clock = new SimulatedClock(berlin('2026-01-05T23:30'));
    for (let i = 0; i < 5; i++) {
      seed(e, clock.now(), APPLIED, setCache(1000 + i));
      await clock.advance(MIN);
    }

    await clock.set(berlin('2026-01-05T23:50'));
    expect(run(budgetCheck, ctx(e, {}, { now: clock.now() }))).toEqual(
      defer('daily budget spent: 5 of 5 applies today (day began 2026-01-05 00:00 Europe/Berlin)'),
    );

    await clock.set(berlin('2026-01-06T00:10')); // 2026-01-05 23:10 UTC
    expect(run(budgetCheck, ctx(e, {}, { now: clock.now() }))).toEqual(pass('0 of 5 applies used today'));
    expect(run(budgetCheck, ctx(e, {}, { now: clock.now(), timeZone: 'UTC' }))).toEqual(
      defer('daily budget spent: 5 of 5 applies today (day began 2026-01-05 00:00 UTC)'),
    );
  });

  it('on the 25-hour day when Berlin leaves DST, applies just after midnight count until the next midnight', () => {
    const e = env({ timeZone: 'Europe/Berlin' });
    applies(e, 5, berlin('2026-10-25T00:05'));
    // 24h50m after the applies: a rolling 24h window would have forgotten them.
    expect(run(budgetCheck, ctx(e, {}, { now: berlin('2026-10-25T23:55') }))).toEqual(
      defer('daily budget spent: 5 of 5 applies today (day began 2026-10-25 00:00 Europe/Berlin)'),
    );
    expect(run(budgetCheck, ctx(e, {}, { now: berlin('2026-10-26T00:00') }))).toEqual(
      pass('0 of 5 applies used today'),
    );
  });

  it('on the 23-hour day when Berlin enters DST, the day began at local midnight, not UTC midnight', () => {
    const e = env({ timeZone: 'Europe/Berlin' });
    applies(e, 5, berlin('2026-03-29T00:30')); // 2026-03-28 23:30 UTC
    const late = berlin('2026-03-29T23:30');
    expect(run(budgetCheck, ctx(e, {}, { now: late }))).toEqual(
      defer('daily budget spent: 5 of 5 applies today (day began 2026-03-29 00:00 Europe/Berlin)'),
    );
    expect(run(budgetCheck, ctx(e, {}, { now: late, timeZone: 'UTC' }))).toEqual(
      pass('0 of 5 applies used today'),
    );
  });

  it('counts every intervention that entered applying today, however it ended, and nothing else', () => {
    const e = env();
    const today = Date.UTC(2026, 0, 5, 8);
    seed(e, today, APPLIED, setCache(1));
    seed(e, today, ['applying', 'failed'], setCache(2));
    seed(e, today, ROLLED_BACK, setCache(3));
    seed(e, today, ['backlog', 'applying', 'applied'], setCache(4));
    // Not applies: proposed, waiting, rejected today; applied yesterday; another target's applies.
    seed(e, today, [], setCache(5));
    seed(e, today, ['backlog'], setCache(6));
    seed(e, today, ['rejected'], setCache(7));
    applies(e, 3, Date.UTC(2026, 0, 4, 23, 59));
    applies(e, 3, today, 'other');
    expect(run(budgetCheck, ctx(e))).toEqual(pass('4 of 5 applies used today'));

    seed(e, Date.UTC(2026, 0, 5, 0, 0), APPLIED, setCache(8)); // at midnight exactly: today
    expect(run(budgetCheck, ctx(e))).toEqual(
      defer('daily budget spent: 5 of 5 applies today (day began 2026-01-05 00:00 UTC)'),
    );
  });

  it('counts by when the apply began, not when it was proposed', () => {
    const e = env();
    for (let i = 0; i < 5; i++) {
      const iv = seed(e, Date.UTC(2026, 0, 4, 10), ['backlog'], setCache(i));
      for (const s of APPLIED)
        e.store.interventions.transition(iv.id, s, Date.UTC(2026, 0, 5, 9), 'alice', s);
    }
    expect(run(budgetCheck, ctx(e)).decision).toBe('defer');
  });

  it('a budget of 0 allows nothing', () => {
    const e = env();
    expect(run(budgetCheck, ctx(e, {}, { policy: { ...e.policy, dailyBudget: 0 } }))).toEqual(
      defer('daily budget spent: 0 of 0 applies today (day began 2026-01-05 00:00 UTC)'),
    );
  });
});

describe('concurrency check', () => {
  it('passes with free slots', () => {
    const e = env();
    expect(run(concurrencyCheck, ctx(e))).toEqual(pass('0 of 2 slots in use'));
    seed(e, NOW - HOUR, ['applying']);
    expect(run(concurrencyCheck, ctx(e))).toEqual(pass('1 of 2 slots in use'));
  });

  it('defers when applying and applied interventions of the target fill the slots, and names them', () => {
    const e = env();
    seed(e, NOW - 2 * HOUR, ['applying']);
    seed(e, NOW - HOUR, ['applying', 'applied']);
    expect(run(concurrencyCheck, ctx(e))).toEqual(
      defer('concurrency limit: 2 of 2 interventions applying or awaiting validation (K0002, K0001)'),
    );
    expect(run(concurrencyCheck, ctx(e, {}, { policy: { ...e.policy, maxConcurrent: 3 } }))).toEqual(
      pass('2 of 3 slots in use'),
    );
  });

  it.each<[State[]]>([
    [[]],
    [['backlog']],
    [['rejected']],
    [['applying', 'failed']],
    [ROLLED_BACK],
    [APPLIED],
    [['applying', 'applied', 'no_effect']],
    [['applying', 'applied', 'inconclusive']],
    [REVERTED],
  ])('interventions that went %j hold no slot', (states) => {
    const e = env();
    seed(e, NOW - 2 * HOUR, states, setCache(1));
    seed(e, NOW - HOUR, states, setCache(2));
    expect(run(concurrencyCheck, ctx(e))).toEqual(pass('0 of 2 slots in use'));
  });

  it("another target's interventions hold none of this target's slots", () => {
    const e = env();
    seed(e, NOW - 2 * HOUR, ['applying'], {}, 'other');
    seed(e, NOW - HOUR, ['applying', 'applied'], {}, 'other');
    expect(run(concurrencyCheck, ctx(e))).toEqual(pass('0 of 2 slots in use'));
  });

  it('the intervention being guarded does not count against itself', () => {
    const e = env();
    seed(e, NOW - 2 * HOUR, ['applying']);
    const self = seed(e, NOW - HOUR, ['applying']);
    expect(run(concurrencyCheck, ctx(e, {}, { interventionId: self.id }))).toEqual(
      pass('1 of 2 slots in use'),
    );
  });
});
