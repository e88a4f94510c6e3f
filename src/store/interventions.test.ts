import { existsSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import { writeConfig } from '../../test/helpers/config.js';
import { proposal } from '../../test/helpers/target.js';
import { NotFoundError } from '../errors.js';
import { IllegalTransitionError, STATES, type State } from '../loop/states.js';
import { Proposal, fingerprint } from '../propose/proposal.js';
import { openStore, type Store } from './index.js';
import type { Intervention } from './interventions.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

/** The state machine, written out independently of src/loop/states.ts. */
const EXPECTED: Record<State, State[]> = {
  proposed: ['rejected', 'backlog', 'applying'],
  backlog: ['applying', 'backlog', 'rejected'],
  applying: ['failed', 'rolled_back', 'applied'],
  applied: ['validated', 'no_effect', 'reverted', 'inconclusive'],
  validated: ['reverted'],
  no_effect: ['reverted'],
  inconclusive: ['reverted'],
  rejected: [],
  failed: [],
  rolled_back: [],
  reverted: [],
};
/** A legal way from proposed to each state. */
const PATH_TO: Record<State, State[]> = {
  proposed: [],
  rejected: ['rejected'],
  backlog: ['backlog'],
  applying: ['applying'],
  failed: ['applying', 'failed'],
  rolled_back: ['applying', 'rolled_back'],
  applied: ['applying', 'applied'],
  validated: ['applying', 'applied', 'validated'],
  no_effect: ['applying', 'applied', 'no_effect'],
  reverted: ['applying', 'applied', 'reverted'],
  inconclusive: ['applying', 'applied', 'inconclusive'],
};
const PAIRS = STATES.flatMap((from) => STATES.map((to) => [from, to] as [State, State]));
const ALLOWED = PAIRS.filter(([from, to]) => EXPECTED[from].includes(to));
const DISALLOWED = PAIRS.filter(([from, to]) => !EXPECTED[from].includes(to));

/** A real store file in a temp folder with the given targets registered. */
function setup(targets: string[] = ['app']): { store: Store; dataDir: string } {
  const config = writeConfig(
    targets.length === 1
      ? { target: { name: targets[0], repo: '.' } }
      : { target: undefined, signals: undefined, targets: targets.map((name) => ({ name, repo: '.' })) },
  );
  const store = openStore(config.dataDir, { now: T0 });
  onTestFinished(() => store.close());
  for (const t of config.targets) store.catalog.sync(t, T0);
  return { store, dataDir: config.dataDir };
}

function create(
  store: Store,
  at = T0,
  overrides: Record<string, unknown> = {},
  target = 'app',
): Intervention {
  const p = Proposal.parse(proposal(overrides));
  return store.interventions.create(
    {
      target,
      proposal: p,
      fingerprint: fingerprint(p),
      origin: 'rules',
      baseSha: 'abc1234',
      actor: 'kaizen',
      reason: 'proposed by rules',
    },
    at,
  );
}

/** Walk an intervention to `state` along PATH_TO, one minute per step. */
function walk(store: Store, id: string, state: State, from = T0): Intervention {
  let iv = store.interventions.get(id);
  PATH_TO[state].forEach((s, i) => {
    iv = store.interventions.transition(id, s, from + (i + 1) * MIN, 'kaizen', `step to ${s}`);
  });
  return iv;
}

describe('InterventionStore.create', () => {
  it('stores a proposed intervention with its first history entry', () => {
    const { store } = setup();
    const p = Proposal.parse(proposal());

    const iv = create(store);

    expect(iv).toEqual({
      id: 'K0001',
      target: 'app',
      area: 'cache',
      kind: 'config_set',
      state: 'proposed',
      risk: 'low',
      fingerprint: fingerprint(p),
      proposal: p,
      origin: 'rules',
      createdAt: T0,
      updatedAt: T0,
      baseSha: 'abc1234',
      preApplySha: null,
      commitSha: null,
      revertSha: null,
      appliedAt: null,
      windowMs: null,
      guard: null,
      applyLog: null,
      verdict: null,
      waitingReason: null,
    });
    expect(store.interventions.history('K0001')).toEqual([
      { from: null, to: 'proposed', at: T0, actor: 'kaizen', reason: 'proposed by rules' },
    ]);
  });

  it('reads the transitions of every intervention after a given one, each once, oldest first', () => {
    const { store } = setup();
    create(store, T0);
    create(store, T0 + 1);
    store.interventions.transition('K0001', 'applying', T0 + 2, 'kaizen', 'every guard check passed');

    const all = store.interventions.transitionsAfter(0);
    const later = store.interventions.transitionsAfter(all[1]!.seq);

    expect(all.map((t) => [t.interventionId, t.to, t.at])).toEqual([
      ['K0001', 'proposed', T0],
      ['K0002', 'proposed', T0 + 1],
      ['K0001', 'applying', T0 + 2],
    ]);
    expect(later).toEqual([
      {
        seq: all[2]!.seq,
        interventionId: 'K0001',
        from: 'proposed',
        to: 'applying',
        at: T0 + 2,
        actor: 'kaizen',
        reason: 'every guard check passed',
      },
    ]);
    expect(store.interventions.transitionsAfter(all[2]!.seq)).toEqual([]);
  });

  it('numbers K0001, K0002, … by value, not by text, past K9999', () => {
    const { store } = setup();
    expect(Array.from({ length: 10 }, (_, i) => create(store, T0 + i).id)).toEqual([
      'K0001',
      'K0002',
      'K0003',
      'K0004',
      'K0005',
      'K0006',
      'K0007',
      'K0008',
      'K0009',
      'K0010',
    ]);
    store.db
      .prepare(
        `INSERT INTO interventions (id, target_id, area, kind, state, risk, fingerprint, proposal, created_at, updated_at)
         SELECT 'K9999', id, 'cache', 'config_set', 'proposed', 'low', 'f', ?, 0, 0 FROM targets WHERE name = 'app'`,
      )
      .run(JSON.stringify(Proposal.parse(proposal())));
    // As text, 'K9999' > 'K10000': a text MAX would hand out K10000 twice.
    expect(create(store).id).toBe('K10000');
    expect(create(store).id).toBe('K10001');
  });

  it('refuses an unknown target and writes nothing', () => {
    const { store } = setup();
    expect(() => create(store, T0, {}, 'nope')).toThrow(
      new NotFoundError('no target named "nope" in the store'),
    );
    expect(store.db.prepare('SELECT COUNT(*) FROM interventions').pluck().get()).toBe(0);
    expect(store.db.prepare('SELECT COUNT(*) FROM intervention_transitions').pluck().get()).toBe(0);
  });

  it('lives in a real SQLite file and survives reopening', () => {
    const { store, dataDir } = setup();
    create(store);
    store.interventions.transition('K0001', 'backlog', T0 + MIN, 'kaizen', 'needs approval');
    expect(existsSync(store.file)).toBe(true);
    store.close();

    const again = openStore(dataDir);
    onTestFinished(() => again.close());
    expect(again.interventions.get('K0001').state).toBe('backlog');
    expect(again.interventions.history('K0001').map((h) => h.to)).toEqual(['proposed', 'backlog']);
  });
});

describe('InterventionStore.transition', () => {
  it('records every step with its time, actor and reason, and the patch with it', () => {
    const { store } = setup();
    create(store);

    store.interventions.transition('K0001', 'backlog', T0 + 1 * MIN, 'kaizen', 'approval: needs approval', {
      waitingReason: 'needs approval: high risk',
    });
    store.interventions.transition('K0001', 'applying', T0 + 2 * MIN, 'alice', 'approved by alice', {
      waitingReason: null,
    });
    store.interventions.transition(
      'K0001',
      'applied',
      T0 + 3 * MIN,
      'kaizen',
      'committed 1234567 and healthy',
      {
        commitSha: '1234567',
        appliedAt: T0 + 3 * MIN,
        windowMs: HOUR,
      },
    );
    const done = store.interventions.transition(
      'K0001',
      'validated',
      T0 + 63 * MIN,
      'kaizen',
      'latency_ms down 31 %',
      {
        verdict: { outcome: 'validated', effect: -0.31 },
      },
    );

    expect(done).toMatchObject({
      state: 'validated',
      createdAt: T0,
      updatedAt: T0 + 63 * MIN,
      commitSha: '1234567',
      appliedAt: T0 + 3 * MIN,
      windowMs: HOUR,
      waitingReason: null,
      verdict: { outcome: 'validated', effect: -0.31 },
    });
    expect(store.interventions.history('K0001')).toEqual([
      { from: null, to: 'proposed', at: T0, actor: 'kaizen', reason: 'proposed by rules' },
      {
        from: 'proposed',
        to: 'backlog',
        at: T0 + 1 * MIN,
        actor: 'kaizen',
        reason: 'approval: needs approval',
      },
      { from: 'backlog', to: 'applying', at: T0 + 2 * MIN, actor: 'alice', reason: 'approved by alice' },
      {
        from: 'applying',
        to: 'applied',
        at: T0 + 3 * MIN,
        actor: 'kaizen',
        reason: 'committed 1234567 and healthy',
      },
      {
        from: 'applied',
        to: 'validated',
        at: T0 + 63 * MIN,
        actor: 'kaizen',
        reason: 'latency_ms down 31 %',
      },
    ]);
  });

  it('an illegal transition changes nothing: not the state, the columns, nor the history', () => {
    const { store } = setup();
    create(store);
    const before = store.interventions.get('K0001');
    const history = store.interventions.history('K0001');

    expect(() =>
      store.interventions.transition('K0001', 'validated', T0 + HOUR, 'mallory', 'skip the checks', {
        commitSha: 'deadbeef',
        guard: { decision: 'pass' },
        waitingReason: 'x',
      }),
    ).toThrow(new IllegalTransitionError('K0001', 'proposed', 'validated'));
    expect(store.interventions.get('K0001')).toEqual(before);
    expect(store.interventions.history('K0001')).toEqual(history);
  });

  it.each(ALLOWED)('%s → %s is made and recorded', (from, to) => {
    const { store } = setup();
    create(store);
    walk(store, 'K0001', from);

    const after = store.interventions.transition('K0001', to, T0 + HOUR, 'bob', `now ${to}`);

    expect(after.state).toBe(to);
    expect(after.updatedAt).toBe(T0 + HOUR);
    expect(store.interventions.history('K0001').at(-1)).toEqual({
      from,
      to,
      at: T0 + HOUR,
      actor: 'bob',
      reason: `now ${to}`,
    });
  });

  it.each(DISALLOWED)('%s → %s is refused and leaves the intervention as it was', (from, to) => {
    const { store } = setup();
    create(store);
    const before = walk(store, 'K0001', from);
    const history = store.interventions.history('K0001');

    let error: unknown;
    try {
      store.interventions.transition('K0001', to, T0 + HOUR, 'bob', 'try', { commitSha: 'c0ffee' });
    } catch (err) {
      error = err;
    }

    expect(error).toBeInstanceOf(IllegalTransitionError);
    expect((error as Error).message).toMatch(
      new RegExp(`^intervention K0001 is ${from} and cannot become ${to} \\(`),
    );
    expect(store.interventions.get('K0001')).toEqual(before);
    expect(store.interventions.history('K0001')).toEqual(history);
  });

  it('refuses a move when the state is not the one the caller read (expectFrom), even a legal one', () => {
    const { store } = setup();
    create(store);
    store.interventions.transition('K0001', 'backlog', T0 + MIN, 'kaizen', 'waits');
    const before = store.interventions.get('K0001');

    expect(() =>
      store.interventions.transition('K0001', 'applying', T0 + 2 * MIN, 'alice', 'approved', {}, 'proposed'),
    ).toThrow(
      'intervention K0001 is backlog, not proposed as expected (it changed meanwhile), so it was not moved to applying',
    );
    expect(store.interventions.get('K0001')).toEqual(before);
    expect(store.interventions.history('K0001')).toHaveLength(2);

    // With the right expectation it goes through.
    const moved = store.interventions.transition(
      'K0001',
      'applying',
      T0 + 3 * MIN,
      'alice',
      'approved',
      {},
      'backlog',
    );
    expect(moved.state).toBe('applying');
  });

  it('an unknown intervention is not found', () => {
    const { store } = setup();
    expect(() => store.interventions.transition('K0042', 'applying', T0, 'kaizen', 'x')).toThrow(
      new NotFoundError('no intervention K0042'),
    );
    expect(() => store.interventions.get('K0042')).toThrow(
      new NotFoundError('no intervention K0042; "kaizen backlog" and "kaizen status" list them'),
    );
    expect(store.interventions.find('K0042')).toBeUndefined();
  });
});

describe('InterventionStore JSON columns', () => {
  const guard = {
    decision: 'defer',
    reasons: [
      'canary: blocked on missing canary: medium risk (kind write)',
      'approval: needs approval «hoch»',
    ],
    risk: { declared: 'low', floor: 'medium', effective: 'medium', reasons: ['kind write'] },
    checks: [{ check: 'path', decision: 'pass', reason: 'ok' }],
    nested: { deep: [1, 2.5, null, true, { x: 'y' }] },
  };

  it('round-trip through the file, and can be cleared', () => {
    const { store, dataDir } = setup();
    create(store);
    store.interventions.transition('K0001', 'backlog', T0 + MIN, 'kaizen', 'waits', {
      guard,
      risk: 'medium',
    });
    store.interventions.patch(
      'K0001',
      { applyLog: { deploy: { exitCode: 0, output: 'ok\n' } }, verdict: [1, 'two'] },
      T0 + 2 * MIN,
    );
    store.close();

    const again = openStore(dataDir);
    onTestFinished(() => again.close());
    const iv = again.interventions.get('K0001');
    expect(iv.guard).toEqual(guard);
    expect(iv.applyLog).toEqual({ deploy: { exitCode: 0, output: 'ok\n' } });
    expect(iv.verdict).toEqual([1, 'two']);
    expect(iv.risk).toBe('medium');
    expect(iv.proposal).toEqual(Proposal.parse(proposal()));
    expect(iv.updatedAt).toBe(T0 + 2 * MIN);

    again.interventions.patch('K0001', { guard: null, verdict: undefined }, T0 + 3 * MIN);
    expect(again.interventions.get('K0001')).toMatchObject({ guard: null, verdict: [1, 'two'] });
  });

  it('patch changes columns and updatedAt but neither the state nor the history', () => {
    const { store } = setup();
    create(store);
    store.interventions.patch('K0001', { preApplySha: 'aaa', commitSha: 'bbb', baseSha: null }, T0 + 5 * MIN);
    expect(store.interventions.get('K0001')).toMatchObject({
      state: 'proposed',
      preApplySha: 'aaa',
      commitSha: 'bbb',
      baseSha: null,
      updatedAt: T0 + 5 * MIN,
    });
    expect(store.interventions.history('K0001')).toHaveLength(1);
  });

  it.each<[string, string, unknown, (err: unknown) => boolean]>([
    [
      'a proposal that breaks the schema',
      'proposal',
      JSON.stringify({ title: '' }),
      (e) => e instanceof z.ZodError,
    ],
    ['an unknown state', 'state', 'limbo', (e) => e instanceof z.ZodError],
    ['a time that is not a number', 'created_at', 'yesterday', (e) => e instanceof z.ZodError],
    ['a guard column that is not JSON', 'guard', '{not json', (e) => e instanceof SyntaxError],
  ])('a row with %s is refused on read, not passed on', (_name, column, value, isExpected) => {
    const { store } = setup();
    create(store);
    store.db.prepare(`UPDATE interventions SET ${column} = ? WHERE id = 'K0001'`).run(value);

    for (const read of [() => store.interventions.get('K0001'), () => store.interventions.list()]) {
      let error: unknown;
      try {
        read();
      } catch (err) {
        error = err;
      }
      expect(isExpected(error)).toBe(true);
    }
  });
});

describe('InterventionStore.list', () => {
  function seeded(): Store {
    const { store } = setup(['app', 'other']);
    create(store, T0); // K0001 app cache proposed
    walk(store, create(store, T0 + 1 * HOUR, { area: 'db' }).id, 'applying', T0 + HOUR); // K0002 app db applying
    walk(store, create(store, T0 + 2 * HOUR, {}, 'other').id, 'applying', T0 + 2 * HOUR); // K0003 other cache applying
    walk(store, create(store, T0 + 3 * HOUR).id, 'backlog', T0 + 3 * HOUR); // K0004 app cache backlog
    create(store, T0 + 3 * HOUR); // K0005 app cache proposed, same time as K0004
    return store;
  }
  const ids = (list: Intervention[]) => list.map((i) => i.id);

  it.each<[string, Parameters<Store['interventions']['list']>[0], string[]]>([
    ['everything, newest first, ties by id', {}, ['K0005', 'K0004', 'K0003', 'K0002', 'K0001']],
    ['one target', { target: 'app' }, ['K0005', 'K0004', 'K0002', 'K0001']],
    ['another target', { target: 'other' }, ['K0003']],
    ['an unknown target', { target: 'nope' }, []],
    ['states', { states: ['applying'] }, ['K0003', 'K0002']],
    ['several states', { states: ['backlog', 'applying'] }, ['K0004', 'K0003', 'K0002']],
    ['no states at all', { states: [] }, []],
    ['target and states', { target: 'app', states: ['applying'] }, ['K0002']],
    ['an area', { area: 'cache' }, ['K0005', 'K0004', 'K0003', 'K0001']],
    ['area and target', { area: 'cache', target: 'app' }, ['K0005', 'K0004', 'K0001']],
    ['created at or after, inclusive', { since: T0 + 2 * HOUR }, ['K0005', 'K0004', 'K0003']],
    ['created after', { since: T0 + 2 * HOUR + 1 }, ['K0005', 'K0004']],
    ['a limit', { limit: 2 }, ['K0005', 'K0004']],
    [
      'everything at once',
      { target: 'app', area: 'cache', states: ['proposed', 'backlog'], since: T0 + 1, limit: 1 },
      ['K0005'],
    ],
  ])('filters by %s', (_name, filter, expected) => {
    expect(ids(seeded().interventions.list(filter))).toEqual(expected);
  });
});

describe('InterventionStore.countAppliesSince and enteredAt', () => {
  it('counts the target’s interventions by when they entered applying, at or after the time', () => {
    const { store } = setup(['app', 'other']);
    // K0001: proposed at T0, applying at T0+1h.
    create(store, T0);
    store.interventions.transition('K0001', 'applying', T0 + 1 * HOUR, 'kaizen', 'passed');
    // K0002: proposed at T0, waits, applied by a person at T0+5h.
    create(store, T0);
    store.interventions.transition('K0002', 'backlog', T0 + 1 * MIN, 'kaizen', 'waits');
    store.interventions.transition('K0002', 'applying', T0 + 5 * HOUR, 'alice', 'approved');
    // K0003: another target.
    create(store, T0, {}, 'other');
    store.interventions.transition('K0003', 'applying', T0 + 2 * HOUR, 'kaizen', 'passed');
    // K0004: never applied.
    create(store, T0);
    store.interventions.transition('K0004', 'rejected', T0 + 2 * HOUR, 'kaizen', 'duplicate');
    // K0005: applied and failed: it still used an apply.
    create(store, T0);
    store.interventions.transition('K0005', 'applying', T0 + 3 * HOUR, 'kaizen', 'passed');
    store.interventions.transition('K0005', 'failed', T0 + 3 * HOUR + MIN, 'kaizen', 'deploy failed');

    const count = (target: string, since: number) => store.interventions.countAppliesSince(target, since);
    expect(count('app', T0)).toBe(3);
    expect(count('app', T0 + 1 * HOUR)).toBe(3);
    expect(count('app', T0 + 1 * HOUR + 1)).toBe(2);
    expect(count('app', T0 + 5 * HOUR)).toBe(1);
    expect(count('app', T0 + 5 * HOUR + 1)).toBe(0);
    expect(count('other', T0)).toBe(1);
    expect(count('nope', T0)).toBe(0);

    // One intervention is one apply, however many times its entry was recorded.
    store.db
      .prepare(
        `INSERT INTO intervention_transitions (intervention_id, from_state, to_state, at, actor, reason)
         VALUES ('K0001', 'proposed', 'applying', ?, 'kaizen', 'recorded again')`,
      )
      .run(T0 + 6 * HOUR);
    expect(count('app', T0)).toBe(3);
  });

  it('enteredAt is the last time the intervention entered a state, or undefined', () => {
    const { store } = setup();
    create(store, T0);
    store.interventions.transition('K0001', 'backlog', T0 + 1 * MIN, 'kaizen', 'waits');
    store.interventions.transition('K0001', 'backlog', T0 + 9 * MIN, 'kaizen', 'still waits');

    expect(store.interventions.enteredAt('K0001', 'proposed')).toBe(T0);
    expect(store.interventions.enteredAt('K0001', 'backlog')).toBe(T0 + 9 * MIN);
    expect(store.interventions.enteredAt('K0001', 'applying')).toBeUndefined();
    expect(store.interventions.enteredAt('K0042', 'proposed')).toBeUndefined();
  });
});
