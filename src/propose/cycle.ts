import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ApplyDeps } from '../apply/apply-intervention.js';
import { TargetBusyError } from '../apply/lease.js';
import type { TargetConfig } from '../config/schema.js';
import { areaFreeze } from '../guard/freeze.js';
import { loadPolicy } from '../guard/policy.js';
import { ProposalInvalidError, submitProposal, type SubmitResult } from '../loop/submit.js';
import { buildDigest } from '../observe/digest.js';
import { startOfDay } from '../util/time.js';
import type { CircuitBreaker } from './breaker.js';
import { buildContext, type ProposerContext } from './context/builder.js';
import type { Lesson } from './context/lesson.js';
import { loadLessons } from '../learn/lesson-files.js';
import { loadPrompt } from './prompt.js';
import { runScans } from './scan.js';
import { callModel } from './model-call.js';
import { createProvider, modelFor, selectProvider } from './providers/index.js';
import { rulesProvider } from './rules/provider.js';
import { jsonSchemaOf, ProposalBatch, PROPOSAL_BATCH_SCHEMA_NAME } from './structured.js';

/** Config and small text files whose content the proposer sees (others: the path only). */
const EXCERPT = /\.(json|ya?ml|toml|ini|conf|cfg|env\.example)$/i;
const MAX_FILES = 200;

export interface ProposeDeps extends ApplyDeps {
  env?: NodeJS.ProcessEnv;
  /** One per provider, kept by the daemon across cycles; a one-shot command gets a fresh one. */
  breakers?: Map<string, CircuitBreaker>;
}

export interface ProposeCycleResult {
  target: string;
  provider: { id: string; why: string; model?: string };
  /** Set when proposing paused (token budget spent) or fell back to the rules. */
  note?: string;
  context?: { tokens: number; sections: ProposerContext['sections'] };
  prompt?: { version: string; text: string };
  submitted: SubmitResult[];
  invalid: string[];
  notes: string[];
}

/**
 * Build what the proposer reads: the context (under the token budget) and the rendered prompt.
 * `lessons`: the lessons to match against the target (default: the shipped ones and the config's
 * lessonsDir); their scan rules run over the repo and their hits become findings.
 */
export function buildProposerInput(
  deps: ProposeDeps,
  target: TargetConfig,
  options: { lessons?: readonly Lesson[] } = {},
) {
  const { store, clock, config } = deps;
  const now = clock.now();
  const policy = loadPolicy(config, target);
  store.catalog.sync(target, now);
  const interventions = store.interventions.list({ target: target.name, limit: 50 });
  const areas = [...new Set(interventions.map((i) => i.area))];
  const frozenAreas = areas.flatMap((a) => {
    const f = areaFreeze(store, target.name, a, policy, now);
    return f ? [{ area: a, until: f.until, interventions: f.interventions }] : [];
  });
  const prompt = loadPrompt('proposer');
  const lessons = options.lessons ?? loadLessons(config).lessons;
  const scans = lessons.flatMap((l) =>
    l.status === 'active' && l.scan ? [{ lesson: l.id, ...l.scan }] : [],
  );
  const findings = scans.length
    ? runScans(target.repoPath, scans, { blockedGlobs: policy.blockedPaths, clock })
    : [];
  const context = buildContext({
    target,
    digest: buildDigest(deps, target, { staleAfterMs: 3 * config.schedule.observeMs }),
    lessons,
    interventions,
    frozenAreas,
    budget: {
      used: store.interventions.countAppliesSince(target.name, startOfDay(now, config.timeZone)),
      limit: policy.dailyBudget,
    },
    findings,
    files: repoFiles(target.repoPath),
    blockedPaths: policy.blockedPaths,
    // The template and the answer need room of their own.
    tokenBudget: Math.max(500, config.proposer.contextTokens - Math.ceil(prompt.system.length / 4) - 200),
    now,
    env: (deps.env ?? process.env) as Record<string, string | undefined>,
  });
  return { prompt, context, lessons, text: prompt.render({ context: context.text }) };
}

/**
 * One Propose cycle for a target: the configured provider (a model, or the offline rules)
 * proposes; each proposal goes through the guard gate like a person's. A model that fails,
 * answers invalidly twice, is behind an open breaker, or has spent the day's tokens leaves the
 * rules engine to propose.
 */
