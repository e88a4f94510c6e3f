import { describe, expect, it } from 'vitest';
import { signal, writeConfig } from '../../../test/helpers/config.js';
import { SelfHealRule, type SelfHealRuleInput } from '../../config/schema.js';
import { openStore } from '../../store/index.js';
import { Proposal } from '../proposal.js';
import { checkCondition, evaluateRules, evaluateRulesWithNotes, formatNumber } from './evaluate.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const MIN = 60_000;

function rule(
  over: Omit<Partial<SelfHealRuleInput>, 'when'> & { when?: Partial<SelfHealRuleInput['when']> } = {},
) {
  const base: SelfHealRuleInput = {
    name: 'slow',
    when: { signal: 'latency_ms', condition: 'above', value: 30, for: '10m' },
    propose: {
      title: '{{signal}} at {{value}} for {{held}}',
      area: 'cache',
      kind: 'config_set',
      changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 }],
      hypothesis: 'misses double {{signal}} (now {{value}})',
      prediction: { signal: '{{signal}}', direction: 'down', magnitude: 0.3 },
      risk: 'low',
      rollback: 'git revert',
    },
  };
  return SelfHealRule.parse({ ...base, ...over, when: { ...base.when, ...over.when } });
}

function setup() {
  const config = writeConfig({
    signals: [signal('latency_ms', { unit: 'ms' }), signal('jobs_per_s'), signal('free_mb')],
  });
  const target = config.targets[0]!;
  const store = openStore(config.dataDir, { now: T0 });
  const ids = store.catalog.sync(target, T0);
  const id = (name: string) => ids.get(name)!.id;
  const put = (name: string, t: number, v: number | string) =>
    store.samples.insert([
      { signalId: id(name), t, ...(typeof v === 'string' ? { error: v } : { value: v }) },
    ]);
  /** One value per minute, the first `values.length - 1` minutes before `end`, the last at `end`. */
  const series = (name: string, end: number, values: (number | string)[]) =>
    values.forEach((v, i) => put(name, end - (values.length - 1 - i) * MIN, v));
  return { store, target, id, put, series };
}

describe('checkCondition: above and below', () => {
  it('fires when every value of the window is beyond the threshold', () => {
    const { store, id, series } = setup();
    series('latency_ms', T0, [31, 35, 40, 33, 31, 32, 50, 31, 31, 30.5, 42]);
    expect(checkCondition(store, id('latency_ms'), rule().when, T0)).toEqual({
      fired: true,
      value: 42,
      heldMs: 10 * MIN,
    });
    store.close();
  });

  it('does not fire when a value is exactly at the threshold', () => {
    const { store, id, series } = setup();
    series('latency_ms', T0, [31, 35, 40, 33, 30, 32, 50, 31, 31, 31, 42]);
    const check = checkCondition(store, id('latency_ms'), rule().when, T0);
    expect(check).toEqual({
      fired: false,
      reason: `not above 30 throughout: 30 at ${new Date(T0 - 6 * MIN).toISOString()}`,
    });
    store.close();
  });

  it('does not fire when one value in the window is below', () => {
    const { store, id, series } = setup();
    series('latency_ms', T0, [31, 35, 40, 33, 31, 32, 50, 31, 31, 12, 42]);
    expect(checkCondition(store, id('latency_ms'), rule().when, T0).fired).toBe(false);
    store.close();
  });

  it('looks only at the window: an old low value and a value after now do not count', () => {
    const { store, id, put, series } = setup();
    put('latency_ms', T0 - 11 * MIN, 5);
    series('latency_ms', T0, [31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31]);
    put('latency_ms', T0 + 1, 1);
    const check = checkCondition(store, id('latency_ms'), rule().when, T0);
    expect(check).toEqual({ fired: true, value: 31, heldMs: 10 * MIN });
    store.close();
  });

  it('reports how long the condition has held, beyond the window', () => {
    const { store, id, series } = setup();
    series('latency_ms', T0, [5, ...Array<number>(30).fill(40)]);
    expect(checkCondition(store, id('latency_ms'), rule().when, T0)).toEqual({
      fired: true,
      value: 40,
      heldMs: 29 * MIN,
    });
    store.close();
  });

  it('below is strict too', () => {
    const { store, id, series } = setup();
    const when = rule({ when: { signal: 'free_mb', condition: 'below', value: 100 } }).when;
    series('free_mb', T0, [99, 50, 20, 10, 5, 5, 5, 5, 5, 5, 99.9]);
    expect(checkCondition(store, id('free_mb'), when, T0)).toMatchObject({ fired: true, value: 99.9 });
    series('free_mb', T0, [99, 50, 20, 10, 5, 100, 5, 5, 5, 5, 99.9]);
    expect(checkCondition(store, id('free_mb'), when, T0).fired).toBe(false);
    store.close();
  });
});

