import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeConfig } from '../../test/helpers/config.js';
import { tempDir } from '../../test/helpers/temp.js';
import type { KaizenConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_POLICY_FILE, GuardPolicy, loadPolicy } from './policy.js';

const HOUR = 3_600_000;
const DEFAULTS = loadPolicy({ guard: { shadow: false } }, {});

/** A real config whose guard.policy and target guardPolicy files hold the given YAML. */
function configWith(files: { config?: string; target?: string }): KaizenConfig {
  const dir = tempDir();
  if (files.config !== undefined) writeFileSync(path.join(dir, 'policy.yaml'), files.config);
  if (files.target !== undefined) writeFileSync(path.join(dir, 'app-policy.yaml'), files.target);
  return writeConfig(
    {
      ...(files.config !== undefined ? { guard: { policy: 'policy.yaml' } } : {}),
      target: {
        name: 'app',
        repo: '.',
        ...(files.target !== undefined ? { guardPolicy: 'app-policy.yaml' } : {}),
      },
    },
    dir,
  );
}
const policyOf = (config: KaizenConfig) => loadPolicy(config, config.targets[0]!);

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, got none');
}

describe('the shipped policy', () => {
  it('is guards/default.yaml at the install root and parses as it is', () => {
    expect(DEFAULT_POLICY_FILE).toBe(path.resolve(import.meta.dirname, '../../guards/default.yaml'));
    expect(existsSync(DEFAULT_POLICY_FILE)).toBe(true);
    expect(GuardPolicy.parse(parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')))).toEqual(DEFAULTS);
  });

  it('holds the documented defaults', () => {
    expect(DEFAULTS).toMatchObject({
      blockedKinds: [],
      dailyBudget: 5,
      maxConcurrent: 2,
      dedupWindowMs: 2 * HOUR,
      freeze: { after: 3, forMs: 24 * HOUR },
      canaryAreas: [],
      approvalFrom: 'high',
      risk: { maxLowLines: 20, maxLowFiles: 2, mediumKinds: ['runbook', 'write'] },
    });
    for (const glob of ['**/.env', '**/*.pem', '**/kaizen.yaml', '**/.kaizen/**', '.git/**']) {
      expect(DEFAULTS.blockedPaths).toContain(glob);
    }
    for (const glob of ['**/migrations/**', '**/*.sql', '.github/**', '**/Dockerfile']) {
      expect(DEFAULTS.risk.highPaths).toContain(glob);
    }
    expect(DEFAULTS.risk.migrationPaths).toEqual([
      '**/migrations/**',
      '**/migrate/**',
      '**/*.sql',
      '**/schema.*',
      '**/schema/**',
    ]);
  });

  it('is what a config without policy files gets', () => {
    expect(policyOf(configWith({}))).toEqual(DEFAULTS);
  });
});

describe('override files', () => {
  it('replace lists and scalars, and merge risk and freeze key by key', () => {
    const policy = policyOf(
      configWith({
        config: [
          'blockedPaths: ["**/*.lock"]',
          'canaryAreas: [cache, { area: db, paths: ["db/**"] }]',
          'dailyBudget: 9',
          'dedupWindow: 30m',
          'risk:',
          '  maxLowLines: 50',
          '  highPaths: ["infra/**"]',
          'freeze:',
          '  after: 5',
        ].join('\n'),
      }),
    );

    expect(policy).toEqual({
      ...DEFAULTS,
      blockedPaths: ['**/*.lock'],
      canaryAreas: [{ area: 'cache' }, { area: 'db', paths: ['db/**'] }],
      dailyBudget: 9,
      dedupWindowMs: 30 * 60_000,
      risk: { ...DEFAULTS.risk, maxLowLines: 50, highPaths: ['infra/**'] },
      freeze: { after: 5, forMs: 24 * HOUR },
    });
  });

  it("the target's file overrides the config's, which overrides the default", () => {
    const policy = policyOf(
      configWith({
        config:
          'dailyBudget: 3\ncanaryAreas: [cache]\nrisk: { maxLowLines: 50, maxLowFiles: 4 }\nfreeze: { for: 2h }\n',
        target: 'dailyBudget: 1\nrisk: { maxLowFiles: 6 }\nfreeze: { after: 4 }\n',
      }),
    );

    expect(policy.dailyBudget).toBe(1);
    expect(policy.canaryAreas).toEqual([{ area: 'cache' }]);
    expect(policy.risk).toEqual({ ...DEFAULTS.risk, maxLowLines: 50, maxLowFiles: 6 });
    expect(policy.freeze).toEqual({ after: 4, forMs: 2 * HOUR });
    expect(policy.maxConcurrent).toBe(DEFAULTS.maxConcurrent);
  });

  it('an empty list replaces, it does not fall back', () => {
    const policy = policyOf(configWith({ config: 'blockedPaths: []\nrisk: { mediumKinds: [] }\n' }));
    expect(policy.blockedPaths).toEqual([]);
    expect(policy.risk.mediumKinds).toEqual([]);
    expect(policy.risk.highPaths).toEqual(DEFAULTS.risk.highPaths);
  });

  it('an empty file changes nothing', () => {
    expect(policyOf(configWith({ config: '', target: '# nothing here\n' }))).toEqual(DEFAULTS);
  });
});

describe('policy errors', () => {
  it('a missing policy file is named, with what to fix', () => {
    const config = writeConfig({ guard: { policy: 'nowhere.yaml' } });
    const file = path.join(path.dirname(config.configPath), 'nowhere.yaml');

    const err = errorOf(() => policyOf(config));

    expect(err.code).toBe('CONFIG_NOT_FOUND');
    expect(err.message).toBe(
      `guard policy file ${file} does not exist; fix guard.policy (or guardPolicy) in the config`,
    );
  });

  it('a missing target policy file is named too', () => {
    const config = writeConfig({ target: { name: 'app', repo: '.', guardPolicy: 'gone.yaml' } });
    const file = path.join(path.dirname(config.configPath), 'gone.yaml');
    expect(errorOf(() => policyOf(config)).message).toBe(
      `guard policy file ${file} does not exist; fix guard.policy (or guardPolicy) in the config`,
    );
  });

  it.each([
    ['dailyBudget: -1', 'dailyBudget', 'Too small: expected number to be >=0'],
    ['dailyBudget: 2.5', 'dailyBudget', 'Invalid input: expected int, received number'],
    ['maxConcurrent: 0', 'maxConcurrent', 'Too small: expected number to be >=1'],
    [
      'dedupWindow: soon',
      'dedupWindow',
      'expected a duration such as "30s", "5m", "2h" or "14d", got "soon"',
    ],
    ['dedupWindow: 7200', 'dedupWindow', 'expected a duration such as "30s", "5m", "2h" or "14d", got 7200'],
    [
      'freeze: { for: forever }',
      'freeze.for',
      'expected a duration such as "30s", "5m", "2h" or "14d", got "forever"',
    ],
    ['freeze: { after: 0 }', 'freeze.after', 'Too small: expected number to be >=1'],
    ['risk: { maxLowFiles: 0 }', 'risk.maxLowFiles', 'Too small: expected number to be >=1'],
    ['risk: { highPaths: [""] }', 'risk.highPaths.0', 'Too small: expected string to have >=1 characters'],
    ['approvalFrom: extreme', 'approvalFrom', 'Invalid option: expected one of "low"|"medium"|"high"'],
    [
      'blockedKinds: [delete]',
      'blockedKinds.0',
      'Invalid option: expected one of "edit"|"write"|"config_set"|"runbook"',
    ],
    ['blockedPaths: "**/.env"', 'blockedPaths', 'Invalid input: expected array, received string'],
  ])('%s is refused, naming the file and the key', (yaml, key, message) => {
    const config = configWith({ config: `${yaml}\n` });
    const file = config.guard.policy!;

    const err = errorOf(() => policyOf(config));

    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.issues).toEqual([{ file, line: undefined, path: key, message }]);
    expect(err.message).toBe(`${file} ${key}: ${message}`);
  });

  it('an unknown key is refused by name', () => {
    const config = configWith({ config: 'dailyBuget: 3\n' });
    expect(errorOf(() => policyOf(config)).message).toBe(
      `${config.guard.policy!}: Unrecognized key: "dailyBuget"`,
    );
    const nested = configWith({ config: 'risk: { maxLowFile: 3 }\n' });
    expect(errorOf(() => policyOf(nested)).message).toBe(
      `${nested.guard.policy!} risk: Unrecognized key: "maxLowFile"`,
    );
  });

  it('a file that is not a mapping is refused', () => {
    const config = configWith({ config: '- dailyBudget: 3\n' });
    expect(errorOf(() => policyOf(config)).message).toBe(
      `${config.guard.policy!}:1: expected a mapping of policy settings`,
    );
  });

  it('names the file the bad value came from, not the last file read', () => {
    const config = configWith({
      config: 'dailyBudget: -1\nrisk: { maxLowFiles: 0 }\n',
      target: 'maxConcurrent: 3\nrisk: { maxLowLines: 10 }\napprovalFrom: never\n',
    });
    const configFile = config.guard.policy!;
    const targetFile = config.targets[0]!.guardPolicy!;

    const err = errorOf(() => policyOf(config));

    expect(err.issues.map((i) => [i.path, i.file])).toEqual([
      ['dailyBudget', configFile],
      ['risk.maxLowFiles', configFile],
      ['approvalFrom', targetFile],
    ]);
  });

  it('a value the target file overrides is not an error', () => {
    const config = configWith({ config: 'dailyBudget: -1\n', target: 'dailyBudget: 2\n' });
    expect(policyOf(config).dailyBudget).toBe(2);
  });
});
