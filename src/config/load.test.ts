import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { loadConfig, parseConfig, resolveConfigPath } from './load.js';
import { SOURCE_KINDS } from './schema.js';

/** Lines joined into a file: the Nth argument is line N, so the expected `file:LINE` can be read off the case. */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kaizen-config-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Write `text` to a fresh kaizen.yaml in the temp folder and return its path. */
function writeConfig(text: string, sub = `case-${++counter}`): string {
  const folder = path.join(dir, sub);
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, 'kaizen.yaml');
  writeFileSync(file, text);
  return file;
}

function loadError(file: string): ConfigError {
  try {
    loadConfig(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${file} to be rejected`);
}

interface BadCase {
  name: string;
  text: string;
  /** The full message; `{file}` stands for the config file's path as it is shown. */
  message: string;
}

const badConfigs: BadCase[] = [
  {
    name: 'wrong enum value (direction: up)',
    text: yaml(
      'target:', //                                   1
      '  name: shop', //                              2
      '  repo: ./shop', //                            3
      'signals:', //                                  4
      '  - name: latency_ms', //                      5
      '    source: { kind: file-age, path: x }', //   6
      '    unit: ms', //                              7
      '    direction: up', //                         8
    ),
    message: '{file}:8 signals[0].direction: expected "higher_is_better" or "lower_is_better", got "up"',
  },
  {
    name: 'unknown source kind',
    text: yaml(
      'target:', //                                           1
      '  name: shop', //                                      2
      '  repo: ./shop', //                                    3
      'signals:', //                                          4
      '  - name: latency_ms', //                              5
      '    source:', //                                       6
      '      kind: carrier-pigeon', //                        7
      '      path: x', //                                     8
      '    unit: ms', //                                      9
      '    direction: lower_is_better', //                    10
    ),
    message:
      '{file}:7 signals[0].source.kind: expected kind to be one of "http-json", "prometheus", "command", "log-count", "file-age", "process", got "carrier-pigeon"',
  },
  {
    name: 'source without a kind',
    text: yaml(
      'target:', //                                           1
      '  name: shop', //                                      2
      '  repo: ./shop', //                                    3
      'signals:', //                                          4
      '  - name: latency_ms', //                              5
      '    source:', //                                       6
      '      url: http://127.0.0.1:8080/health', //           7
      '    unit: ms', //                                      8
      '    direction: lower_is_better', //                    9
    ),
    message:
      '{file}:6 signals[0].source.kind: expected kind to be one of "http-json", "prometheus", "command", "log-count", "file-age", "process", got nothing',
  },
  {
    name: 'unknown key (typo)',
    text: yaml(
      'target:', //           1
      '  name: shop', //      2
      '  repo: ./shop', //    3
      '  brnach: main', //    4
    ),
    message:
      '{file}:4 target.brnach: unknown key: remove it or check its spelling against the config reference in README.md',
  },
  {
    name: 'missing required key (unit)',
    text: yaml(
      'target:', //                                   1
      '  name: shop', //                              2
      '  repo: ./shop', //                            3
      'signals:', //                                  4
      '  - name: latency_ms', //                      5
      '    source: { kind: file-age, path: x }', //   6
      '    direction: lower_is_better', //            7
    ),
    message: '{file}:5 signals[0].unit: is required (expected a string)',
  },
  {
    name: 'key with no value (unit:)',
    text: yaml(
      'target:', //                                   1
      '  name: shop', //                              2
      '  repo: ./shop', //                            3
      'signals:', //                                  4
      '  - name: latency_ms', //                      5
      '    source: { kind: file-age, path: x }', //   6
      '    unit:', //                                 7
      '    direction: lower_is_better', //            8
    ),
    message: '{file}:7 signals[0].unit: is empty (expected a string)',
  },
  {
    name: 'empty string (unit: "")',
    text: yaml(
      'target:', //                                   1
      '  name: shop', //                              2
      '  repo: ./shop', //                            3
      'signals:', //                                  4
      '  - name: latency_ms', //                      5
      '    source: { kind: file-age, path: x }', //   6
      '    unit: ""', //                              7
      '    direction: lower_is_better', //            8
    ),
    message: '{file}:7 signals[0].unit: expected a non-empty string, got ""',
  },
  {
    name: 'duration in words ("5 minutes")',
    text: yaml(
      'target:', //               1
      '  name: shop', //          2
      '  repo: ./shop', //        3
      'schedule:', //             4
      '  observe: 5 minutes', //  5
    ),
    message:
      '{file}:5 schedule.observe: expected a duration such as "30s", "5m", "2h" or "14d", got "5 minutes"',
  },
  {
    name: 'duration as a bare number',
    text: yaml(
      'target:', //               1
      '  name: shop', //          2
      '  repo: ./shop', //        3
      'retention:', //            4
      '  rawSamples: 14d', //     5
      '  rollups: 5', //          6
    ),
    message: '{file}:6 retention.rollups: expected a duration such as "30s", "5m", "2h" or "14d", got 5',
  },
  {
    name: 'bad cron expression',
    text: yaml(
      'target:', //                   1
      '  name: shop', //              2
      '  repo: ./shop', //            3
      'schedule:', //                 4
      '  distill: "every night"', //  5
    ),
    message:
      '{file}:5 schedule.distill: expected a cron expression such as "0 3 * * *", got "every night" (exactly five, six, or seven space separated parts are required)',
  },
  {
    name: 'cron field out of range',
    text: yaml(
      'target:', //                   1
      '  name: shop', //              2
      '  repo: ./shop', //            3
      'schedule:', //                 4
      '  metaReview: "0 25 * * 1"', // 5
    ),
    message:
      '{file}:5 schedule.metaReview: expected a cron expression such as "0 3 * * *", got "0 25 * * 1" (Invalid value for hour: 25)',
  },
  {
    name: 'bad time zone',
    text: yaml(
      'dataDir: .kaizen', //          1
      'timeZone: Mars/Olympus', //    2
      'target:', //                   3
      '  name: shop', //              4
      '  repo: ./shop', //            5
    ),
    message:
      '{file}:2 timeZone: expected an IANA time zone such as "UTC" or "Europe/Berlin", got "Mars/Olympus"',
  },
  {
    name: 'ftp:// URL',
    text: yaml(
      'target:', //                               1
      '  name: shop', //                          2
      '  repo: ./shop', //                        3
      '  health:', //                             4
      '    url: ftp://example.com/health', //     5
    ),
    message:
      '{file}:5 target.health.url: expected an http:// or https:// URL, got "ftp://example.com/health"',
  },
  {
    name: 'not a URL at all',
    text: yaml(
      'target:', //                 1
      '  name: shop', //            2
      '  repo: ./shop', //          3
      'notifications:', //          4
      '  webhooks:', //             5
      '    - url: localhost', //    6
    ),
    message: '{file}:6 notifications.webhooks[0].url: expected an http:// or https:// URL, got "localhost"',
  },
  {
    name: 'invalid regular expression in a log-count pattern',
    text: yaml(
      'target:', //                                                         1
      '  name: shop', //                                                    2
      '  repo: ./shop', //                                                  3
      'signals:', //                                                        4
      '  - name: error_lines', //                                           5
      '    source: { kind: log-count, file: app.log, pattern: "(ERROR" }', // 6
      '    unit: lines', //                                                 7
      '    direction: lower_is_better', //                                  8
    ),
    message:
      '{file}:6 signals[0].source.pattern: expected a regular expression, got "(ERROR" (Unterminated group)',
  },
  {
    name: 'command string without shell: true',
    text: yaml(
      'target:', //                                 1
      '  name: shop', //                            2
      '  repo: ./shop', //                          3
      'signals:', //                                4
      '  - name: queue_depth', //                   5
      '    source:', //                             6
      '      kind: command', //                     7
      '      command: ./queue-depth.sh --json', //  8
      '    unit: jobs', //                          9
      '    direction: lower_is_better', //          10
    ),
    message:
      '{file}:8 signals[0].source.command: expected an argv list such as ["./check.sh", "--json"], or shell: true for a command string, got "./queue-depth.sh --json"',
  },
  {
    name: 'command that is neither a list nor a string',
    text: yaml(
      'target:', //                                 1
      '  name: shop', //                            2
      '  repo: ./shop', //                          3
      'signals:', //                                4
      '  - name: queue_depth', //                   5
      '    source:', //                             6
      '      kind: command', //                     7
      '      command: 42', //                       8
      '    unit: jobs', //                          9
      '    direction: lower_is_better', //          10
    ),
    message: '{file}:8 signals[0].source.command: expected a list or a string, got 42',
  },
  {
    name: 'process source with both pidFile and name',
    text: yaml(
      'target:', //                                                                 1
      '  name: shop', //                                                            2
      '  repo: ./shop', //                                                          3
      'signals:', //                                                                4
      '  - name: rss_mb', //                                                        5
      '    source: { kind: process, pidFile: run/app.pid, name: app, metric: rss_mb }', // 6
      '    unit: MiB', //                                                           7
      '    direction: lower_is_better', //                                          8
    ),
    message: '{file}:6 signals[0].source: expected exactly one of pidFile or name, got both',
  },
  {
    name: 'process source with neither pidFile nor name',
    text: yaml(
      'target:', //                                         1
      '  name: shop', //                                    2
      '  repo: ./shop', //                                  3
      'signals:', //                                        4
      '  - name: rss_mb', //                                5
      '    source: { kind: process, metric: rss_mb }', //   6
      '    unit: MiB', //                                   7
      '    direction: lower_is_better', //                  8
    ),
    message: '{file}:6 signals[0].source: expected exactly one of pidFile or name, got neither',
  },
  {
    name: 'alert with neither above nor below',
    text: yaml(
      'target:', //                                   1
      '  name: shop', //                              2
      '  repo: ./shop', //                            3
      'signals:', //                                  4
      '  - name: latency_ms', //                      5
      '    source: { kind: file-age, path: x }', //   6
      '    unit: ms', //                              7
      '    direction: lower_is_better', //            8
      '    alert: {}', //                             9
    ),
    message: '{file}:9 signals[0].alert: expected above, below or both, got neither',
  },
  {
    name: 'duplicate signal names',
    text: yaml(
      'target:', //                                   1
      '  name: shop', //                              2
      '  repo: ./shop', //                            3
      'signals:', //                                  4
      '  - name: latency_ms', //                      5
      '    source: { kind: file-age, path: a }', //   6
      '    unit: ms', //                              7
      '    direction: lower_is_better', //            8
      '  - name: latency_ms', //                      9
      '    source: { kind: file-age, path: b }', //   10
      '    unit: ms', //                              11
      '    direction: lower_is_better', //            12
    ),
    message: '{file}:9 signals[1].name: duplicate signal name "latency_ms" (also signals[0])',
  },
  {
    name: 'duplicate signal names inside one of several targets',
    text: yaml(
      'targets:', //                                      1
      '  - name: shop', //                                2
      '    repo: ./shop', //                              3
      '    signals:', //                                  4
      '      - name: age_s', //                           5
      '        source: { kind: file-age, path: a }', //   6
      '        unit: s', //                               7
      '        direction: lower_is_better', //            8
      '      - name: age_s', //                           9
      '        source: { kind: file-age, path: b }', //   10
      '        unit: s', //                               11
      '        direction: lower_is_better', //            12
    ),
    message:
      '{file}:9 targets[0].signals[1].name: duplicate signal name "age_s" (also targets[0].signals[0])',
  },
  {
    name: 'duplicate target names',
    text: yaml(
      'targets:', //          1
      '  - name: shop', //    2
      '    repo: ./shop', //  3
      '  - name: shop', //    4
      '    repo: ./shop2', // 5
    ),
    message: '{file}:4 targets[1].name: duplicate target name "shop" (also targets[0])',
  },
  {
    name: 'both target and targets',
    text: yaml(
      'target:', //           1
      '  name: shop', //      2
      '  repo: ./shop', //    3
      'targets:', //          4
      '  - name: blog', //    5
      '    repo: ./blog', //  6
    ),
    message: '{file}:4 targets: use either target + signals, or targets, not both',
  },
  {
    name: 'neither target nor targets',
    text: yaml(
      'dataDir: .kaizen', //  1
      'timeZone: UTC', //     2
    ),
    message: '{file}:1 target: is required: the target system to watch (or a targets list)',
  },
  {
    name: 'empty targets list',
    text: yaml(
      'timeZone: UTC', //     1
      'targets: []', //       2
    ),
    message: '{file}:2 targets: expected at least one target',
  },
  {
    name: 'YAML syntax error (bad indentation)',
    text: yaml(
      'target:', //                 1
      '  name: shop', //            2
      '  repo: ./shop', //          3
      'signals:', //                4
      '  - name: latency_ms', //    5
      '   unit: ms', //             6
    ),
    message: '{file}:6: YAML syntax: Sequence item without - indicator',
  },
  {
    name: 'YAML syntax error (unclosed quote)',
    text: yaml(
      'target:', //             1
      '  name: shop', //        2
      '  repo: ./shop', //      3
      'schedule:', //           4
      '  observe: "5m', //      5
    ),
    message: '{file}:5: YAML syntax: Missing closing "quote',
  },
  {
    name: 'the same key twice',
    text: yaml(
      'target:', //             1
      '  name: shop', //        2
      '  repo: ./shop', //      3
      '  repo: ./other', //     4
    ),
    message: '{file}:4: YAML syntax: Map keys must be unique',
  },
  {
    name: 'two YAML documents',
    text: yaml(
      'target:', //             1
      '  name: shop', //        2
      '  repo: ./shop', //      3
      '---', //                 4
      'timeZone: UTC', //       5
    ),
    message: '{file}:4: YAML syntax: expected one document, got a second one (remove the "---" line)',
  },
  {
    name: 'a mapping where a list belongs (block value: the key line is named)',
    text: yaml(
      'target:', //             1
      '  name: shop', //        2
      '  repo: ./shop', //      3
      'signals:', //            4
      '  name: latency_ms', //  5
      '  unit: ms', //          6
    ),
    message: '{file}:4 signals: expected a list, got a mapping',
  },
  {
    name: 'a list instead of a mapping',
    text: yaml(
      '- name: shop', //        1
      '  repo: ./shop', //      2
    ),
    message: '{file}:1: expected a mapping of settings, got a list',
  },
  {
    name: 'a whole number out of range',
    text: yaml(
      'target:', //             1
      '  name: shop', //        2
      '  repo: ./shop', //      3
      'server:', //             4
      '  port: 70000', //       5
    ),
    message: '{file}:5 server.port: expected a number ≤ 65535, got 70000',
  },
  {
    name: 'a fraction where a whole number belongs',
    text: yaml(
      'target:', //             1
      '  name: shop', //        2
      '  repo: ./shop', //      3
      'observe:', //            4
      '  concurrency: 2.5', //  5
    ),
    message: '{file}:5 observe.concurrency: expected a whole number, got 2.5',
  },
  {
    name: 'a string where a list belongs (deploy command)',
    text: yaml(
      'target:', //                     1
      '  name: shop', //                2
      '  repo: ./shop', //              3
      '  deploy:', //                   4
      '    command: ./deploy.sh', //    5
    ),
    message: '{file}:5 target.deploy.command: expected a list, got "./deploy.sh"',
  },
  {
    name: 'enum with several options (webhook format)',
    text: yaml(
      'target:', //                               1
      '  name: shop', //                          2
      '  repo: ./shop', //                        3
      'notifications:', //                        4
      '  webhooks:', //                           5
      '    - url: https://hooks.example.com/x', // 6
      '      format: teams', //                   7
    ),
    message:
      '{file}:7 notifications.webhooks[0].format: expected one of "generic", "slack", "discord", got "teams"',
  },
  {
    name: 'a list where a scalar belongs (health expectJson)',
    text: yaml(
      'target:', //                               1
      '  name: shop', //                          2
      '  repo: ./shop', //                        3
      '  health:', //                             4
      '    url: http://127.0.0.1:8080/health', // 5
      '    expectJson:', //                       6
      '      status: [ok, fine]', //              7
    ),
    message:
      '{file}:7 target.health.expectJson.status: expected a string, a number, true/false or null, got a list',
  },
  {
    name: 'several errors at once, sorted by line',
    text: yaml(
      'target:', //                                   1
      '  name: Shop', //                              2
      '  repo: ./shop', //                            3
      'signals:', //                                  4
      '  - name: latency_ms', //                      5
      '    source: { kind: file-age, path: x }', //   6
      '    unit: ms', //                              7
      '    direction: up', //                         8
      'schedule:', //                                 9
      '  observe: soon', //                           10
      'timeZone: Nowhere/Land', //                    11
      'sever:', //                                    12
      '  port: 80', //                                13
    ),
    message: [
      '5 problems in the config:',
      '  {file}:2 target.name: expected a lower-case name of letters, digits and "_", starting with a letter, got "Shop"',
      '  {file}:8 signals[0].direction: expected "higher_is_better" or "lower_is_better", got "up"',
      '  {file}:10 schedule.observe: expected a duration such as "30s", "5m", "2h" or "14d", got "soon"',
      '  {file}:11 timeZone: expected an IANA time zone such as "UTC" or "Europe/Berlin", got "Nowhere/Land"',
      '  {file}:12 sever: unknown key: remove it or check its spelling against the config reference in README.md',
    ].join('\n'),
  },
];

describe('loadConfig rejects bad configs with a message a person can act on', () => {
  it('has distinct cases', () => {
    expect(new Set(badConfigs.map((c) => c.text)).size).toBe(badConfigs.length);
    expect(new Set(badConfigs.map((c) => c.message)).size).toBe(badConfigs.length);
    expect(badConfigs.length).toBeGreaterThanOrEqual(14);
  });

  it.each(badConfigs)('$name', ({ text, message }) => {
    const file = writeConfig(text);
    const err = loadError(file);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(message.replaceAll('{file}', file));
    expect(err.issues.length).toBeGreaterThan(0);
  });

  it('names the file relative to the working directory when it is inside it', () => {
    const err = (() => {
      try {
        parseConfig(
          yaml('target:', '  name: shop', '  repo: ./shop', 'timeZone: Mars/Olympus'),
          path.resolve('kaizen.yaml'),
        );
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err.message).toBe(
      'kaizen.yaml:4 timeZone: expected an IANA time zone such as "UTC" or "Europe/Berlin", got "Mars/Olympus"',
    );
    expect(err.issues).toEqual([
      {
        file: 'kaizen.yaml',
        line: 4,
        path: 'timeZone',
        message: 'expected an IANA time zone such as "UTC" or "Europe/Berlin", got "Mars/Olympus"',
      },
    ]);
  });

  it('tells to run kaizen init when the file is missing', () => {
    const file = path.join(dir, 'nowhere', 'kaizen.yaml');
    const err = loadError(file);
    expect(err.code).toBe('CONFIG_NOT_FOUND');
    expect(err.message).toBe(
      `no config file at ${file}: run "kaizen init" to write a starter config, or pass --config FILE`,
    );
  });
});

const MINIMAL = yaml('target:', '  name: shop', '  repo: ./shop');

describe('loadConfig accepts good configs', () => {
  it('fills in the defaults of a minimal config', () => {
    const file = writeConfig(MINIMAL);
    const config = loadConfig(file);
    expect(config.configPath).toBe(file);
    expect(config.timeZone).toBe('UTC');
    expect(config.schedule).toEqual({
      observeMs: 300_000,
      proposeMs: 3_600_000,
      distill: '0 3 * * *',
      metaReview: '0 6 * * 1',
    });
    expect(config.retention).toEqual({
      rawSamplesMs: 14 * 86_400_000,
      rollupsMs: 365 * 86_400_000,
      deleteBatch: 5000,
    });
    expect(config.observe).toEqual({ concurrency: 16 });
    expect(config.guard).toEqual({ shadow: false }); // no policy file: the shipped guards/default.yaml alone
    expect(config.proposer).toEqual({
      provider: 'auto',
      models: {},
      contextTokens: 16000,
      dailyTokens: 200_000,
      maxOutputTokens: 4096,
      timeoutMs: 60_000,
      alertDebounceMs: 300_000,
      stallAfterMs: 7_200_000,
    });
    expect(config.validation).toEqual({
      windowMs: 3_600_000,
      denseIntervalMs: 30_000,
      confidence: 0.98,
      tolerance: 0.25,
    });
    expect(config.notifications).toEqual({
      webhooks: [],
      intervalMs: 30_000,
      driftScanMs: 3_600_000,
      deadlineMs: 120_000,
    });
    expect(config.server).toEqual({
      enabled: true,
      host: '127.0.0.1',
      port: 7878,
      tokenEnv: 'KAIZEN_TOKEN',
      maxBodyBytes: 65_536,
    });
    expect(config.targets).toHaveLength(1);
    expect(config.targets[0]).toMatchObject({ name: 'shop', branch: 'main', signals: [] });
    expect(config.targets[0]?.remote).toBeUndefined();
    expect(config.targets[0]?.deploy).toBeUndefined();
    expect(config.targets[0]?.health).toBeUndefined();
  });

  it('resolves relative repo and dataDir paths against the config file’s folder, not the working directory', () => {
    const file = writeConfig(
      yaml('dataDir: state/kaizen', 'target:', '  name: shop', '  repo: ../shop'),
      'nested/conf',
    );
    const folder = path.dirname(file);
    const config = loadConfig(file);
    expect(config.dataDir).toBe(path.join(folder, 'state', 'kaizen'));
    expect(config.targets[0]?.repoPath).toBe(path.join(dir, 'nested', 'shop'));
    expect(config.targets[0]?.repo).toBe('../shop');

    const defaults = loadConfig(writeConfig(MINIMAL, 'nested/defaults'));
    expect(defaults.dataDir).toBe(path.join(dir, 'nested', 'defaults', '.kaizen'));
  });

  it('keeps absolute paths as they are', () => {
    const repo = path.join(dir, 'abs-repo');
    const data = path.join(dir, 'abs-data');
    const config = loadConfig(
      writeConfig(yaml(`dataDir: ${data}`, 'target:', '  name: shop', `  repo: ${repo}`)),
    );
    expect(config.dataDir).toBe(data);
    expect(config.targets[0]?.repoPath).toBe(repo);
  });

  it('folds the single-target form into targets', () => {
    const config = loadConfig(
      writeConfig(
        yaml(
          'target:',
          '  name: shop',
          '  repo: ./shop',
          '  branch: trunk',
          '  remote: origin',
          'signals:',
          '  - name: lock_age_s',
          '    source: { kind: file-age, path: run/worker.lock, ifMissing: zero }',
          '    unit: s',
          '    direction: lower_is_better',
          '    alert: { above: 120 }',
          '    role: productivity',
          '    area: worker',
        ),
      ),
    );
    expect(config).not.toHaveProperty('target');
    expect(config).not.toHaveProperty('signals');
    expect(config.targets).toHaveLength(1);
    const [target] = config.targets;
    expect(target).toMatchObject({ name: 'shop', repo: './shop', branch: 'trunk', remote: 'origin' });
    expect(target?.repoPath).toBe(path.join(dir, `case-${counter}`, 'shop'));
    expect(target?.signals).toEqual([
      {
        name: 'lock_age_s',
        source: { kind: 'file-age', path: 'run/worker.lock', ifMissing: 'zero', timeoutMs: 5000 },
        unit: 's',
        direction: 'lower_is_better',
        alert: { above: 120 },
        role: 'productivity',
        area: 'worker',
      },
    ]);
  });

  it('accepts several targets, each with its own signals', () => {
    const config = loadConfig(
      writeConfig(
        yaml(
          'targets:',
          '  - name: shop',
          '    repo: ./shop',
          '    signals:',
          '      - name: latency_ms',
          '        source: { kind: http-json, url: "http://127.0.0.1:8080/health", path: latency.p95 }',
          '        unit: ms',
          '        direction: lower_is_better',
          '  - name: blog',
          '    repo: /srv/blog',
          '    branch: master',
          '    signals:',
          '      - name: latency_ms', // the same name in another target is fine
          '        source: { kind: http-json, url: "http://127.0.0.1:9090/health", path: latency.p95 }',
          '        unit: ms',
          '        direction: lower_is_better',
          '  - name: docs',
          '    repo: ./docs',
        ),
      ),
    );
    expect(config.targets.map((t) => [t.name, t.branch, t.signals.length])).toEqual([
      ['shop', 'main', 1],
      ['blog', 'master', 1],
      ['docs', 'main', 0],
    ]);
    expect(config.targets[1]?.repoPath).toBe('/srv/blog');
    expect(config.targets[0]?.signals[0]?.source).toEqual({
      kind: 'http-json',
      url: 'http://127.0.0.1:8080/health',
      path: 'latency.p95',
      timeoutMs: 5000,
      headers: {},
    });
  });

  it('compiles every duration to a …Ms field', () => {
    const config = loadConfig(
      writeConfig(
        yaml(
          'target:',
          '  name: shop',
          '  repo: ./shop',
          '  deploy:',
          '    command: ["./deploy.sh", "--prod"]',
          '    timeout: 10m',
          '    stabilisation: 45s',
          '  health:',
          '    url: https://shop.example.com/health',
          '    expectJson: { status: ok, ready: true, errors: 0, maintenance: null }',
          '    timeout: 1500ms',
          '    maxLatency: 1.5s',
          '    interval: 3s',
          'signals:',
          '  - name: error_lines',
          '    source: { kind: log-count, file: logs/app.log, pattern: " ERROR ", window: 2h, timeout: 1s }',
          '    unit: lines',
          '    direction: lower_is_better',
          'schedule:',
          '  observe: 30s',
          '  propose: 2h',
          'retention:',
          '  rawSamples: 2w',
          '  rollups: 90d',
          'validation:',
          '  window: 1h',
          '  denseInterval: 10s',
        ),
      ),
    );
    expect(config.schedule).toMatchObject({ observeMs: 30_000, proposeMs: 7_200_000 });
    expect(config.retention).toMatchObject({ rawSamplesMs: 14 * 86_400_000, rollupsMs: 90 * 86_400_000 });
    expect(config.validation).toMatchObject({ windowMs: 3_600_000, denseIntervalMs: 10_000 });
    const target = config.targets[0];
    expect(target?.deploy).toEqual({
      command: ['./deploy.sh', '--prod'],
      timeoutMs: 600_000,
      stabilisationMs: 45_000,
    });
    expect(target?.health).toEqual({
      url: 'https://shop.example.com/health',
      expectStatus: 200,
      expectJson: { status: 'ok', ready: true, errors: 0, maintenance: null },
      attempts: 3,
      timeoutMs: 1500,
      maxLatencyMs: 1500,
      intervalMs: 3000,
    });
    expect(target?.signals[0]?.source).toEqual({
      kind: 'log-count',
      file: 'logs/app.log',
      pattern: ' ERROR ',
      fromStart: false,
      timeoutMs: 1000,
      windowMs: 7_200_000,
    });
    // No raw duration string is left behind next to its compiled field.
    expect(config.schedule).not.toHaveProperty('observe');
    expect(target?.deploy).not.toHaveProperty('timeout');
    expect(target?.signals[0]?.source).not.toHaveProperty('window');
  });

  it('parses every source kind', () => {
    const config = loadConfig(
      writeConfig(
        yaml(
          'target:',
          '  name: shop',
          '  repo: ./shop',
          'signals:',
          '  - name: s_http_json',
          '    source: { kind: http-json, url: "http://127.0.0.1:8080/stats", path: "items[0].value", headers: { X-Token: abc } }',
          '    unit: ms',
          '    direction: lower_is_better',
          '  - name: s_prometheus',
          '    source:',
          '      kind: prometheus',
          '      url: http://127.0.0.1:8080/metrics',
          `      metric: 'http_requests_total{status=~"5..",method="GET"}'`,
          '      aggregate: max',
          '      mode: rate',
          '    unit: 1/s',
          '    direction: lower_is_better',
          '  - name: s_command',
          '    source: { kind: command, command: ["./scripts/depth.sh", "--json"], cwd: scripts, env: { MODE: fast } }',
          '    unit: jobs',
          '    direction: lower_is_better',
          '  - name: s_command_shell',
          '    source: { kind: command, command: "./depth.sh | wc -l", shell: true }',
          '    unit: jobs',
          '    direction: lower_is_better',
          '  - name: s_log_count',
          '    source: { kind: log-count, file: /var/log/app.log, pattern: "^\\\\d+ ERROR", fromStart: true }',
          '    unit: lines',
          '    direction: lower_is_better',
          '  - name: s_file_age',
          '    source: { kind: file-age, path: run/worker.lock }',
          '    unit: s',
          '    direction: lower_is_better',
          '  - name: s_process_pid',
          '    source: { kind: process, pidFile: run/app.pid, metric: rss_mb }',
          '    unit: MiB',
          '    direction: lower_is_better',
          '  - name: s_process_name',
          '    source: { kind: process, name: postgres, metric: cpu_percent }',
          '    unit: percent',
          '    direction: lower_is_better',
          '    role: resource',
        ),
      ),
    );
    const sources = config.targets[0]!.signals.map((s) => s.source);
    expect(new Set(sources.map((s) => s.kind))).toEqual(new Set(SOURCE_KINDS));
    expect(sources).toEqual([
      {
        kind: 'http-json',
        url: 'http://127.0.0.1:8080/stats',
        path: 'items[0].value',
        headers: { 'X-Token': 'abc' },
        timeoutMs: 5000,
      },
      {
        kind: 'prometheus',
        url: 'http://127.0.0.1:8080/metrics',
        metric: 'http_requests_total{status=~"5..",method="GET"}',
        aggregate: 'max',
        mode: 'rate',
        headers: {},
        timeoutMs: 5000,
      },
      {
        kind: 'command',
        command: ['./scripts/depth.sh', '--json'],
        shell: false,
        cwd: 'scripts',
        env: { MODE: 'fast' },
        timeoutMs: 5000,
      },
      { kind: 'command', command: './depth.sh | wc -l', shell: true, env: {}, timeoutMs: 5000 },
      {
        kind: 'log-count',
        file: '/var/log/app.log',
        pattern: '^\\d+ ERROR',
        fromStart: true,
        windowMs: 300_000,
        timeoutMs: 5000,
      },
      { kind: 'file-age', path: 'run/worker.lock', ifMissing: 'error', timeoutMs: 5000 },
      { kind: 'process', pidFile: 'run/app.pid', metric: 'rss_mb', timeoutMs: 5000 },
      { kind: 'process', name: 'postgres', metric: 'cpu_percent', timeoutMs: 5000 },
    ]);
    expect(config.targets[0]!.signals.map((s) => s.role)).toEqual([
      'other',
      'other',
      'other',
      'other',
      'other',
      'other',
      'other',
      'resource',
    ]);
  });

  it('treats an explicit dataDir the same as the default when it says .kaizen', () => {
    const file = writeConfig(yaml('dataDir: .kaizen', 'target:', '  name: shop', '  repo: .'));
    const config = loadConfig(file);
    expect(config.dataDir).toBe(path.join(path.dirname(file), '.kaizen'));
    expect(config.targets[0]?.repoPath).toBe(path.dirname(file));
  });
});

describe('resolveConfigPath', () => {
  it('prefers an explicit path, then $KAIZEN_CONFIG, then ./kaizen.yaml', () => {
    expect(resolveConfigPath('conf/k.yaml', { KAIZEN_CONFIG: '/etc/kaizen.yaml' }, '/home/me')).toBe(
      '/home/me/conf/k.yaml',
    );
    expect(resolveConfigPath(undefined, { KAIZEN_CONFIG: '/etc/kaizen.yaml' }, '/home/me')).toBe(
      '/etc/kaizen.yaml',
    );
    expect(resolveConfigPath(undefined, {}, '/home/me')).toBe('/home/me/kaizen.yaml');
  });
});
