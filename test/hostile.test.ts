import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ProposalInvalidError, type SubmitResult } from '../src/loop/submit.js';
import { git } from './helpers/git.js';
import { CORPUS, type HostileCase } from './hostile/corpus.js';
import {
  OUTSIDE_SECRET,
  buildWorld,
  disposeWorlds,
  sharedWorld,
  snapshot,
  snapshotDiff,
  storedGuard,
  type StaticWorldKind,
  type World,
} from './hostile/world.js';

/*
 * Model output is untrusted. Every proposal in the corpus goes through submitProposal against a
 * real repository and must be refused for its own, specific reason; and a refusal must not change
 * a single byte in or around the repository.
 */

type Vars = Record<string, string>;
const fill = (text: string, vars: Vars) => text.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);

const opened: World[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.close();
});
afterAll(disposeWorlds);
async function world(kind: HostileCase['world'] = 'main'): Promise<World> {
  const w = await buildWorld(kind);
  opened.push(w);
  return w;
}

/** What a refusal must leave exactly as it was: the folder around a static world's repo; a live fixture's repo and remote. */
function watched(w: World): { dir: string; skip: string[] }[] {
  if (w.kind === 'live' || w.kind === 'live-budget')
    return [
      { dir: w.repo, skip: [] },
      { dir: w.remote, skip: [] },
    ];
  // A self world keeps kaizen's own store inside the repo (git-ignored): recording the refusal is
  // the one write a refusal makes, so that folder alone is left out.
  return [{ dir: w.root, skip: w.ownData ? [w.ownData] : [] }];
}

interface Landmarks {
  files: Map<string, string>[];
  head: string;
  remote: string;
}

function landmarks(w: World): Landmarks {
  return {
    files: watched(w).map(({ dir, skip }) => snapshot(dir, skip)),
    head: w.git('rev-parse', 'HEAD'),
    remote: git(w.remote, 'rev-parse', 'refs/heads/main'),
  };
}

/** Byte for byte, the repo (with .git), its remote and the folder around them are as they were. */
function expectUnchanged(w: World, before: Landmarks, label: string): void {
  const after = landmarks(w);
  const diff = before.files.flatMap((snap, i) => snapshotDiff(snap, after.files[i]!));
  expect(diff, `files changed (${label}):\n${diff.join('\n')}`).toEqual([]);
  expect(after.head, `HEAD moved (${label})`).toBe(before.head);
  expect(after.remote, `the remote moved (${label})`).toBe(before.remote);
  // Last: git status may refresh the index's stat cache, and the snapshot above includes the index.
  expect(w.git('status', '--porcelain'), `git status (${label})`).toBe('');
}

/** Submit the case's `before` proposals, then the case itself, and check it is refused for its reason. */
async function refuse(w: World, c: HostileCase, vars: Vars): Promise<void> {
  for (const [i, p] of (c.before ?? []).entries()) {
    const r = await w.submit(p);
    expect(r.intervention.state, `before[${i}] of ${c.name}`).toBe('backlog');
    vars[`before${i}`] = r.intervention.id;
  }
  const recorded = w.rt.store.interventions.list().length;

  let result: SubmitResult | undefined;
  let error: unknown;
  try {
    result = await w.submit(c.proposal);
  } catch (err) {
    error = err;
  }
  const exp = c.expect;

  if (exp.outcome === 'invalid') {
    expect(result?.intervention, 'accepted by the schema').toBeUndefined();
    expect(error).toBeInstanceOf(ProposalInvalidError);
    const err = error as ProposalInvalidError;
    expect(err.code).toBe('PROPOSAL_INVALID');
    expect(err.problems).toEqual(expect.arrayContaining([expect.stringContaining(fill(exp.text, vars))]));
    expect(w.rt.store.interventions.list(), 'an invalid proposal is not recorded').toHaveLength(recorded);
    return;
  }

  if (error) throw error;
  const iv = w.rt.store.interventions.get(result!.intervention.id);
  const guard = storedGuard(iv);
  const reasons = guard.decision === 'pass' ? [] : guard.reasons;
  const seen = `${iv.id} is ${iv.state}; guard: ${JSON.stringify(reasons)}`;

  if (exp.outcome === 'rejected') {
    expect(iv.state, seen).toBe('rejected');
    expect(guard.decision, seen).toBe('reject');
    expect(reasons[0], seen).toMatch(new RegExp(`^${exp.check}: `));
    expect(reasons[0]).toContain(fill(exp.text, vars));
    for (const also of exp.also ?? []) expect(reasons[0]).toContain(fill(also, vars));
    return;
  }

  expect(iv.state, seen).toBe('backlog');
  expect(guard.decision, seen).toBe('defer');
  const [first, ...rest] = exp.reasons.map((r) => fill(r, vars));
  expect(reasons[0], seen).toContain(first);
  expect(reasons[0]!.startsWith(first!.slice(0, first!.indexOf(':') + 1)), seen).toBe(true);
  expect(iv.waitingReason).toBe(reasons.join('; '));
  for (const r of rest) expect(iv.waitingReason).toContain(r);
  if (exp.risk) {
    expect(guard.risk).toMatchObject(exp.risk);
    expect(iv.risk).toBe(exp.risk.effective);
  }
}

