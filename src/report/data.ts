import { z } from 'zod';
import type { Runtime } from '../compose.js';
import { describeThreshold } from '../observe/alert.js';
import { OUTCOME_STATES, STATES, type State } from '../loop/states.js';
import {
  calibrationPoint,
  summarise,
  type CalibrationPoint,
  type CalibrationSummary,
} from './calibration.js';
import { blindSpots, type BlindSpots } from './blind-spots.js';
import { hourlyMedians } from './episodes.js';
import { lessonFigures, type LessonFigures, type ScanCatch } from './lesson-figures.js';
import { alertEpisodes, meanTimeToRecovery, type Episode } from './recovery.js';
import {
  ALL,
  lastTransitionBefore,
  loadTimelines,
  stateAt,
  transitionsIn,
  type Tracked,
} from './timeline.js';
import { isoDate, shiftWeek, type IsoWeek } from './week.js';

/*
 * Every number of the weekly report, gathered from the store in one place. Nothing here writes
 * except the lessons index sync (the lesson files are the truth; the index is a copy of them).
 * Renderers only format what this returns.
 */

/** Weeks of history in the trend charts and the per-prompt breakdown, this week included. */
export const TREND_WEEKS = 8;
/** A mean calibration error that moves more than this between weeks counts as drift. */
export const DRIFT_MARGIN = 0.1;
/** Signals acted on that get a trend chart, at most. */
export const MAX_SIGNAL_CHARTS = 6;

/** Outcomes shown in the verdict charts: where a change that went live ended up. */
export const VERDICT_STATES = ['validated', 'no_effect', 'inconclusive', 'reverted', 'rolled_back'] as const;
export type VerdictState = (typeof VERDICT_STATES)[number];

export type { BlindSpots } from './blind-spots.js';
export type { LessonFigures, LessonLine, ScanCatch } from './lesson-figures.js';

export type ReportDeps = Pick<Runtime, 'config' | 'store' | 'clock'>;

export interface WeekInfo extends IsoWeek {
  /** Figures run up to here: the week's end, or now while the week is in progress. */
  until: number;
  partial: boolean;
}

export interface InterventionLine {
  id: string;
  target: string;
  title: string;
  area: string;
  kind: string;
  risk: string;
  origin: string;
  /** e.g. `latency_ms down 30 %`. */
  prediction: string;
  /** The state at the end of the week. */
  state: State;
  /** The states it entered this week, in order. */
  entered: State[];
  /** Why it is in that state (the reason of its last transition). */
  reason: string;
  calibration: CalibrationPoint | null;
}

export interface TrendWeek {
  label: string;
  start: number;
  end: number;
  /** Interventions that entered each outcome that week. */
  outcomes: Record<VerdictState, number>;
  /** The same outcomes by area. */
  byArea: Record<string, number>;
  calibration: CalibrationSummary;
  /** Mean calibration error by proposal origin (label), for origins with points that week. */
  calibrationByOrigin: Record<string, number>;
  mttrMs: number | null;
  recovered: number;
}

export interface OriginRow {
  label: string;
  provider: string;
  model: string | null;
  promptVersion: string | null;
  /** Proposed in the trend window. */
  proposed: number;
  /** Their states at the end of the week. */
  states: Partial<Record<State, number>>;
  /** Finished (an outcome state) of those proposed. */
  finished: number;
  /** validated / finished; null when none finished. */
  validatedShare: number | null;
  calibration: CalibrationSummary;
}