describe('checkCondition: coverage', () => {
  it('needs at least 3 values', () => {
    const { store, id, put } = setup();
    put('latency_ms', T0 - 10 * MIN, 50);
    put('latency_ms', T0, 50);
    expect(checkCondition(store, id('latency_ms'), rule().when, T0)).toEqual({
      fired: false,
      reason: 'not enough samples: 2 value(s) spanning 10m of the 10m window (need 3, spanning 80 %)',
    });
    put('latency_ms', T0 - 5 * MIN, 50);
    expect(checkCondition(store, id('latency_ms'), rule().when, T0).fired).toBe(true);
    store.close();
  });

  it('needs the values to span 80 % of the window: 8 minutes of 10 fire, less does not', () => {
    const { store, id, put } = setup();
    for (const m of [0, 1, 2, 3, 4, 5, 6, 7]) put('latency_ms', T0 - m * MIN, 50);
    expect(checkCondition(store, id('latency_ms'), rule().when, T0).fired).toBe(false);
    put('latency_ms', T0 - 8 * MIN + 1, 50);
    expect(checkCondition(store, id('latency_ms'), rule().when, T0).fired).toBe(false);
    put('latency_ms', T0 - 8 * MIN, 50);
    expect(checkCondition(store, id('latency_ms'), rule().when, T0)).toMatchObject({
      fired: true,
      heldMs: 8 * MIN,
    });
    store.close();
  });

  it('ignores error samples: they neither count as values nor break the run', () => {
    const { store, id, series } = setup();
    series('latency_ms', T0, [40, 'timeout', 'timeout', 40, 'timeout', 40, 'timeout', 'x', 'x', 'x', 40]);
    expect(checkCondition(store, id('latency_ms'), rule().when, T0).fired).toBe(true);
    const { store: s2, id: id2, series: series2 } = setup();
    series2('latency_ms', T0, [40, 'timeout', 'timeout', 'x', 'timeout', 'x', 'timeout', 'x', 'x', 'x', 40]);
    expect(checkCondition(s2, id2('latency_ms'), rule().when, T0).fired).toBe(false);
    store.close();
    s2.close();
  });
});

describe('checkCondition: flat', () => {
  const flat = (tolerance?: number) =>
    rule({
      when: { signal: 'jobs_per_s', condition: 'flat', value: undefined, for: '10m', tolerance },
    }).when;

  it('fires when max − min is within tolerance × |median| (default 1 %)', () => {
    const { store, id, series } = setup();
    series('jobs_per_s', T0, [100, 100.5, 99.5, 100, 100.2, 100, 100, 99.8, 100, 100, 100.5]);
    expect(checkCondition(store, id('jobs_per_s'), flat(), T0)).toEqual({
      fired: true,
      value: 100.5,
      heldMs: 10 * MIN,
    });
    store.close();
  });

  it('does not fire just past the tolerance', () => {
    const { store, id, series } = setup();
    series('jobs_per_s', T0, [100, 100.5, 99.4, 100, 100, 100, 100, 100, 100, 100, 100.5]);
    expect(checkCondition(store, id('jobs_per_s'), flat(), T0)).toEqual({
      fired: false,
      reason: 'not flat: moved by 1.1 (allowed 1)',
    });
    expect(checkCondition(store, id('jobs_per_s'), flat(0.02), T0).fired).toBe(true);
    store.close();
  });

  it('treats a signal stuck at exactly 0 as flat, and any movement around 0 as not', () => {
    const { store, id, series } = setup();
    series('jobs_per_s', T0, Array<number>(11).fill(0));
    expect(checkCondition(store, id('jobs_per_s'), flat(), T0).fired).toBe(true);
    series('jobs_per_s', T0, [0, 0, 0, 0, 0, 0.01, 0, 0, 0, 0, 0]);
    expect(checkCondition(store, id('jobs_per_s'), flat(), T0).fired).toBe(false);
    store.close();
  });
});

