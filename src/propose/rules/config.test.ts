import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { tempDir } from '../../../test/helpers/temp.js';
import { loadConfig } from '../../config/load.js';
import { RuleAction, SelfHealRule, fillTemplate } from '../../config/schema.js';
import { demoConfig } from '../../demo/demo-config.js';
import { ConfigError } from '../../errors.js';
import { DEMO_RULES } from './demo-rules.js';

/** Lines joined into a file: the Nth argument is line N. */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** A config whose single target has one rule; lines 1-24 are fixed, the `extra` lines follow. */
function ruleConfig(over: Record<number, string | undefined> = {}, extra: string[] = []): string {
  const lines = [
    'target:', //                                              1
    '  name: app', //                                          2
    '  repo: .', //                                            3
    '  rules:', //                                             4
    '    - name: slow', //                                     5
    '      when:', //                                          6
    '        signal: latency_ms', //                           7
    '        condition: above', //                             8
    '        value: 30', //                                    9
    '        for: 10m', //                                     10
    '      propose:', //                                       11
    '        title: "Cache: {{signal}} at {{value}} for {{held}}"', // 12
    '        area: cache', //                                  13
    '        kind: config_set', //                             14
    '        changes:', //                                     15
    '          - kind: config_set', //                         16
    '            path: config.json', //                        17
    '            key: cacheSize', //                           18
    '            value: 200', //                               19
    '        hypothesis: misses double {{signal}}', //         20
    '        prediction: { signal: "{{signal}}", direction: down, magnitude: 0.3 }', // 21
    '        risk: low', //                                    22
    '        rollback: git revert', //                         23
    'signals: []', //                                          24
  ];
  for (const [n, text] of Object.entries(over)) if (text !== undefined) lines[Number(n) - 1] = text;
  return yaml(...lines, ...extra);
}

function load(text: string) {
  const file = path.join(tempDir(), 'kaizen.yaml');
  writeFileSync(file, text);
  return { file, load: () => loadConfig(file) };
}

function errorOf(text: string): string {
  const { file, load: run } = load(text);
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message.replaceAll(file, '{file}');
  }
  throw new Error('expected the config to be refused');
}