export interface WeeklyData {
  week: WeekInfo;
  generatedAt: number;
  storeFile: string;
  targets: string[];
  summary: {
    /** Distinct interventions that entered each state this week. */
    entered: Record<State, number>;
    /** Interventions with any transition this week. */
    touched: number;
    modelCalls: number;
    modelCallsFailed: number;
    tokens: number;
    budgetExhausted: number;
    driftRefusals: number;
  };
  interventions: InterventionLine[];
  trend: TrendWeek[];
  calibration: {
    /** Points in the trend window, oldest first, with the origin label of their proposal. */
    points: (CalibrationPoint & { origin: string })[];
    thisWeek: CalibrationSummary;
    /** The weeks before this one in the trend window, pooled. */
    before: CalibrationSummary;
    drift: { change: number | null; direction: 'worse' | 'better' | 'steady' | 'unknown' };
  };
  byOrigin: OriginRow[];
  recovery: {
    /** Episodes that alerted at some point this week. */
    episodes: Episode[];
    mttrMs: number | null;
    recovered: number;
    ongoing: number;
    /** MTTR of the weeks before this one in the trend window, pooled. */
    beforeMttrMs: number | null;
  };
  prevented: {
    clearedAfterValidated: Episode[];
    /** Proposals this week that cite a lesson with a scan rule: its failure class found again in the code. */
    scanCatches: ScanCatch[];
  };
  lessons: LessonFigures;
  freezes: {
    frozen: {
      target: string;
      area: string;
      since: number;
      until: number;
      interventions: string[];
      stillFrozen: boolean;
    }[];
    escalations: { t: number; target: string | null; interventionId: string | null; why: string }[];
  };
  blindSpots: BlindSpots;
  signals: {
    target: string;
    name: string;
    unit: string;
    threshold: string | null;
    alert: { above?: number | undefined; below?: number | undefined } | null;
    points: { t: number; value: number }[];
    applied: { id: string; t: number; state: State }[];
  }[];
}

const FrozenEvent = z.object({
  area: z.string(),
  key: z.string().optional(),
  since: z.number(),
  until: z.number(),
  interventions: z.array(z.string()).default([]),
});
const EscalationEvent = z.object({ why: z.string().default('') });

/** Gather every figure of the weekly report for `week` from the store. */
export function gatherWeeklyData(deps: ReportDeps, week: IsoWeek): WeeklyData {
  const { store, config, clock } = deps;
  const now = clock.now();
  const until = Math.min(week.end, now);
  const info: WeekInfo = { ...week, until, partial: until < week.end };
  const trendWeeks = Array.from({ length: TREND_WEEKS }, (_, i) => shiftWeek(week, i - TREND_WEEKS + 1));
  const windowStart = trendWeeks[0]!.start;

  const tracked = loadTimelines(store, until);
  const points = calibrationPoints(tracked, windowStart, until);
  const pointOf = new Map(points.map((p) => [p.interventionId, p]));
  const episodes = alertEpisodes(deps, tracked, windowStart, until);
  const weekEpisodes = episodes.filter((e) => e.start < until && (e.end ?? Infinity) > week.start);
  const inWeek = (t: number) => t >= week.start && t < until;

  // What happened this week.
  const entered = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<State, number>;
  const touched = tracked.filter((t) => transitionsIn(t, week.start, until).length > 0);
  for (const t of touched)
    for (const s of new Set(transitionsIn(t, week.start, until).map((tr) => tr.to))) entered[s]++;
  const interventions: InterventionLine[] = touched.map((t) => ({
    id: t.iv.id,
    target: t.iv.target,
    title: t.iv.proposal.title,
    area: t.iv.area,
    kind: t.iv.kind,
    risk: t.iv.risk,
    origin: t.origin.label,
    prediction: describePrediction(t, config),
    state: stateAt(t, until)!,
    entered: transitionsIn(t, week.start, until).map((tr) => tr.to),
    reason: lastTransitionBefore(t, until)?.reason ?? '',
    calibration: pointOf.get(t.iv.id) ?? null,
  }));

  const usage = store.usage
    .perDay(week.start, (t) => isoDate(t, week.timeZone))
    .filter((r) => r.day < isoDate(week.end, week.timeZone) && r.day >= isoDate(week.start, week.timeZone));
  const weekEvents = store.events.list({ since: week.start, limit: ALL }).filter((e) => e.t < until);

  // Trends, calibration and origins over the trend window.
  const trend = trendWeeks.map((w) => trendWeek(w, tracked, points, episodes, until));
  const thisWeekPoints = points.filter((p) => inWeek(p.t));
  const beforePoints = points.filter((p) => p.t < week.start);
  const thisWeek = summarise(thisWeekPoints);
  const before = summarise(beforePoints);
  const change =
    thisWeek.meanError !== null && before.meanError !== null ? thisWeek.meanError - before.meanError : null;

  const mttr = meanTimeToRecovery(episodes, week.start, until);
  const lessonData = lessonFigures(deps, tracked, week, windowStart, until);
  const beforeMttr = meanTimeToRecovery(episodes, windowStart, week.start);

  return {
    week: info,
    generatedAt: now,
    storeFile: store.file,
    targets: config.targets.map((t) => t.name),
    summary: {
      entered,
      touched: touched.length,
      modelCalls: usage.reduce((n, r) => n + r.calls, 0),
      modelCallsFailed: usage.reduce((n, r) => n + r.failed, 0),
      tokens: usage.reduce((n, r) => n + r.inputTokens + r.outputTokens, 0),
      budgetExhausted: weekEvents.filter((e) => e.kind === 'budget_exhausted').length,
      // Applies refused on drift; the drift scan's own findings (source: scan) are not refusals.
      driftRefusals: weekEvents.filter((e) => e.kind === 'drift' && e.data.source !== 'scan').length,
    },
    interventions,
    trend,
    calibration: {
      points,
      thisWeek,
      before,
      drift: {
        change,
        direction: driftDirection(change),
      },
    },
    byOrigin: originRows(tracked, points, windowStart, until),
    recovery: {
      episodes: weekEpisodes,
      mttrMs: mttr.mttrMs,
      recovered: mttr.recovered,
      ongoing: weekEpisodes.filter((e) => e.end === null).length,
      beforeMttrMs: beforeMttr.mttrMs,
    },
    prevented: {
      clearedAfterValidated: weekEpisodes.filter(
        (e) => e.end !== null && inWeek(e.end) && e.recovery?.how === 'validated_fix',
      ),
      scanCatches: lessonData.scanCatches,
    },
    freezes: {
      frozen: frozenAreas(deps, week, until),
      escalations: weekEvents
        .filter((e) => e.kind === 'escalation')
        .map((e) => ({
          t: e.t,
          target: e.target,
          interventionId: e.interventionId,
          why: EscalationEvent.safeParse(e.data).data?.why ?? '',
        }))
        .sort((a, b) => a.t - b.t),
    },
    blindSpots: blindSpots(tracked, weekEpisodes, { weekStart: week.start, windowStart, until }),
    signals: actedOnSignals(deps, tracked, week, until),
    lessons: lessonData.lessons,
  };
}

