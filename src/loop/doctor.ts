import { createGit } from '../apply/git.js';
import { describeLease, liveLease } from '../apply/lease.js';
import type { Clock } from '../clock.js';
import type { KaizenConfig } from '../config/schema.js';
import { ignoredBy, isTracked, ownPathsInRepo } from '../guard/ignores.js';
import { loadPolicy } from '../guard/policy.js';
import { touches } from '../propose/proposal.js';
import type { Store } from '../store/index.js';
import { formatLocal, startOfDay } from '../util/time.js';
import { needsAttention, type AttentionKind } from './attention.js';
import { ACTIVE_STATES, ROLLBACK_STATES, canTransition, type State } from './states.js';

export interface DoctorProblem {
  check: string;
  intervention?: string;
  problem: string;
}

/** Not a broken promise, but something a person should know or do (it does not fail doctor). */
export interface DoctorNote {
  kind: AttentionKind | 'lease';
  intervention?: string;
  note: string;
}

/** States in which a commit-based intervention has gone live (and so must have its commit). */
const COMMITTED: readonly State[] = [
  'applied',
  'validated',
  'no_effect',
  'inconclusive',
  'reverted',
  'rolled_back',
];

/**
 * Invariant checks over the store and the target repos. An empty list means every promise kaizen
 * makes about its own record holds.
 */