describe('rules in the config', () => {
  it('loads a valid rule, compiling durations and applying defaults', () => {
    const config = load(ruleConfig({}, ['    # end'])).load();
    const rule = config.targets[0]!.rules[0]!;
    expect(rule.when).toEqual({ signal: 'latency_ms', condition: 'above', value: 30, forMs: 600_000 });
    expect(rule.cooldownMs).toBe(6 * 3_600_000);
    expect(rule.propose.title).toBe('Cache: {{signal}} at {{value}} for {{held}}');
    expect(rule.propose.prediction.relative).toBe(true);
  });

  it('defaults to no rules', () => {
    const config = load(yaml('target:', '  name: app', '  repo: .')).load();
    expect(config.targets[0]!.rules).toEqual([]);
  });

  it.each([
    {
      name: 'an area the Proposal schema refuses',
      over: { 13: '        area: Cache!' },
      message:
        '{file}:13 target.rules[0].propose.area: expected an area name of lower-case letters, digits, "_" or "-", got "Cache!"',
    },
    {
      name: 'an unknown placeholder',
      over: { 12: '        title: "at {{valu}}"' },
      message:
        '{file}:12 target.rules[0].propose.title: unknown placeholder {{valu}}: use {{signal}}, {{value}} or {{held}}',
    },
    {
      name: "a change whose kind is not the proposal's",
      over: {
        16: '          - kind: edit',
        17: '            path: a',
        18: '            search: x',
        19: '            replace: y',
      },
      message: `{file}:16 target.rules[0].propose.changes[0].kind: is "edit" but the proposal's kind is "config_set"`,
    },
    {
      name: 'a key the change kind does not take',
      over: { 19: '            content: "200"' },
      message: [
        '2 problems in the config:',
        '  {file}:16 target.rules[0].propose.changes[0].value: is required for a config_set change',
        '  {file}:19 target.rules[0].propose.changes[0].content: is not used by a config_set change (it takes path, key, value)',
      ].join('\n'),
    },
    {
      name: 'a bad config_set key (checked by the Proposal schema)',
      over: { 18: '            key: "cache size"' },
      message:
        '{file}:18 target.rules[0].propose.changes[0].key: expected a dotted key path such as "worker.interval_ms", got "cache size"',
    },
    {
      name: 'a commit trailer in the text',
      over: { 23: '        rollback: "Kaizen-Revert-Of: abc"' },
      message:
        '{file}:23 target.rules[0].propose.rollback: must not contain a kaizen commit trailer ("Kaizen-Intervention:" or "Kaizen-Revert-Of:")',
    },
    {
      name: 'above without a value',
      over: { 9: '        tolerance: 0.1' },
      message: [
        '2 problems in the config:',
        '  {file}:6 target.rules[0].when.value: is required with condition above (the threshold)',
        '  {file}:9 target.rules[0].when.tolerance: is only used with condition flat, not above',
      ].join('\n'),
    },
    {
      name: 'flat with a value',
      over: { 8: '        condition: flat' },
      message: '{file}:9 target.rules[0].when.value: is not used with condition flat (use tolerance)',
    },
    {
      name: 'a bad duration',
      over: { 10: '        for: a while' },
      message:
        '{file}:10 target.rules[0].when.for: expected a duration such as "30s", "5m", "2h" or "14d", got "a while"',
    },
    {
      name: 'an empty change list',
      over: { 15: '        changes: []', 16: '', 17: '', 18: '', 19: '' },
      message: '{file}:15 target.rules[0].propose.changes: expected at least 1 item(s), got 0',
    },
    {
      name: 'an unknown key in the template',
      over: { 23: '        trigger: me' },
      message:
        '{file}:23 target.rules[0].propose.trigger: unknown key: remove it or check its spelling against the config reference in README.md',
    },
  ])('refuses $name with a line-numbered message', ({ over, message }) => {
    expect(errorOf(ruleConfig(over))).toBe(message);
  });

  it('refuses two rules with the same name', () => {
    const text = ruleConfig({}, ['    # second']).replace('signals: []\n', '');
    const rule = text.slice(text.indexOf('    - name: slow'));
    expect(errorOf(`${text}${rule}signals: []\n`)).toBe(
      '{file}:25 target.rules[1].name: duplicate rule name "slow" (also rules[0])',
    );
  });

  it('accepts the same rules under targets[]', () => {
    const doc = parse(ruleConfig()) as { target: Record<string, unknown> };
    const text = stringify({ targets: [{ ...doc.target, signals: [] }] });
    expect(load(text).load().targets[0]!.rules).toHaveLength(1);
  });

  it('takes the demo rules in the demo config, naming signals the demo has', () => {
    const doc = parse(
      demoConfig({ baseUrl: 'http://127.0.0.1:9', dataDir: 'data', repo: '.', windowMs: 60_000 }),
    ) as { target: Record<string, unknown>; signals: { name: string }[] };
    doc.target.rules = DEMO_RULES;
    const config = load(stringify(doc)).load();
    const rules = config.targets[0]!.rules;
    expect(rules.map((r) => r.name)).toEqual(['latency_cache', 'worker_hang', 'error_rate_fault']);
    const signals = new Set(doc.signals.map((s) => s.name));
    for (const r of rules) {
      expect(signals.has(r.when.signal)).toBe(true);
      expect(signals.has(r.propose.prediction.signal)).toBe(true);
    }
    expect(rules.map((r) => r.when.forMs)).toEqual([5000, 60_000, 120_000]);
  });
});

describe('RuleAction (a lesson action)', () => {
  it('has the shape of a rule without name and cooldown, and the same template check', () => {
    const ok = RuleAction.safeParse({ when: DEMO_RULES[0]!.when, propose: DEMO_RULES[0]!.propose });
    expect(ok.success).toBe(true);
    const bad = RuleAction.safeParse({
      when: DEMO_RULES[0]!.when,
      propose: { ...DEMO_RULES[0]!.propose, area: 'No Area' },
    });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['propose.area']);
    expect(
      SelfHealRule.safeParse({ when: DEMO_RULES[0]!.when, propose: DEMO_RULES[0]!.propose }).success,
    ).toBe(false);
  });
});

describe('fillTemplate', () => {
  it('replaces the three placeholders in every string, deeply, and keeps everything else', () => {
    const vars = { signal: 'p50_ms', value: '42.5', held: '10m' };
    expect(
      fillTemplate(
        {
          a: '{{signal}} at {{ value }} for {{held}}',
          b: ['{{held}}', 3, true, null],
          c: { d: '{{other}}' },
        },
        vars,
      ),
    ).toEqual({ a: 'p50_ms at 42.5 for 10m', b: ['10m', 3, true, null], c: { d: '{{other}}' } });
  });
});