function describePrediction(t: Tracked, config: ReportDeps['config']): string {
  const p = t.iv.proposal.prediction;
  const unit = config.targets
    .find((c) => c.name === t.iv.target)
    ?.signals.find((s) => s.name === p.signal)?.unit;
  const size = p.relative
    ? `${Number((p.magnitude * 100).toPrecision(3))} %`
    : `${p.magnitude}${unit ? ` ${unit}` : ''}`;
  return `${p.signal} ${p.direction} ${size}`;
}

function driftDirection(change: number | null): WeeklyData['calibration']['drift']['direction'] {
  if (change === null) return 'unknown';
  if (change > DRIFT_MARGIN) return 'worse';
  return change < -DRIFT_MARGIN ? 'better' : 'steady';
}

/** One point per intervention whose verdict (given in [from, until)) measured a magnitude. */
function calibrationPoints(
  tracked: readonly Tracked[],
  from: number,
  until: number,
): (CalibrationPoint & { origin: string })[] {
  const out: (CalibrationPoint & { origin: string })[] = [];
  for (const t of tracked) {
    if (t.iv.verdict === null) continue;
    // The verdict is given as the intervention leaves `applied`.
    const judged = t.history.find((tr) => tr.from === 'applied');
    if (!judged || judged.at < from || judged.at >= until) continue;
    const p = calibrationPoint(t.iv.id, judged.at, t.iv.verdict);
    if (p) out.push({ ...p, origin: t.origin.label });
  }
  return out.sort((a, b) => a.t - b.t);
}