const isLive = (c: HostileCase) => c.world === 'live' || c.world === 'live-budget';

describe('hostile proposals', () => {
  it('the corpus is large and every name is unique', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(45);
    expect(new Set(CORPUS.map((c) => c.name)).size).toBe(CORPUS.length);
  });

  it('the byte-identity check sees any change under root: content, mode, a new folder, a link', async () => {
    const w = await world('main');
    const before = snapshot(w.root);
    appendFileSync(path.join(w.outside, 'secret.txt'), 'x');
    chmodSync(path.join(w.repo, 'deploy.js'), 0o755);
    mkdirSync(path.join(w.root, 'x'));
    symlinkSync('elsewhere', path.join(w.repo, 'src', 'link'));
    expect(snapshotDiff(before, snapshot(w.root)).map((d) => d.split(':')[0])).toEqual([
      'changed outside/secret.txt',
      'changed repo/deploy.js',
      'added repo/src/link',
      'added x',
    ]);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    // Stateless cases share a world per kind (their proposals differ, so none is a duplicate of
    // another); the ones that need applies first get a fresh fixture.
    const w = isLive(c) ? await world(c.world) : sharedWorld((c.world ?? 'main') as StaticWorldKind);
    const vars: Vars = { root: w.root, ...(await c.setup?.(w)) };
    const before = landmarks(w);
    await refuse(w, c, vars);
    expectUnchanged(w, before, c.name);
  });

  it('refuses the whole corpus in shared worlds, and not one byte in or around the repos changes', async () => {
    const cases = CORPUS.filter((c) => !isLive(c));
    const kinds = [...new Set(cases.map((c) => c.world ?? 'main'))] as StaticWorldKind[];
    const worlds = new Map<string, World>();
    for (const kind of kinds) worlds.set(kind, await world(kind));
    const passwd = existsSync('/etc/passwd') ? readFileSync('/etc/passwd') : undefined;
    const before = new Map([...worlds].map(([kind, w]) => [kind, landmarks(w)]));

    for (const c of cases) {
      const w = worlds.get(c.world ?? 'main')!;
      await refuse(w, c, { root: w.root });
    }

    for (const [kind, w] of worlds) {
      expectUnchanged(w, before.get(kind)!, `${kind} world after ${cases.length} refusals`);
      // What the escaping paths aimed at, named once more.
      expect(readFileSync(path.join(w.outside, 'secret.txt'), 'utf8')).toBe(OUTSIDE_SECRET);
      expect(existsSync(path.join(w.root, 'x'))).toBe(false);
      const states = w.rt.store.interventions.list().map((i) => i.state);
      expect(
        states.every((s) => s === 'rejected' || s === 'backlog'),
        `${kind}: ${states.join(', ')}`,
      ).toBe(true);
    }
    if (passwd) expect(readFileSync('/etc/passwd').equals(passwd)).toBe(true);
    // A hundred-odd refusals, each asking git a few questions: a bound for a loaded machine.
  }, 180_000);
});
