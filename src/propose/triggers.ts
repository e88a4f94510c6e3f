import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { KaizenConfig, TargetConfig } from '../config/schema.js';
import { buildDigest } from '../observe/digest.js';
import type { Store } from '../store/index.js';
import { medianOfSorted } from '../store/samples.js';
import { formatLocal } from '../util/time.js';
import { duration } from './context/builder.js';
import { COVERAGE, DEFAULT_TOLERANCE, formatNumber, MIN_SAMPLES } from './rules/evaluate.js';

/*
 * When a target's propose cycle is due. Deterministic: the same store, config and clock give the
 * same answer, and nothing is written (the caller appends a `propose_cycle` event with
 * `recordCycle` after each cycle it runs; that event log is the only memory).
 *
 * - alert: a signal ENTERED alert (state alert, its run began after the last cycle of any kind, so
 *   no cycle has seen it yet). Due at once, unless a cycle triggered by an alert or a stall ran less
 *   than `proposer.alertDebounce` ago: then it is held back (not dropped) until the debounce ends,
 *   so a flapping signal does not start a cycle per sample.
 * - stall: a signal with role productivity whose values have been flat (max − min ≤ 1 % of
 *   |median|) for at least `proposer.stallAfter`, with at least 3 values in the trailing stallAfter
 *   window spanning ≥ 80 % of it. At most once per stallAfter per signal (only a cycle that named
 *   the signal as stalled counts) and under the same debounce as alerts.
 * - schedule: the last cycle of any kind is at least `schedule.propose` old, or there was none.
 *
 * When several are due, `kind` is the first of alert, stall, schedule; the reason names every due
 * alert and stall, and `recordCycle` stores them all, so one cycle handles them together.
 */

export type TriggerKind = 'schedule' | 'alert' | 'stall';

export interface ProposeDue {
  due: boolean;
  /** Which trigger and why, or why not and when next: for the event log and `kaizen status`. */
  reason: string;
  kind?: TriggerKind;
  /** Signals that entered alert (set when due for an alert). */
  alerts?: string[];
  /** Productivity signals found stalled (set when due for a stall, also beside an alert). */
  stalls?: string[];
}

export interface TriggerDeps {
  store: Store;
  clock: Clock;
  config: Pick<KaizenConfig, 'schedule' | 'proposer' | 'timeZone'>;
}

export const PROPOSE_CYCLE_EVENT = 'propose_cycle';

const CycleData = z.object({
  trigger: z.string().optional(),
  alerts: z.array(z.string()).optional(),
  stalls: z.array(z.string()).optional(),
});

interface Cycle {
  t: number;
  trigger?: string;
  alerts: string[];
  stalls: string[];
}

/**
 * Append the `propose_cycle` event for a cycle just run. `trigger` is the decision that started it,
 * or a bare kind; a cycle run by hand (say `kaizen propose`) is `manual`.
 */
export function recordCycle(
  deps: Pick<TriggerDeps, 'store' | 'clock'>,
  target: Pick<TargetConfig, 'name'>,
  trigger: ProposeDue | TriggerKind | 'manual',
): number {
  const decision: Partial<ProposeDue> = typeof trigger === 'string' ? {} : trigger;
  const kind = typeof trigger === 'string' ? trigger : (trigger.kind ?? 'manual');
  return deps.store.events.append(deps.clock.now(), {
    kind: PROPOSE_CYCLE_EVENT,
    target: target.name,
    data: {
      trigger: kind,
      ...(decision.reason !== undefined ? { reason: decision.reason } : {}),
      ...(decision.alerts?.length ? { alerts: decision.alerts } : {}),
      ...(decision.stalls?.length ? { stalls: decision.stalls } : {}),
    },
  });
}