export async function runDoctor(deps: {
  store: Store;
  config: KaizenConfig;
  clock: Clock;
}): Promise<{ checked: number; problems: DoctorProblem[]; notes: DoctorNote[] }> {
  const { store, config } = deps;
  const problems: DoctorProblem[] = [];
  // Work in progress (a live lease) and what waits for a person: said, not counted as problems.
  const notes: DoctorNote[] = [];
  for (const target of config.targets) {
    const lease = liveLease(deps, target.name);
    if (lease)
      notes.push({
        kind: 'lease',
        ...(lease.interventionId ? { intervention: lease.interventionId } : {}),
        note: `${target.name}: ${describeLease(lease, config.timeZone)}`,
      });
  }
  for (const item of needsAttention(deps)) {
    if (item.kind !== 'escalation' && item.kind !== 'pending-push') continue; // problems below
    notes.push({
      kind: item.kind,
      ...(item.interventionId ? { intervention: item.interventionId } : {}),
      note: item.text,
    });
  }
  const all = store.interventions.list({ limit: 1_000_000 });

  for (const target of config.targets) {
    const policy = loadPolicy(config, target);
    const mine = all.filter((iv) => iv.target === target.name);

    // Budget: applies per calendar day never above the daily budget. The day is named in the
    // configured time zone (its midnight in UTC is the day before east of Greenwich).
    const perDay = new Map<number, string[]>();
    for (const iv of mine) {
      for (const h of store.interventions.history(iv.id)) {
        if (h.to !== 'applying') continue;
        const day = startOfDay(h.at, config.timeZone);
        perDay.set(day, [...(perDay.get(day) ?? []), iv.id]);
      }
    }
    for (const [day, ids] of perDay) {
      if (ids.length > policy.dailyBudget) {
        problems.push({
          check: 'budget',
          problem: `${ids.length} applies on ${formatLocal(day, config.timeZone).slice(0, 10)} for ${target.name}, budget ${policy.dailyBudget}: ${ids.join(', ')}`,
        });
      }
    }

    // No two active interventions in one area, or on one path (the guard's overlap check).
    const active = new Map<string, string[]>();
    const onPath = new Map<string, string[]>();
    for (const iv of mine.filter((i) => ACTIVE_STATES.includes(i.state))) {
      active.set(iv.area, [...(active.get(iv.area) ?? []), iv.id]);
      for (const key of touches(iv.proposal)) onPath.set(key, [...(onPath.get(key) ?? []), iv.id]);
    }
    for (const [area, ids] of active) {
      if (ids.length > 1)
        problems.push({
          check: 'one-per-area',
          problem: `area ${area} of ${target.name} has ${ids.length} active interventions: ${ids.join(', ')}`,
        });
    }
    for (const [key, ids] of onPath) {
      if (ids.length > 1)
        problems.push({
          check: 'one-per-path',
          problem: `${key} of ${target.name} is changed by ${ids.length} active interventions: ${ids.join(', ')}`,
        });
    }

    // Every committed intervention has its SHA, and the commit exists; every rollback its revert.
    const git = createGit(target.repoPath);
    for (const iv of mine) {
      if (iv.kind === 'runbook' || !COMMITTED.includes(iv.state)) continue;
      if (!iv.commitSha) {
        problems.push({
          check: 'commit-sha',
          intervention: iv.id,
          problem: `${iv.id} is ${iv.state} but has no commit SHA`,
        });
      } else if (!(await git.commitExists(iv.commitSha))) {
        problems.push({
          check: 'commit-exists',
          intervention: iv.id,
          problem: `${iv.id}: commit ${iv.commitSha} is not in ${target.repoPath}`,
        });
      }
      if (ROLLBACK_STATES.includes(iv.state)) {
        if (!iv.revertSha)
          problems.push({
            check: 'revert-sha',
            intervention: iv.id,
            problem: `${iv.id} is ${iv.state} but has no revert SHA`,
          });
        else if (!(await git.commitExists(iv.revertSha))) {
          problems.push({
            check: 'revert-exists',
            intervention: iv.id,
            problem: `${iv.id}: revert commit ${iv.revertSha} is not in ${target.repoPath}`,
          });
        }
      }
    }
  }

  // kaizen's own data folder and config, when they sit in a target repo, are kept out of git:
  // otherwise they show as uncommitted changes and every apply stops as drift.
  for (const target of config.targets) problems.push(...ownFilesInRepo(config, target));

  // Histories: start at proposed, each step legal and continuing the last, ending at the state.
  for (const iv of all) {
    const history = store.interventions.history(iv.id);
    let prev: State | null = null;
    history.forEach((h, i) => {
      const legal =
        i === 0 ? h.from === null && h.to === 'proposed' : h.from === prev && canTransition(h.from!, h.to);
      if (!legal)
        problems.push({
          check: 'history',
          intervention: iv.id,
          problem: `${iv.id}: transition ${i + 1} (${h.from ?? '-'} → ${h.to}) does not follow from ${prev ?? 'nothing'}`,
        });
      prev = h.to;
    });
    if (prev !== iv.state)
      problems.push({
        check: 'history',
        intervention: iv.id,
        problem: `${iv.id}: history ends at ${prev ?? 'nothing'} but the state is ${iv.state}`,
      });
    // Applying while a live process holds the target's lease is an apply in progress, not stuck.
    if (iv.state === 'applying' && !liveLease(deps, iv.target)) {
      problems.push({
        check: 'stuck',
        intervention: iv.id,
        problem: `${iv.id} is still applying: run "kaizen recover" (or any apply command) to finish or undo it`,
      });
    }
    // A submit creates an intervention and records its verdict in one transaction: `proposed`
    // is only ever left by a kaizen older than that, or a crash inside one.
    if (iv.state === 'proposed') {
      problems.push({
        check: 'orphan',
        intervention: iv.id,
        problem: `${iv.id} is still proposed: kaizen stopped before guarding it; run "kaizen recover" to reject it`,
      });
    }
  }
  return { checked: all.length, problems, notes };
}

function ownFilesInRepo(config: KaizenConfig, target: KaizenConfig['targets'][number]): DoctorProblem[] {
  const repo = target.repoPath;
  const own = ownPathsInRepo(repo, { dataDir: config.dataDir, configPath: config.configPath });
  const data = own.find((p) => p.endsWith('/'));
  const conf = own.find((p) => !p.endsWith('/'));
  const ignored = ignoredBy(
    repo,
    own.map((p) => p.replace(/\/$/, '')),
  );
  const problems: DoctorProblem[] = [];
  if (data && !ignored.has(data.slice(0, -1)))
    problems.push({
      check: 'own-files-ignored',
      problem: `kaizen's data folder ${data} is inside ${target.name}'s repository and git does not ignore it: every apply would stop as drift; add "${data}" to ${target.name}'s .gitignore`,
    });
  if (conf && !ignored.has(conf) && !isTracked(repo, conf))
    problems.push({
      check: 'own-files-ignored',
      problem: `kaizen's config ${conf} is inside ${target.name}'s repository, neither committed nor ignored: every apply would stop as drift; commit it or add it to .gitignore`,
    });
  return problems;
}