function trendWeek(
  w: IsoWeek,
  tracked: readonly Tracked[],
  points: readonly (CalibrationPoint & { origin: string })[],
  episodes: readonly Episode[],
  until: number,
): TrendWeek {
  const to = Math.min(w.end, until);
  const outcomes = Object.fromEntries(VERDICT_STATES.map((s) => [s, 0])) as Record<VerdictState, number>;
  const byArea: Record<string, number> = {};
  for (const t of tracked) {
    for (const tr of transitionsIn(t, w.start, to, VERDICT_STATES)) {
      outcomes[tr.to as VerdictState]++;
      byArea[t.iv.area] = (byArea[t.iv.area] ?? 0) + 1;
    }
  }
  const weekPoints = points.filter((p) => p.t >= w.start && p.t < to);
  const calibrationByOrigin: Record<string, number> = {};
  for (const label of new Set(weekPoints.map((p) => p.origin))) {
    calibrationByOrigin[label] = summarise(weekPoints.filter((p) => p.origin === label)).meanError!;
  }
  return {
    label: w.label,
    start: w.start,
    end: w.end,
    outcomes,
    byArea,
    calibration: summarise(weekPoints),
    calibrationByOrigin,
    ...meanTimeToRecovery(episodes, w.start, to),
  };
}

function originRows(
  tracked: readonly Tracked[],
  points: readonly CalibrationPoint[],
  from: number,
  until: number,
): OriginRow[] {
  const groups = new Map<string, Tracked[]>();
  for (const t of tracked) {
    if (t.iv.createdAt < from) continue;
    groups.set(t.origin.label, [...(groups.get(t.origin.label) ?? []), t]);
  }
  return [...groups.values()]
    .map((group) => {
      const states: Partial<Record<State, number>> = {};
      for (const t of group) {
        const s = stateAt(t, until)!;
        states[s] = (states[s] ?? 0) + 1;
      }
      const finished = OUTCOME_STATES.reduce((n, s) => n + (states[s] ?? 0), 0);
      const ids = new Set(group.map((t) => t.iv.id));
      const { origin } = group[0]!;
      return {
        label: origin.label,
        provider: origin.provider,
        model: origin.model,
        promptVersion: origin.promptVersion,
        proposed: group.length,
        states,
        finished,
        validatedShare: finished === 0 ? null : (states.validated ?? 0) / finished,
        calibration: summarise(points.filter((p) => ids.has(p.interventionId))),
      };
    })
    .sort((a, b) => a.label.localeCompare(b.label));
}

function frozenAreas(deps: ReportDeps, week: IsoWeek, until: number): WeeklyData['freezes']['frozen'] {
  const seen = new Set<string>();
  const out: WeeklyData['freezes']['frozen'] = [];
  for (const e of deps.store.events.list({ kind: 'area_frozen', limit: ALL }).reverse()) {
    const data = FrozenEvent.safeParse(e.data);
    if (!data.success || e.t >= until || data.data.until <= week.start) continue;
    const key = `${e.target ?? ''}\u0000${data.data.area}\u0000${data.data.key ?? ''}\u0000${data.data.since}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ target: e.target ?? '', ...data.data, stillFrozen: data.data.until > until });
  }
  return out;
}

function actedOnSignals(
  deps: ReportDeps,
  tracked: readonly Tracked[],
  week: IsoWeek,
  until: number,
): WeeklyData['signals'] {
  const bySignal = new Map<
    string,
    { target: string; name: string; applied: { id: string; t: number; state: State }[] }
  >();
  for (const t of tracked) {
    const applying = transitionsIn(t, week.start, until, ['applying'])[0];
    if (!applying) continue;
    const name = t.iv.proposal.prediction.signal;
    const key = `${t.iv.target}\u0000${name}`;
    const row = bySignal.get(key) ?? { target: t.iv.target, name, applied: [] };
    row.applied.push({ id: t.iv.id, t: t.iv.appliedAt ?? applying.at, state: stateAt(t, until)! });
    bySignal.set(key, row);
  }
  return [...bySignal.values()]
    .sort((a, b) => b.applied.length - a.applied.length || a.name.localeCompare(b.name))
    .slice(0, MAX_SIGNAL_CHARTS)
    .flatMap((s) => {
      const target = deps.config.targets.find((t) => t.name === s.target);
      const config = target?.signals.find((c) => c.name === s.name);
      const row = deps.store.catalog.signalsOf(s.target).get(s.name);
      if (!row) return [];
      return [
        {
          ...s,
          unit: row.unit,
          threshold: config?.alert ? describeThreshold(config.alert) : null,
          alert: config?.alert ? { above: config.alert.above, below: config.alert.below } : null,
          points: hourlyMedians({ store: deps.store, signalId: row.id }, week.start, until),
        },
      ];
    });
}
