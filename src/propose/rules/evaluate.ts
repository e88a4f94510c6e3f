import {
  fillTemplate,
  formatPath,
  type RuleAction,
  type SelfHealRule,
  type TargetConfig,
} from '../../config/schema.js';
import type { Store } from '../../store/index.js';
import { medianOfSorted } from '../../store/samples.js';
import { formatDuration } from '../../util/duration.js';
import { Proposal, type ProposalInput } from '../proposal.js';

/*
 * The deterministic half of the offline rules engine: decide from stored samples whether a rule's
 * condition holds, and fill in its proposal template. No clock, no randomness: the same store, rules
 * and `now` give the same answer.
 *
 * A condition is judged on the VALUE samples of its signal with now − for ≤ t ≤ now (error samples
 * are ignored). It is judged only with enough coverage: at least MIN_SAMPLES values, and the oldest
 * and newest of them at least COVERAGE × for apart. With less (a new signal, a source that fails,
 * sampling that stopped) the rule does not fire: "above 30 for 10 minutes" is never inferred from
 * one sample.
 *
 * - above / below: every value in the window is strictly above / below `value` (a value exactly at
 *   the threshold does not count).
 * - flat: max − min ≤ tolerance × max(|median|, 1e-9) over the window (tolerance default 0.01), so a
 *   signal stuck at 0 (a hung worker's jobs_per_s) is flat only while it is exactly 0.
 */

export const MIN_SAMPLES = 3;
export const COVERAGE = 0.8;
export const DEFAULT_TOLERANCE = 0.01;
/** How long a lesson's action stays quiet after it fired (rules have their own `cooldown`). */
export const LESSON_COOLDOWN_MS = 6 * 3_600_000;

export type Condition = RuleAction['when'];

export type Check =
  | {
      fired: true;
      /** The newest value in the window. */
      value: number;
      /**
       * How long the condition has held: for above/below, since the first value of the current run
       * beyond the threshold (as far back as raw samples reach, so it may exceed `for`); for flat,
       * since the oldest value in the window.
       */
      heldMs: number;
    }
  | { fired: false; reason: string };

/** Whether `when` holds for the signal `signalId` at `now`, from its stored samples. */
export function checkCondition(store: Store, signalId: number, when: Condition, now: number): Check {
  const from = now - when.forMs;
  const values = store.samples.values(signalId, from, now + 1);
  const first = values[0];
  const last = values.at(-1);
  if (!first || !last || values.length < MIN_SAMPLES || last.t - first.t < COVERAGE * when.forMs) {
    const span = first && last ? formatDuration(last.t - first.t) : '0s';
    return {
      fired: false,
      reason: `not enough samples: ${values.length} value(s) spanning ${span} of the ${formatDuration(when.forMs)} window (need ${MIN_SAMPLES}, spanning ${COVERAGE * 100} %)`,
    };
  }

  if (when.condition === 'flat') {
    const sorted = values.map((v) => v.value).sort((a, b) => a - b);
    const range = sorted.at(-1)! - sorted[0]!;
    const tolerance = when.tolerance ?? DEFAULT_TOLERANCE;
    const allowed = tolerance * Math.max(Math.abs(medianOfSorted(sorted)!), 1e-9);
    if (range > allowed) {
      return {
        fired: false,
        reason: `not flat: moved by ${formatNumber(range)} (allowed ${formatNumber(allowed)})`,
      };
    }
    return { fired: true, value: last.value, heldMs: now - first.t };
  }

  const threshold = when.value!;
  const beyond = (v: number) => (when.condition === 'above' ? v > threshold : v < threshold);
  const breaking = values.find((v) => !beyond(v.value));
  if (breaking) {
    return {
      fired: false,
      reason: `not ${when.condition} ${formatNumber(threshold)} throughout: ${formatNumber(breaking.value)} at ${new Date(breaking.t).toISOString()}`,
    };
  }
  // The run began after the newest value that was not beyond the threshold.
  const op = when.condition === 'above' ? '>' : '<';
  const lastOk = store.db
    .prepare(
      `SELECT MAX(t) FROM samples WHERE signal_id = ? AND t < ? AND value IS NOT NULL AND NOT (value ${op} ?)`,
    )
    .pluck()
    .get(signalId, first.t, threshold) as number | null;
  const runStart = store.db
    .prepare('SELECT MIN(t) FROM samples WHERE signal_id = ? AND t > ? AND t <= ? AND value IS NOT NULL')
    .pluck()
    .get(signalId, lastOk ?? Number.MIN_SAFE_INTEGER, first.t) as number | null;
  return { fired: true, value: last.value, heldMs: now - (runStart ?? first.t) };
}

/** A number for people: whole numbers as they are, otherwise a few significant digits. */
export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1000) return String(Math.round(v));
  if (abs >= 1) return String(Number(v.toFixed(2)));
  return String(Number(v.toPrecision(3)));
}

