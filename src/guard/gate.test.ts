import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { writeConfig } from '../../test/helpers/config.js';
import { gitRepo } from '../../test/helpers/git.js';
import { proposal } from '../../test/helpers/target.js';
import type { KaizenConfig, TargetConfig } from '../config/schema.js';
import type { State } from '../loop/states.js';
import { Proposal, fingerprint } from '../propose/proposal.js';
import { openStore, type Store } from '../store/index.js';
import { CHECKS } from './checks/index.js';
import { INSTALL_ROOT, protectedPaths, runGuard, type GuardInput } from './gate.js';
import { DEFAULT_POLICY_FILE, loadPolicy } from './policy.js';

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const HOUR = 3_600_000;
const SHADOW = 'shadow: shadow mode is on (guard.shadow: true): kaizen proposes but does not apply';

const FILES = {
  'config.json': JSON.stringify({ cacheSize: 0 }, null, 2) + '\n',
  'src/app.js': 'export const retries = 3;\nexport const maxRetries = 3;\n',
};

interface Env {
  config: KaizenConfig;
  target: TargetConfig;
  store: Store;
  repo: string;
}

function env(overrides: Record<string, unknown> = {}): Env {
  const repo = gitRepo(FILES);
  const config = writeConfig({ target: { name: 'app', repo }, ...overrides });
  const store = openStore(config.dataDir, { now: NOW });
  onTestFinished(() => store.close());
  const target = config.targets[0]!;
  store.catalog.sync(target, NOW);
  return { config, target, store, repo };
}

function guard(e: Env, input: Record<string, unknown> = {}, extra: Partial<GuardInput> = {}, now = NOW) {
  return runGuard(
    { store: e.store, now },
    {
      proposal: Proposal.parse(proposal(input)),
      target: e.target,
      config: e.config,
      policy: loadPolicy(e.config, e.target),
      ...extra,
    },
  );
}

function seed(e: Env, at: number, states: State[], input: Record<string, unknown> = {}) {
  const p = Proposal.parse(proposal(input));
  const iv = e.store.interventions.create(
    {
      target: 'app',
      proposal: p,
      fingerprint: fingerprint(p),
      origin: 'rules',
      baseSha: null,
      actor: 'kaizen',
      reason: 'seeded',
    },
    at,
  );
  for (const s of states) e.store.interventions.transition(iv.id, s, at, 'kaizen', s);
  return iv;
}

const ids = CHECKS.map((c) => c.id);
const setCache = (value: number) => ({
  changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value }],
});
/** A change every rejecting check lets through but that is high risk: a new migration, with a backup. */
const MIGRATION = {
  title: 'Index the orders table',
  area: 'db',
  kind: 'write',
  changes: [
    {
      kind: 'write',
      path: 'db/migrations/0002_index.sql',
      content: 'CREATE INDEX orders_by_day ON orders (day);\n',
    },
  ],
  backup: 'pg_dump -Fc app > /backups/before-0002.dump',
};

