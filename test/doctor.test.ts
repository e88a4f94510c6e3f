import { afterEach, describe, expect, it } from 'vitest';
import { revertIntervention } from '../src/apply/revert.js';
import { SimulatedClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { runDoctor, type DoctorProblem } from '../src/loop/doctor.js';
import { reject, submitProposal } from '../src/loop/submit.js';
import { runCliAt } from './helpers/cli.js';
import { proposal, targetFixture, type TargetFixture } from './helpers/target.js';

/*
 * `kaizen doctor` checks the promises kaizen makes about its own record. A realistic history is
 * clean; each kind of damage, written straight into the store, is named exactly.
 *
 * The target's time zone is Asia/Tokyo on purpose: budget days are calendar days there, not in UTC.
 */

const runtimes: Runtime[] = [];
afterEach(() => {
  for (const rt of runtimes.splice(0)) rt.close();
});

const BOGUS_SHA = 'deadbeef'.repeat(5);
/** 2026-01-04 12:00 in Tokyo. */
const JAN_4_TOKYO_NOON = Date.UTC(2026, 0, 4, 3, 0, 0);

interface World {
  fx: TargetFixture;
  rt: Runtime;
  repoPath: string;
  sql(statement: string, ...params: unknown[]): void;
}

/**
 * K0001 applied (cache), K0002 rolled back (health), K0003 applied then reverted by a person
 * (threads), K0004 applied (worker), K0005 waiting in the backlog (search), K0006 rejected by a
 * person (search).
 */
async function realisticHistory(): Promise<World> {
  const fx = await targetFixture({ config: { timeZone: 'Asia/Tokyo' } });
  const clock = new SimulatedClock();
  const rt = fx.runtime(clock);
  runtimes.push(rt);
  const submit = async (overrides: Record<string, unknown>) =>
    (
      await submitProposal(rt, {
        target: 'app',
        proposal: proposal(overrides),
        origin: 'test',
        actor: 'tester',
      })
    ).intervention;
  const states: string[] = [];

  states.push((await submit({})).state);
  await clock.advance(60_000);
  // K0001 still awaits its verdict on config.json, so the change that breaks health touches
  // another file and the target answers unhealthy anyway (one change at a time per file).
  fx.failNextProbes(3);
  states.push(
    (
      await submit({
        title: 'Break health',
        area: 'health',
        changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'worker.healthy', value: false }],
      })
    ).state,
  );
  await clock.advance(60_000);
  states.push(
    (
      await submit({
        title: 'Threads',
        area: 'threads',
        changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'worker.threads', value: 3 }],
      })
    ).state,
  );
  await clock.advance(60_000);
  states.push((await revertIntervention(rt, 'K0003', 'tester', 'throughput dropped')).intervention.state);
  await clock.advance(60_000);
  states.push(
    (
      await submit({
        title: 'Slower polling',
        area: 'worker',
        changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'worker.interval_ms', value: 2000 }],
      })
    ).state,
  );
  await clock.advance(60_000);
  const waiting = { area: 'search', risk: 'medium' };
  states.push(
    (
      await submit({
        ...waiting,
        title: 'Search cache 700',
        changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 700 }],
      })
    ).state,
  );
  states.push(
    (
      await submit({
        ...waiting,
        title: 'Search cache 800',
        changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 800 }],
      })
    ).state,
  );
  states.push(reject(rt, 'K0006', 'tester', 'one search change at a time').state);

  expect(states).toEqual([
    'applied',
    'rolled_back',
    'applied',
    'reverted',
    'applied',
    'backlog',
    'backlog',
    'rejected',
  ]);
  return {
    fx,
    rt,
    repoPath: rt.config.targets[0]!.repoPath,
    sql: (statement, ...params) => void rt.store.db.prepare(statement).run(...params),
  };
}

const transition = (w: World, id: string, from: string, to: string, at: number) =>
  w.sql(
    "INSERT INTO intervention_transitions (intervention_id, from_state, to_state, at, actor, reason) VALUES (?, ?, ?, ?, 'sql', 'written by hand')",
    id,
    from,
    to,
    at,
  );

/** Six interventions that each entered applying on 2026-01-04 (Tokyo), with consistent histories. */
function sixAppliesOnJan4(w: World): void {
  for (let i = 1; i <= 6; i++) {
    const id = `K010${i}`;
    const at = JAN_4_TOKYO_NOON + i * 60_000;
    w.sql(
      `INSERT INTO interventions (id, target_id, area, kind, state, risk, fingerprint, proposal, origin, created_at, updated_at)
       SELECT ?, target_id, 'misc', kind, 'failed', risk, fingerprint || ?, proposal, origin, ?, ? FROM interventions WHERE id = 'K0005'`,
      id,
      id,
      at,
      at,
    );
    w.sql(
      "INSERT INTO intervention_transitions (intervention_id, from_state, to_state, at, actor, reason) VALUES (?, NULL, 'proposed', ?, 'sql', 'x')",
      id,
      at,
    );
    transition(w, id, 'proposed', 'applying', at);
    transition(w, id, 'applying', 'failed', at);
  }
}

/** Set one column by hand; returns how to set it back. */
function setColumn(w: World, id: string, column: string, value: string | null): () => void {
  const before = w.rt.store.db.prepare(`SELECT ${column} FROM interventions WHERE id = ?`).pluck().get(id);
  w.sql(`UPDATE interventions SET ${column} = ? WHERE id = ?`, value, id);
  return () => w.sql(`UPDATE interventions SET ${column} = ? WHERE id = ?`, before, id);
}