/** Whether a propose cycle for `target` is due now, and why. */
export function proposeDue(deps: TriggerDeps, target: TargetConfig): ProposeDue {
  const { store, clock, config } = deps;
  const now = clock.now();
  const { alertDebounceMs, stallAfterMs } = config.proposer;
  const { proposeMs } = config.schedule;

  const last = lastCycle(store, target.name, now);
  const recent = cyclesSince(store, target.name, now - Math.max(alertDebounceMs, stallAfterMs), now);
  const lastTriggered = recent.find((c) => c.trigger === 'alert' || c.trigger === 'stall');
  const debounceUntil = lastTriggered ? lastTriggered.t + alertDebounceMs : -Infinity;
  const debounced = now < debounceUntil;

  // Alerts entered since the last cycle.
  const alerts: { name: string; text: string }[] = [];
  if (target.signals.some((s) => s.alert)) {
    for (const d of buildDigest(deps, target).signals) {
      const since = d.alert.since;
      if (d.alert.state !== 'alert' || since === undefined) continue;
      if (last && since <= last.t) continue;
      alerts.push({
        name: d.name,
        text: `${d.name} entered alert (${d.alert.threshold ?? '?'}) ${duration(now - since)} ago`,
      });
    }
  }

  // Stalled productivity signals not named by a cycle within stallAfter.
  const stalls: { name: string; text: string }[] = [];
  const ids = store.catalog.signalsOf(target.name);
  for (const signal of target.signals) {
    if (signal.role !== 'productivity') continue;
    const id = ids.get(signal.name)?.id;
    if (id === undefined) continue;
    const stall = flatRun(store, id, now, stallAfterMs);
    if (!stall || now - stall.since < stallAfterMs) continue;
    if (recent.some((c) => c.stalls.includes(signal.name) && now - c.t < stallAfterMs)) continue;
    stalls.push({
      name: signal.name,
      text: `${signal.name} flat at ${formatNumber(stall.value)} for ${duration(now - stall.since)}`,
    });
  }

  const parts = [
    ...(alerts.length ? [`alert: ${alerts.map((a) => a.text).join(', ')}`] : []),
    ...(stalls.length ? [`stall: ${stalls.map((s) => s.text).join(', ')}`] : []),
  ];
  const names = {
    ...(alerts.length ? { alerts: alerts.map((a) => a.name) } : {}),
    ...(stalls.length ? { stalls: stalls.map((s) => s.name) } : {}),
  };
  if (parts.length > 0 && !debounced) {
    return { due: true, kind: alerts.length ? 'alert' : 'stall', reason: parts.join('; '), ...names };
  }

  // A scheduled cycle sees the held-back alerts and stalls too, and records them as handled.
  const also = parts.length ? `; also ${parts.join('; ')}` : '';
  if (!last) return { due: true, kind: 'schedule', reason: `schedule: no cycle yet${also}`, ...names };
  const age = now - last.t;
  if (age >= proposeMs) {
    return {
      due: true,
      kind: 'schedule',
      reason: `schedule: last cycle ${duration(age)} ago${also}`,
      ...names,
    };
  }

  let reason = `not due: last cycle ${duration(age)} ago, next at ${formatLocal(last.t + proposeMs, config.timeZone)}`;
  if (parts.length > 0) {
    reason += `; held back by the ${duration(alertDebounceMs)} debounce until ${formatLocal(debounceUntil, config.timeZone)}: ${parts.join('; ')}`;
  }
  return { due: false, reason };
}

function toCycle(row: { t: number; data: string }): Cycle {
  const parsed = CycleData.safeParse(JSON.parse(row.data));
  const data = parsed.success ? parsed.data : {};
  return {
    t: row.t,
    ...(data.trigger !== undefined ? { trigger: data.trigger } : {}),
    alerts: data.alerts ?? [],
    stalls: data.stalls ?? [],
  };
}

function lastCycle(store: Store, target: string, now: number): Cycle | undefined {
  const row = store.db
    .prepare(
      `SELECT t, data FROM events WHERE t <= ? AND kind = ? AND target = ? ORDER BY t DESC, id DESC LIMIT 1`,
    )
    .get(now, PROPOSE_CYCLE_EVENT, target) as { t: number; data: string } | undefined;
  return row ? toCycle(row) : undefined;
}

/** Cycles with from < t ≤ now, newest first. */
function cyclesSince(store: Store, target: string, from: number, now: number): Cycle[] {
  const rows = store.db
    .prepare(
      `SELECT t, data FROM events WHERE t > ? AND t <= ? AND kind = ? AND target = ? ORDER BY t DESC, id DESC`,
    )
    .all(from, now, PROPOSE_CYCLE_EVENT, target) as { t: number; data: string }[];
  return rows.map(toCycle);
}

const BATCH = 500;

/**
 * The current flat run of a signal: undefined unless the values in the trailing `windowMs` are
 * enough (MIN_SAMPLES, spanning COVERAGE of the window) and flat. The run then reaches back past the
 * window for as long as older values stay within the window's tolerance; `since` is its oldest value.
 */
function flatRun(
  store: Store,
  signalId: number,
  now: number,
  windowMs: number,
): { since: number; value: number } | undefined {
  const values = store.samples.values(signalId, now - windowMs, now + 1);
  const first = values[0];
  const last = values.at(-1);
  if (!first || !last || values.length < MIN_SAMPLES || last.t - first.t < COVERAGE * windowMs) {
    return undefined;
  }
  const sorted = values.map((v) => v.value).sort((a, b) => a - b);
  const median = medianOfSorted(sorted)!;
  const allowed = DEFAULT_TOLERANCE * Math.max(Math.abs(median), 1e-9);
  let lo = sorted[0]!;
  let hi = sorted.at(-1)!;
  if (hi - lo > allowed) return undefined;

  let since = first.t;
  for (;;) {
    const older = store.samples.valuesBefore(signalId, since, BATCH);
    for (let i = older.length - 1; i >= 0; i--) {
      const v = older[i]!;
      const nlo = Math.min(lo, v.value);
      const nhi = Math.max(hi, v.value);
      if (nhi - nlo > allowed) return { since, value: median };
      lo = nlo;
      hi = nhi;
      since = v.t;
    }
    if (older.length < BATCH) return { since, value: median };
  }
}