describe('runGuard', () => {
  it('passes a harmless change after running every check in registry order', () => {
    const e = env();

    const outcome = guard(e);

    expect(outcome).toEqual({
      decision: 'pass',
      risk: { declared: 'low', floor: 'low', effective: 'low', reasons: [] },
      checks: [
        { check: 'path', decision: 'pass', reason: 'all paths inside the repo and allowed' },
        { check: 'kind', decision: 'pass', reason: 'kind "config_set" allowed' },
        { check: 'rollback', decision: 'pass', reason: 'git revert of the commit' },
        { check: 'applies', decision: 'pass', reason: 'applies cleanly to 1 file(s)' },
        { check: 'git', decision: 'pass', reason: 'git commits it as written and runs nothing new' },
        { check: 'lessons', decision: 'pass', reason: 'no lesson speaks to this change' },
        { check: 'repeat', decision: 'pass', reason: 'not a repeat of a failed change' },
        { check: 'dedup', decision: 'pass', reason: 'no duplicate in the window' },
        { check: 'freeze', decision: 'pass', reason: 'area cache is not frozen' },
        { check: 'canary', decision: 'pass', reason: 'low risk: no canary needed' },
        { check: 'approval', decision: 'pass', reason: 'low risk: no approval needed' },
        { check: 'budget', decision: 'pass', reason: '0 of 5 applies used today' },
        { check: 'concurrency', decision: 'pass', reason: '0 of 2 slots in use' },
        { check: 'overlap', decision: 'pass', reason: 'nothing else is changing the same area or paths' },
      ],
    });
    expect(outcome.checks.map((c) => c.check)).toEqual(ids);
  });

  it('stops at the first reject: later checks are not run', () => {
    const e = env({ guard: { shadow: true } });
    // Blocked path, and also a duplicate and over budget: only the path is reported.
    seed(e, NOW - HOUR, [], { kind: 'write', changes: [{ kind: 'write', path: '.env', content: 'X=1\n' }] });

    const outcome = guard(
      e,
      { kind: 'write', changes: [{ kind: 'write', path: '.env', content: 'X=1\n' }] },
      {},
      NOW,
    );

    expect(outcome.decision).toBe('reject');
    expect(outcome).toMatchObject({ reasons: ['path: .env matches the blocked pattern "**/.env"'] });
    expect(outcome.checks).toEqual([
      { check: 'path', decision: 'reject', reason: '.env matches the blocked pattern "**/.env"' },
    ]);
  });

  it('a reject further down keeps the checks before it, and nothing after', () => {
    const e = env();
    const outcome = guard(e, {
      kind: 'edit',
      changes: [{ kind: 'edit', path: 'src/app.js', search: '= 3;', replace: '= 4;' }],
    });

    expect(outcome).toMatchObject({
      decision: 'reject',
      reasons: [
        'applies: edit of src/app.js: search text occurs 2 times; it must be unique (add surrounding lines to the search text)',
      ],
    });
    expect(outcome.checks.map((c) => [c.check, c.decision])).toEqual([
      ['path', 'pass'],
      ['kind', 'pass'],
      ['rollback', 'pass'],
      ['applies', 'reject'],
    ]);
  });

  it('collects every defer, in check order, with the check that gave it', () => {
    const e = env();
    for (let i = 0; i < 5; i++)
      seed(e, NOW - 3 * HOUR + i, ['applying', 'applied', 'validated'], setCache(100 + i));
    seed(e, NOW - 2 * HOUR, ['applying'], setCache(7));
    seed(e, NOW - HOUR, ['applying', 'applied'], setCache(8));

    const outcome = guard(e, MIGRATION);

    expect(outcome).toEqual({
      decision: 'defer',
      reasons: [
        'canary: blocked on missing canary: high risk (kind write; touches db/migrations/0002_index.sql (schema, migration, build, deploy or CI)) and area db has no canary (canaryAreas)',
        'approval: needs approval: high risk (approvalFrom: high)',
        'budget: daily budget spent: 7 of 5 applies today (day began 2026-01-05 00:00 UTC)',
        'concurrency: concurrency limit: 2 of 2 interventions applying or awaiting validation (K0007, K0006)',
      ],
      risk: {
        declared: 'low',
        floor: 'high',
        effective: 'high',
        reasons: [
          'kind write',
          'touches db/migrations/0002_index.sql (schema, migration, build, deploy or CI)',
        ],
      },
      checks: expect.any(Array) as unknown,
    });
    expect(outcome.checks.map((c) => [c.check, c.decision])).toEqual([
      ['path', 'pass'],
      ['kind', 'pass'],
      ['rollback', 'pass'],
      ['applies', 'pass'],
      ['git', 'pass'],
      ['lessons', 'pass'],
      ['repeat', 'pass'],
      ['dedup', 'pass'],
      ['freeze', 'pass'],
      ['canary', 'defer'],
      ['approval', 'defer'],
      ['budget', 'defer'],
      ['concurrency', 'defer'],
      ['overlap', 'pass'],
    ]);
  });

  it('passes the approver to the approval check', () => {
    const e = env();
    const outcome = guard(e, MIGRATION, { approvedBy: 'alice' });
    expect(outcome.checks.find((c) => c.check === 'approval')).toEqual({
      check: 'approval',
      decision: 'pass',
      reason: 'approved by alice',
    });
    expect(outcome).toMatchObject({
      decision: 'defer',
      reasons: [expect.stringMatching(/^canary: /) as unknown],
    });
  });

  it('leaves the intervention being guarded out of its own counts', () => {
    const e = env();
    const self = seed(e, NOW, []);

    expect(guard(e, {}, { interventionId: self.id }).decision).toBe('pass');
    expect(guard(e)).toMatchObject({
      decision: 'reject',
      reasons: [
        'dedup: duplicate of K0001 (proposed, proposed 0ms ago): the same change in area cache within the 2h dedup window',
      ],
    });
  });

  it('uses the policy it is given', () => {
    const e = env();
    const policy = {
      ...loadPolicy(e.config, e.target),
      canaryAreas: [{ area: 'db', paths: ['db/**'] }],
      approvalFrom: 'high' as const,
    };
    const outcome = runGuard(
      { store: e.store, now: NOW },
      {
        proposal: Proposal.parse(proposal(MIGRATION)),
        target: e.target,
        config: e.config,
        policy,
        approvedBy: 'alice',
      },
    );
    expect(outcome.decision).toBe('pass');
  });

  it("counts the day in the config's time zone", () => {
    const e = env({ timeZone: 'Europe/Berlin' });
    for (let i = 0; i < 5; i++)
      seed(e, Date.UTC(2026, 0, 5, 22, 30) + i, ['applying', 'applied', 'validated'], setCache(i));
    // 2026-01-05 23:10 UTC is 00:10 on the 6th in Berlin: a new day.
    expect(guard(e, setCache(99), {}, Date.UTC(2026, 0, 5, 23, 10)).decision).toBe('pass');
    expect(guard(e, setCache(99), {}, Date.UTC(2026, 0, 5, 22, 50))).toMatchObject({
      decision: 'defer',
      reasons: [
        'budget: daily budget spent: 5 of 5 applies today (day began 2026-01-05 00:00 Europe/Berlin)',
      ],
    });
  });

  describe('shadow mode', () => {
    it('turns a pass into a defer that says why', () => {
      const e = env({ guard: { shadow: true } });
      const outcome = guard(e);
      expect(outcome).toMatchObject({ decision: 'defer', reasons: [SHADOW] });
      expect(outcome.checks.every((c) => c.decision === 'pass')).toBe(true);
      expect(outcome.checks.map((c) => c.check)).toEqual(ids);
    });

    it('adds itself after the other defers', () => {
      const e = env({ guard: { shadow: true } });
      expect(guard(e, MIGRATION)).toMatchObject({
        decision: 'defer',
        reasons: [
          expect.stringMatching(/^canary: /) as unknown,
          expect.stringMatching(/^approval: /) as unknown,
          SHADOW,
        ],
      });
    });

    it('does not soften a reject', () => {
      const e = env({ guard: { shadow: true } });
      expect(guard(e, setCache(0))).toMatchObject({
        decision: 'reject',
        reasons: ['applies: config_set of config.json: the change makes no difference'],
      });
    });
  });
});