interface Damage {
  what: string;
  /** Damage the record; returns how to repair it. */
  apply(w: World): () => void;
  expected(w: World): DoctorProblem[];
}

const DAMAGE: Damage[] = [
  {
    what: 'a commit SHA that is not in the repo',
    apply: (w) => setColumn(w, 'K0001', 'commit_sha', BOGUS_SHA),
    expected: (w) => [
      {
        check: 'commit-exists',
        intervention: 'K0001',
        problem: `K0001: commit ${BOGUS_SHA} is not in ${w.repoPath}`,
      },
    ],
  },
  {
    what: 'an applied intervention without its commit SHA',
    apply: (w) => setColumn(w, 'K0004', 'commit_sha', null),
    expected: () => [
      { check: 'commit-sha', intervention: 'K0004', problem: 'K0004 is applied but has no commit SHA' },
    ],
  },
  {
    what: 'a rolled-back intervention without its revert SHA',
    apply: (w) => setColumn(w, 'K0002', 'revert_sha', null),
    expected: () => [
      { check: 'revert-sha', intervention: 'K0002', problem: 'K0002 is rolled_back but has no revert SHA' },
    ],
  },
  {
    what: 'two active interventions in one area',
    apply: (w) => setColumn(w, 'K0004', 'area', 'cache'),
    expected: () => [
      { check: 'one-per-area', problem: 'area cache of app has 2 active interventions: K0004, K0001' },
    ],
  },
  {
    what: 'a history that skips a state',
    apply: (w) => {
      transition(w, 'K0001', 'proposed', 'applied', w.rt.clock.now());
      return () =>
        w.sql("DELETE FROM intervention_transitions WHERE intervention_id = 'K0001' AND actor = 'sql'");
    },
    expected: () => [
      {
        check: 'history',
        intervention: 'K0001',
        problem: 'K0001: transition 4 (proposed → applied) does not follow from applied',
      },
    ],
  },
  {
    what: 'more applies on one day than the budget',
    apply: (w) => {
      sixAppliesOnJan4(w);
      return () => {
        w.sql("DELETE FROM intervention_transitions WHERE intervention_id LIKE 'K010%'");
        w.sql("DELETE FROM interventions WHERE id LIKE 'K010%'");
      };
    },
    expected: () => [
      {
        check: 'budget',
        problem: '6 applies on 2026-01-04 for app, budget 5: K0106, K0105, K0104, K0103, K0102, K0101',
      },
    ],
  },
  {
    what: 'an intervention stuck in applying',
    apply: (w) => {
      const undoState = setColumn(w, 'K0005', 'state', 'applying');
      transition(w, 'K0005', 'backlog', 'applying', w.rt.clock.now());
      return () => {
        undoState();
        w.sql("DELETE FROM intervention_transitions WHERE intervention_id = 'K0005' AND actor = 'sql'");
      };
    },
    expected: () => [
      // K0005 changes config.json, which K0001 changes too and still awaits its verdict.
      {
        check: 'one-per-path',
        problem: 'config.json of app is changed by 2 active interventions: K0005, K0001',
      },
      {
        check: 'stuck',
        intervention: 'K0005',
        problem: 'K0005 is still applying: run "kaizen recover" (or any apply command) to finish or undo it',
      },
    ],
  },
];

describe('kaizen doctor', () => {
  it('is clean after a realistic history, and names each kind of damage exactly, one at a time', async () => {
    const w = await realisticHistory();

    expect(await runDoctor(w.rt)).toEqual({ checked: 6, problems: [], notes: [] });

    for (const damage of DAMAGE) {
      const repair = damage.apply(w);
      const report = await runDoctor(w.rt);
      repair();

      expect(report.problems, damage.what).toEqual(damage.expected(w));
      expect((await runDoctor(w.rt)).problems, `after undoing ${damage.what}`).toEqual([]);
    }
  });

  it('exits 15 and lists every problem when the record is damaged', async () => {
    const w = await realisticHistory();
    const clean = await runCliAt(w.rt.clock, 'doctor', '--config', w.fx.configPath);
    for (const damage of DAMAGE.filter((d) => d.what !== 'a commit SHA that is not in the repo'))
      damage.apply(w);
    w.sql('UPDATE interventions SET commit_sha = ? WHERE id = ?', BOGUS_SHA, 'K0003');

    const damaged = await runCliAt(w.rt.clock, 'doctor', '--config', w.fx.configPath);
    const json = await runCliAt(w.rt.clock, 'doctor', '--json', '--config', w.fx.configPath);

    expect(clean).toEqual({ code: 0, out: 'doctor: all invariants hold over 6 intervention(s)\n', err: '' });
    const expected = [
      ...DAMAGE.filter((d) => d.what !== 'a commit SHA that is not in the repo').flatMap((d) =>
        d.expected(w),
      ),
      {
        check: 'commit-exists',
        intervention: 'K0003',
        problem: `K0003: commit ${BOGUS_SHA} is not in ${w.repoPath}`,
      },
    ];
    expect(damaged.code).toBe(15);
    expect(damaged.err).toBe(`kaizen: doctor found ${expected.length} problem(s)\n`);
    expect(damaged.out.trimEnd().split('\n').sort()).toEqual(
      expected.map((p) => `${p.check}: ${p.problem}`).sort(),
    );
    expect(json.code).toBe(15);
    const report = JSON.parse(json.out) as { checked: number; problems: DoctorProblem[] };
    expect(report.checked).toBe(12);
    expect(report.problems).toHaveLength(expected.length);
    expect(report.problems).toEqual(expect.arrayContaining(expected));
  });
});