describe('evaluateRules', () => {
  it('fills the template from the firing and returns a valid proposal', () => {
    const { store, target, series } = setup();
    series('latency_ms', T0, [5, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 42.125]);
    const fired = evaluateRules({ store, target, rules: [rule()], now: T0, lastFired: new Map() });
    expect(fired).toHaveLength(1);
    const f = fired[0]!;
    expect(f).toMatchObject({ rule: 'slow', signal: 'latency_ms', value: 42.125, heldMs: 11 * MIN });
    expect(f.proposal).toEqual({
      title: 'latency_ms at 42.13 for 11m',
      area: 'cache',
      kind: 'config_set',
      changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 }],
      hypothesis: 'misses double latency_ms (now 42.13)',
      prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0.3, relative: true },
      risk: 'low',
      rollback: 'git revert',
      trigger: 'rule slow: latency_ms above 30 for 10m (value 42.13, held 11m)',
    });
    expect(() => Proposal.parse(f.proposal)).not.toThrow();
    store.close();
  });

  it('substitutes placeholders inside changes and keeps a validation window', () => {
    const { store, target, series } = setup();
    series('latency_ms', T0, Array<number>(11).fill(31));
    const r = rule({
      propose: {
        ...rule().propose,
        kind: 'write',
        changes: [{ kind: 'write', path: 'notes/{{signal}}.md', content: '{{signal}} held {{held}}\n' }],
        validationWindow: '90s',
      },
    });
    const [f] = evaluateRules({ store, target, rules: [r], now: T0, lastFired: new Map() });
    expect(f!.proposal.changes).toEqual([
      { kind: 'write', path: 'notes/latency_ms.md', content: 'latency_ms held 10m\n' },
    ]);
    expect(Proposal.parse(f!.proposal).validationWindow).toBe(90_000);
    store.close();
  });

  it('skips a rule within its cooldown and fires it again once the cooldown is over', () => {
    const { store, target, series } = setup();
    series('latency_ms', T0, Array<number>(11).fill(31));
    const r = rule({ cooldown: '1h' });
    const at = (last: number) =>
      evaluateRulesWithNotes({ store, target, rules: [r], now: T0, lastFired: new Map([['slow', last]]) });
    const cooling = at(T0 - 59 * MIN);
    expect(cooling.fired).toEqual([]);
    expect(cooling.notes).toEqual([
      `rule slow: cooling down until ${new Date(T0 + MIN).toISOString()} (fired ${new Date(T0 - 59 * MIN).toISOString()})`,
    ]);
    expect(at(T0 - 60 * MIN).fired).toHaveLength(1);
    // The default cooldown is 6 h.
    expect(
      evaluateRules({
        store,
        target,
        rules: [rule()],
        now: T0,
        lastFired: new Map([['slow', T0 - 5 * 60 * MIN]]),
      }),
    ).toEqual([]);
    store.close();
  });

  it('evaluates in rule-name order whatever the config order, and explains every rule', () => {
    const { store, target, series } = setup();
    series('latency_ms', T0, Array<number>(11).fill(31));
    series('jobs_per_s', T0, Array<number>(11).fill(0));
    const rules = [
      rule({ name: 'zz_slow' }),
      rule({ name: 'aa_hung', when: { signal: 'jobs_per_s', condition: 'flat', value: undefined } }),
      rule({ name: 'mm_quiet', when: { signal: 'free_mb', condition: 'below', value: 1 } }),
      rule({ name: 'bb_gone', when: { signal: 'not_configured' } }),
    ];
    const first = evaluateRulesWithNotes({ store, target, rules, now: T0, lastFired: new Map() });
    const again = evaluateRulesWithNotes({
      store,
      target,
      rules: [...rules].reverse(),
      now: T0,
      lastFired: new Map(),
    });
    expect(first).toEqual(again);
    expect(first.fired.map((f) => f.rule)).toEqual(['aa_hung', 'zz_slow']);
    expect(first.notes).toEqual([
      'rule aa_hung: fired: jobs_per_s flat within 1 % for 10m (value 0, held 10m)',
      'rule bb_gone: signal not_configured has no samples in this target',
      'rule mm_quiet: free_mb not enough samples: 0 value(s) spanning 0s of the 10m window (need 3, spanning 80 %)',
      'rule zz_slow: fired: latency_ms above 30 for 10m (value 31, held 10m)',
    ]);
    for (const f of first.fired) expect(() => Proposal.parse(f.proposal)).not.toThrow();
    store.close();
  });

  it('does not fire a rule whose filled-in proposal is invalid, and says why', () => {
    const { store, target, series } = setup();
    series('latency_ms', T0, Array<number>(11).fill(31));
    // 200 characters with the load-time stand-in value (12.3), 201 with the real one (31.12).
    const r = rule({ propose: { ...rule().propose, title: `${'x'.repeat(196)}{{value}}` } });
    series('latency_ms', T0, Array<number>(11).fill(31.123456));
    const out = evaluateRulesWithNotes({ store, target, rules: [r], now: T0, lastFired: new Map() });
    expect(out.fired).toEqual([]);
    expect(out.notes[0]).toMatch(
      /^rule slow: fired \(latency_ms above 30 for 10m \(value 31\.12, held 10m\)\) but the filled-in proposal is invalid: title: /,
    );
    store.close();
  });
});

describe('formatNumber', () => {
  it.each([
    [42, '42'],
    [42.125, '42.13'],
    [1234.56, '1235'],
    [0.083456, '0.0835'],
    [-3.14159, '-3.14'],
    [0.1 + 0.2, '0.3'],
    [1e-7, '1e-7'],
  ])('%s → %s', (v, text) => expect(formatNumber(v)).toBe(text));
});