describe('protectedPaths', () => {
  it("lists kaizen's install, config, data, prompts, guards, lessons and policy files", () => {
    const repo = gitRepo(FILES);
    const e = writeConfig({
      guard: { policy: 'p.yaml' },
      target: { name: 'app', repo, guardPolicy: 'ops/t.yaml' },
    });
    const dir = path.dirname(e.configPath);

    expect(protectedPaths(e, e.targets[0]!)).toEqual([
      { path: INSTALL_ROOT, why: "inside kaizen's install folder" },
      { path: e.configPath, why: "kaizen's config file" },
      { path: path.join(dir, 'data'), why: "kaizen's data folder" },
      { path: path.join(INSTALL_ROOT, 'prompts'), why: "kaizen's prompts" },
      { path: path.dirname(DEFAULT_POLICY_FILE), why: "kaizen's guard policies" },
      { path: path.join(INSTALL_ROOT, 'lessons'), why: "kaizen's lessons" },
      { path: path.join(dir, 'data', 'lessons'), why: "kaizen's lessons" }, // lessonsDir's default
      { path: path.join(dir, 'p.yaml'), why: 'a kaizen guard policy' },
      { path: path.join(dir, 'ops/t.yaml'), why: 'a kaizen guard policy' },
    ]);
    expect(path.resolve(INSTALL_ROOT)).toBe(path.resolve(import.meta.dirname, '../..'));
  });

  it('refuses a change to kaizen itself when the target repo is the install folder', () => {
    const e = env();
    const self: TargetConfig = { ...e.target, repoPath: INSTALL_ROOT };
    const outcome = runGuard(
      { store: e.store, now: NOW },
      {
        proposal: Proposal.parse(
          proposal({
            kind: 'edit',
            changes: [{ kind: 'edit', path: 'src/guard/gate.ts', search: 'a', replace: 'b' }],
          }),
        ),
        target: self,
        config: e.config,
        policy: loadPolicy(e.config, e.target),
      },
    );
    expect(outcome).toMatchObject({
      decision: 'reject',
      reasons: ["path: src/guard/gate.ts is inside kaizen's install folder: kaizen never modifies itself"],
    });
  });
});