/** "above 30 for 10m", "flat within 1 % for 2h" */
export function describeCondition(when: Condition): string {
  const forText = `for ${formatDuration(when.forMs)}`;
  if (when.condition === 'flat') {
    const pct = formatNumber((when.tolerance ?? DEFAULT_TOLERANCE) * 100);
    return `flat within ${pct} % ${forText}`;
  }
  return `${when.condition} ${formatNumber(when.value!)} ${forText}`;
}

export type BuildResult = { ok: true; proposal: ProposalInput } | { ok: false; reason: string };

/**
 * Fill in a template for a firing and check the result against the Proposal schema. `trigger` and
 * `citesLessons` are set by the engine, never by the template.
 */
export function buildProposal(
  action: RuleAction,
  firing: { value: number; heldMs: number },
  extra: { trigger: string; citesLessons?: string[] },
): BuildResult {
  const filled = fillTemplate(action.propose, {
    signal: action.when.signal,
    value: formatNumber(firing.value),
    held: formatDuration(firing.heldMs),
  });
  const candidate = withoutUndefined({
    ...filled,
    trigger: extra.trigger.length > 500 ? `${extra.trigger.slice(0, 497)}...` : extra.trigger,
    ...(extra.citesLessons ? { citesLessons: extra.citesLessons } : {}),
  });
  const parsed = Proposal.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return {
      ok: false,
      reason: `the filled-in proposal is invalid: ${formatPath(issue.path) || 'proposal'}: ${issue.message}`,
    };
  }
  return { ok: true, proposal: candidate as ProposalInput };
}

/** A copy without undefined-valued keys (at any depth): the Proposal schema is strict about keys. */
function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, withoutUndefined(v)]),
    ) as T;
  }
  return value;
}

export interface FiredRule {
  /** The rule's name. */
  rule: string;
  signal: string;
  /** The newest value in the window. */
  value: number;
  heldMs: number;
  proposal: ProposalInput;
}

export interface EvaluateInput {
  store: Store;
  target: TargetConfig;
  rules: readonly SelfHealRule[];
  now: number;
  /** When each rule last fired (rule name → ms); rules fired within their cooldown are skipped. Not modified. */
  lastFired: ReadonlyMap<string, number>;
}

/** Fired rules and, for every rule that did not fire, why (in rule-name order). */
export function evaluateRulesWithNotes(input: EvaluateInput): { fired: FiredRule[]; notes: string[] } {
  const { store, target, now, lastFired } = input;
  const signals = store.catalog.signalsOf(target.name);
  const fired: FiredRule[] = [];
  const notes: string[] = [];
  const rules = [...input.rules].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const rule of rules) {
    const label = `rule ${rule.name}`;
    const last = lastFired.get(rule.name);
    if (last !== undefined && now - last < rule.cooldownMs) {
      notes.push(
        `${label}: cooling down until ${new Date(last + rule.cooldownMs).toISOString()} (fired ${new Date(last).toISOString()})`,
      );
      continue;
    }
    const result = evaluateAction(label, rule, signals, store, now);
    if (result.ok) fired.push({ rule: rule.name, ...result.fired });
    notes.push(result.note);
  }
  return { fired, notes };
}

/**
 * Evaluate `rules` (in name order) against the stored samples at `now`. Deterministic; reads the
 * store only. The caller records what it acted on in `lastFired` (`lastFired.set(rule, now)`).
 */
export function evaluateRules(input: EvaluateInput): FiredRule[] {
  return evaluateRulesWithNotes(input).fired;
}

/** Check one rule or lesson action; `label` names it in notes and in the proposal's trigger. */
export function evaluateAction(
  label: string,
  action: RuleAction,
  signals: ReadonlyMap<string, { id: number }>,
  store: Store,
  now: number,
  citesLessons?: string[],
): { ok: true; fired: Omit<FiredRule, 'rule'>; note: string } | { ok: false; note: string } {
  const { when } = action;
  const row = signals.get(when.signal);
  if (!row) return { ok: false, note: `${label}: signal ${when.signal} has no samples in this target` };
  const check = checkCondition(store, row.id, when, now);
  if (!check.fired) return { ok: false, note: `${label}: ${when.signal} ${check.reason}` };
  const what = `${when.signal} ${describeCondition(when)} (value ${formatNumber(check.value)}, held ${formatDuration(check.heldMs)})`;
  const built = buildProposal(action, check, {
    trigger: `${label}: ${what}`,
    ...(citesLessons ? { citesLessons } : {}),
  });
  if (!built.ok) return { ok: false, note: `${label}: fired (${what}) but ${built.reason}` };
  return {
    ok: true,
    fired: { signal: when.signal, value: check.value, heldMs: check.heldMs, proposal: built.proposal },
    note: `${label}: fired: ${what}`,
  };
}