export async function proposeCycle(
  deps: ProposeDeps,
  target: TargetConfig,
  options: { dryRun?: boolean } = {},
): Promise<ProposeCycleResult> {
  const { store, clock, config } = deps;
  const env = deps.env ?? process.env;
  const selection = selectProvider(config.proposer, env);
  const result: ProposeCycleResult = {
    target: target.name,
    provider: { ...selection },
    submitted: [],
    invalid: [],
    notes: [],
  };
  const input = buildProposerInput(deps, target);
  result.context = { tokens: input.context.tokens, sections: input.context.sections };
  result.prompt = { version: input.prompt.version, text: input.text };
  if (options.dryRun) return result;

  let proposals: unknown[] | undefined;
  let usage: { inputTokens: number; outputTokens: number; latencyMs: number } | undefined;
  const provider = await createProvider(selection, env, {
    clock,
    ...(config.proposer.baseUrl ? { baseUrl: config.proposer.baseUrl } : {}),
  });
  if (provider) {
    const model = modelFor(config.proposer, provider.id, 'propose');
    result.provider.model = model;
    const used = store.usage.tokensSince(target.name, startOfDay(clock.now(), config.timeZone));
    if (used >= config.proposer.dailyTokens) {
      result.note = `daily token budget spent (${used} of ${config.proposer.dailyTokens}): proposing with the model pauses until tomorrow; the offline rules still run`;
      store.events.append(clock.now(), {
        kind: 'budget_exhausted',
        target: target.name,
        data: { used, limit: config.proposer.dailyTokens },
      });
    } else {
      const answer = await callModel(deps, {
        provider,
        target: target.name,
        promptVersion: input.prompt.version,
        schema: ProposalBatch,
        request: {
          task: 'proposer',
          model,
          system: input.prompt.system,
          prompt: input.text,
          maxOutputTokens: config.proposer.maxOutputTokens,
          timeoutMs: config.proposer.timeoutMs,
          schema: jsonSchemaOf(ProposalBatch),
          schemaName: PROPOSAL_BATCH_SCHEMA_NAME,
        },
      });
      usage = answer.usage;
      if (answer.ok) {
        proposals = answer.value.proposals;
        if (answer.value.notes) result.notes.push(`model: ${answer.value.notes}`);
      } else if (answer.unavailable !== undefined) {
        result.note = `${selection.id} is unavailable (${answer.unavailable}); the offline rules propose instead`;
      } else {
        result.note = `the model's answer was invalid twice (${answer.reason}); the raw answers are kept (kaizen usage); the offline rules propose instead`;
      }
    }
  }

  const origin = provider && proposals ? `${selection.id}:${result.provider.model}` : 'rules';
  if (!proposals) {
    const lastFired = lastFiredRules(deps, target.name);
    const rules = rulesProvider.propose({
      store,
      target,
      now: clock.now(),
      lastFired,
      lessons: input.lessons,
    });
    proposals = rules.proposals;
    result.notes.push(...rules.notes);
    for (const f of rules.fired) {
      store.events.append(clock.now(), {
        kind: 'rule_fired',
        target: target.name,
        data: { key: f.key, signal: f.signal, value: f.value },
      });
    }
  }

  for (const proposal of proposals) {
    try {
      const submitted = await submitProposal(deps, {
        target: target.name,
        proposal,
        origin,
        actor: 'kaizen',
      });
      result.submitted.push(submitted);
      // Which prompt and model produced it: the meta-review breaks calibration down by these.
      store.events.append(clock.now(), {
        kind: 'proposal_origin',
        target: target.name,
        interventionId: submitted.intervention.id,
        data: {
          provider: origin === 'rules' ? 'rules' : selection.id,
          model: origin === 'rules' ? null : (result.provider.model ?? null),
          promptVersion: input.prompt.version,
          ...(origin === 'rules' ? {} : (usage ?? {})),
        },
      });
    } catch (err) {
      if (err instanceof TargetBusyError) {
        // Another process took the target between the cycle's start and this submit: nothing
        // was recorded; the proposal comes again if the signals still call for it.
        result.notes.push(`not submitted: ${err.message}`);
        continue;
      }
      if (!(err instanceof ProposalInvalidError)) throw err;
      result.invalid.push(err.message);
    }
  }
  return result;
}

/** When each rule last fired for this target, from the event log (cooldowns survive restarts). */
function lastFiredRules(deps: ProposeDeps, target: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const e of deps.store.events
    .list({ kind: 'rule_fired', since: deps.clock.now() - 7 * 86_400_000, limit: 10_000 })
    .reverse()) {
    if (e.target === target && typeof e.data.key === 'string') map.set(e.data.key, e.t);
  }
  return map;
}

/** The tracked files of the repo (what a change may touch), with excerpts of small config files. */
function repoFiles(repo: string): { path: string; excerpt?: string }[] {
  let listed: string[];
  try {
    listed = execFileSync('git', ['ls-files', '-z'], {
      cwd: repo,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .split('\0')
      .filter(Boolean);
  } catch {
    return [];
  }
  return listed.slice(0, MAX_FILES).map((p) => {
    if (!EXCERPT.test(p)) return { path: p };
    try {
      const abs = path.join(repo, p);
      if (statSync(abs).size > 8192) return { path: p };
      return { path: p, excerpt: readFileSync(abs, 'utf8') };
    } catch {
      return { path: p };
    }
  });
}
