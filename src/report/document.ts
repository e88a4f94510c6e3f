import type { State } from '../loop/states.js';
import type { Chart } from './charts.js';
import { TREND_WEEKS, VERDICT_STATES, type WeeklyData } from './data.js';
import * as f from './format.js';
import type { Narrative } from './narrative.js';
import { describeDays } from './week.js';

/*
 * The report as a format-neutral document: sections of figures, tables, charts, lists and
 * paragraphs, every string plain text. The HTML and Markdown renderers only lay it out (and
 * escape), so the two formats cannot disagree on a number.
 */

export interface Figure {
  label: string;
  value: string;
  /** Stable name of the figure, e.g. `entered.validated` (an HTML data attribute, for tests). */
  metric: string;
}

export type Block =
  | { kind: 'heading'; text: string }
  | { kind: 'paragraph'; text: string; tone?: 'empty' | 'note' | 'model' }
  | { kind: 'figures'; items: Figure[] }
  | { kind: 'table'; id: string; headers: string[]; rows: string[][]; numeric: boolean[] }
  | { kind: 'chart'; chart: Chart }
  | { kind: 'list'; ordered: boolean; items: { title: string; text: string }[] };

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export interface ReportDocument {
  title: string;
  subtitle: string;
  sections: Section[];
  footer: string[];
}

const STATE_LABEL: Record<State, string> = {
  proposed: 'proposed',
  rejected: 'rejected',
  backlog: 'deferred to the backlog',
  applying: 'applying',
  failed: 'failed to apply',
  rolled_back: 'rolled back',
  applied: 'went live',
  validated: 'validated',
  no_effect: 'no effect',
  reverted: 'reverted',
  inconclusive: 'inconclusive',
};

const RECOVERY_LABEL = {
  validated_fix: 'validated fix',
  rollback: 'rollback',
  no_intervention: 'no intervention',
} as const;

export function buildDocument(d: WeeklyData, narrative: Narrative, charts: readonly Chart[]): ReportDocument {
  const chart = (id: string): Block[] => {
    const c = charts.find((x) => x.id === id);
    return c ? [{ kind: 'chart', chart: c }] : [];
  };
  const tz = d.week.timeZone;
  const at = (ms: number) => f.time(ms, tz);
  return {
    title: `kaizen weekly review ${d.week.label}`,
    subtitle:
      `${describeDays(d.week)} (${tz})` +
      (d.week.partial ? ` — week in progress: figures up to ${at(d.week.until)}` : '') +
      ` — ${d.targets.length === 1 ? `target ${d.targets[0]}` : `targets ${d.targets.join(', ')}`}`,
    sections: [
      glanceSection(d, narrative),
      doneSection(d, chart),
      signalsSection(charts),
      recoverySection(d, chart, at),
      preventedSection(d, at),
      originSection(d, chart),
      driftSection(d, chart),
      lessonsSection(d),
      freezeSection(d, at),
      blindSpotSection(d, at),
      nextMovesSection(narrative),
    ],
    footer: [
      `Generated ${at(d.generatedAt)} from ${d.storeFile}. Every figure is read from kaizen's store; the trend charts cover the ${TREND_WEEKS} weeks ${d.trend[0]!.label} to ${d.week.label}.`,
      'Calibration error = |actual ÷ predicted − 1| per verdict (0: the prediction came true exactly; 1: missed by the whole predicted change). Delivered = actual ÷ predicted. Time to recovery = first alerting sample to the first sample back within the threshold.',
    ],
  };
}

type ChartBlocks = (id: string) => Block[];

/** The figures a person checks first, and the top of the next moves. */
function glanceSection(d: WeeklyData, n: Narrative): Section {
  const e = d.summary.entered;
  const blocks: Block[] = [
    {
      kind: 'figures',
      items: [
        { label: 'validated', value: f.count(e.validated), metric: 'glance.validated' },
        { label: 'no effect', value: f.count(e.no_effect), metric: 'glance.no_effect' },
        {
          label: 'reverted or rolled back',
          value: f.count(e.reverted + e.rolled_back),
          metric: 'glance.undone',
        },
        { label: 'mean time to recovery', value: f.duration(d.recovery.mttrMs), metric: 'glance.mttr' },
        {
          label: 'calibration error',
          value: f.error(d.calibration.thisWeek.meanError),
          metric: 'glance.calibration',
        },
        {
          label: 'alerts with no proposal',
          value: f.count(d.blindSpots.silentAlerts.reduce((s, a) => s + a.episodes, 0)),
          metric: 'glance.silent',
        },
        {
          label: 'waiting in the backlog',
          value: f.count(d.blindSpots.backlog.length),
          metric: 'glance.backlog',
        },
        {
          label: 'areas still frozen',
          value: f.count(d.freezes.frozen.filter((z) => z.stillFrozen).length),
          metric: 'glance.frozen',
        },
      ],
    },
  ];
  const top = n.moves.slice(0, 3);
  if (top.length)
    blocks.push({
      kind: 'paragraph',
      text: `First: ${top.map((m) => m.title).join('; ')}. (See the next moves at the end.)`,
    });
  return { id: 'glance', title: 'At a glance', blocks };
}

function doneSection(d: WeeklyData, chart: ChartBlocks): Section {
  const e = d.summary.entered;
  const figure = (s: State): Figure => ({
    label: STATE_LABEL[s],
    value: f.count(e[s]),
    metric: `entered.${s}`,
  });
  const blocks: Block[] = [
    {
      kind: 'figures',
      items: [
        figure('proposed'),
        figure('applied'),
        ...VERDICT_STATES.map(figure),
        figure('failed'),
        figure('rejected'),
        figure('backlog'),
      ],
    },
  ];
  if (d.interventions.length === 0) {
    blocks.push({ kind: 'paragraph', tone: 'empty', text: 'No interventions this week.' });
  } else {
    blocks.push({
      kind: 'paragraph',
      text: `${d.summary.touched} intervention${d.summary.touched === 1 ? '' : 's'} moved this week. State is as of the end of the week; calibration error is shown where the verdict measured a change.`,
    });
    blocks.push({
      kind: 'table',
      id: 'interventions',
      headers: ['ID', 'Title', 'Area', 'Proposed by', 'Prediction', 'State', 'Cal. error', 'Why'],
      numeric: [false, false, false, false, false, false, true, false],
      rows: d.interventions.map((i) => [
        i.id,
        i.title,
        i.area,
        i.origin,
        i.prediction,
        STATE_LABEL[i.state],
        f.error(i.calibration?.error ?? null),
        i.reason,
      ]),
    });
  }
  blocks.push({
    kind: 'figures',
    items: [
      { label: 'model calls', value: f.count(d.summary.modelCalls), metric: 'usage.calls' },
      { label: 'failed model calls', value: f.count(d.summary.modelCallsFailed), metric: 'usage.failed' },
      { label: 'tokens', value: f.count(d.summary.tokens), metric: 'usage.tokens' },
      {
        label: 'token budget spent',
        value: f.count(d.summary.budgetExhausted),
        metric: 'events.budget_exhausted',
      },
      { label: 'applies refused on drift', value: f.count(d.summary.driftRefusals), metric: 'events.drift' },
    ],
  });
  blocks.push(...chart('outcomes'), ...chart('areas'));
  return { id: 'done', title: 'What was done and with what result', blocks };
}

function signalsSection(charts: readonly Chart[]): Section {
  const blocks: Block[] = charts
    .filter((c) => c.id.startsWith('signal-'))
    .map((c) => ({ kind: 'chart', chart: c }));
  if (blocks.length === 0)
    blocks.push({
      kind: 'paragraph',
      tone: 'empty',
      text: 'No change went live this week, so no signal was acted on.',
    });
  return { id: 'signals', title: 'Signals acted on', blocks };
}

function recoverySection(d: WeeklyData, chart: ChartBlocks, at: (ms: number) => string): Section {
  const r = d.recovery;
  const blocks: Block[] = [
    {
      kind: 'figures',
      items: [
        { label: 'mean time to recovery', value: f.duration(r.mttrMs), metric: 'recovery.mttr' },
        {
          label: `MTTR, previous ${TREND_WEEKS - 1} weeks`,
          value: f.duration(r.beforeMttrMs),
          metric: 'recovery.mttr_before',
        },
        { label: 'alerts recovered', value: f.count(r.recovered), metric: 'recovery.recovered' },
        { label: 'still alerting at week end', value: f.count(r.ongoing), metric: 'recovery.ongoing' },
      ],
    },
  ];
  if (r.mttrMs !== null && r.beforeMttrMs !== null) {
    const faster = r.mttrMs < r.beforeMttrMs;
    blocks.push({
      kind: 'paragraph',
      text: `Recovery was ${faster ? 'faster' : r.mttrMs > r.beforeMttrMs ? 'slower' : 'as fast'} than in the previous weeks (${f.duration(r.mttrMs)} against ${f.duration(r.beforeMttrMs)}).`,
    });
  }
  if (r.episodes.length === 0) {
    blocks.push({ kind: 'paragraph', tone: 'empty', text: 'No signal alerted this week.' });
  } else {
    blocks.push({
      kind: 'table',
      id: 'episodes',
      headers: ['Signal', 'Threshold', 'Alerted', 'Recovered', 'Time to recovery', 'How'],
      numeric: [false, false, false, false, true, false],
      rows: r.episodes.map((e) => [
        e.signal,
        e.threshold,
        at(e.start),
        e.end === null ? 'still alerting' : at(e.end),
        e.end === null ? f.NONE : f.duration(e.end - e.start),
        e.recovery === null
          ? f.NONE
          : `${RECOVERY_LABEL[e.recovery.how]}${e.recovery.interventionId ? ` ${e.recovery.interventionId}` : ''}`,
      ]),
    });
  }
  blocks.push(...chart('mttr'));
  return { id: 'recovery', title: 'Mean time to recovery', blocks };
}

function preventedSection(d: WeeklyData, at: (ms: number) => string): Section {
  const p = d.prevented;
  const blocks: Block[] = [
    {
      kind: 'figures',
      items: [
        {
          label: 'alerts cleared by a validated fix',
          value: f.count(p.clearedAfterValidated.length),
          metric: 'prevented.cleared',
        },
        {
          label: 'caught by a lesson’s scan rule',
          value: f.count(p.scanCatches.length),
          metric: 'prevented.scan',
        },
      ],
    },
  ];
  if (p.clearedAfterValidated.length > 0) {
    blocks.push({
      kind: 'table',
      id: 'cleared',
      headers: ['Signal', 'Alerted', 'Cleared', 'Fix'],
      numeric: [false, false, false, false],
      rows: p.clearedAfterValidated.map((e) => [
        e.signal,
        at(e.start),
        at(e.end!),
        e.recovery!.interventionId ?? f.NONE,
      ]),
    });
  }
  if (p.scanCatches.length > 0) {
    blocks.push({
      kind: 'table',
      id: 'scan-catches',
      headers: ['Intervention', 'Lesson', 'Title', 'State'],
      numeric: [false, false, false, false],
      rows: p.scanCatches.map((c) => [c.interventionId, c.lesson, c.title, STATE_LABEL[c.state]]),
    });
  }
  if (p.clearedAfterValidated.length === 0 && p.scanCatches.length === 0)
    blocks.push({
      kind: 'paragraph',
      tone: 'empty',
      text: 'No alert was cleared by a validated fix and no scan rule caught a recurrence this week.',
    });
  return { id: 'prevented', title: 'Incidents prevented', blocks };
}

function originSection(d: WeeklyData, chart: ChartBlocks): Section {
  const blocks: Block[] = [];
  if (d.byOrigin.length === 0) {
    blocks.push({
      kind: 'paragraph',
      tone: 'empty',
      text: `Nothing was proposed in the last ${TREND_WEEKS} weeks.`,
    });
  } else {
    blocks.push({
      kind: 'paragraph',
      text: `Proposals of the last ${TREND_WEEKS} weeks by who made them, with their state at the end of this week. Valid. share is validated ÷ finished; Measured counts the verdicts that measured a change, over which Cal. error and Delivered are averaged. A prompt or model change that makes proposals worse shows as a lower validated share or a higher calibration error than its predecessor.`,
    });
    const n = (row: WeeklyData['byOrigin'][number], s: State) => f.count(row.states[s] ?? 0);
    blocks.push({
      kind: 'table',
      id: 'by-origin',
      headers: [
        'Prompt · model',
        'Proposed',
        'Validated',
        'No effect',
        'Reverted',
        'Rolled back',
        'Valid. share',
        'Measured',
        'Cal. error',
        'Delivered',
      ],
      numeric: [false, true, true, true, true, true, true, true, true, true],
      rows: d.byOrigin.map((o) => [
        o.label,
        f.count(o.proposed),
        n(o, 'validated'),
        n(o, 'no_effect'),
        n(o, 'reverted'),
        n(o, 'rolled_back'),
        f.share(o.validatedShare),
        f.count(o.calibration.n),
        f.error(o.calibration.meanError),
        f.share(o.calibration.meanRealised),
      ]),
    });
  }
  blocks.push(...chart('calibration'));
  return { id: 'by-origin', title: 'Outcomes and calibration by prompt version and model', blocks };
}

function driftSection(d: WeeklyData, chart: ChartBlocks): Section {
  const c = d.calibration;
  const verdict = {
    worse: 'Calibration is drifting worse: this week’s predictions missed by more than before.',
    better: 'Calibration improved: this week’s predictions came closer than before.',
    steady: 'Calibration is steady.',
    unknown: 'Not enough verdicts to tell whether calibration is drifting.',
  }[c.drift.direction];
  return {
    id: 'drift',
    title: 'Calibration drift',
    blocks: [
      {
        kind: 'figures',
        items: [
          {
            label: 'calibration error this week',
            value: f.error(c.thisWeek.meanError),
            metric: 'calibration.week',
          },
          {
            label: `previous ${TREND_WEEKS - 1} weeks`,
            value: f.error(c.before.meanError),
            metric: 'calibration.before',
          },
          { label: 'change', value: f.errorChange(c.drift.change), metric: 'calibration.change' },
          { label: 'verdicts measured this week', value: f.count(c.thisWeek.n), metric: 'calibration.n' },
          {
            label: 'delivered of predicted',
            value: f.share(c.thisWeek.meanRealised),
            metric: 'calibration.delivered',
          },
        ],
      },
      {
        kind: 'paragraph',
        text: verdict,
        ...(c.drift.direction === 'unknown' ? { tone: 'empty' as const } : {}),
      },
      ...chart('calibration-error'),
    ],
  };
}

function lessonsSection(d: WeeklyData): Section {
  const l = d.lessons;
  const blocks: Block[] = [
    {
      kind: 'figures',
      items: [
        { label: 'active lessons', value: f.count(l.active), metric: 'lessons.active' },
        { label: 'created this week', value: f.count(l.created.length), metric: 'lessons.created' },
        { label: 'retired this week', value: f.count(l.retiredThisWeek.length), metric: 'lessons.retired' },
        { label: 'never cited', value: f.count(l.neverCited.length), metric: 'lessons.never_cited' },
      ],
    },
  ];
  const table = (id: string, rows: WeeklyData['lessons']['created'], extra: 'when' | 'why') =>
    blocks.push({
      kind: 'table',
      id,
      headers: ['Lesson', 'Scope', 'Source', extra === 'when' ? 'When' : 'Why retired'],
      numeric: [false, false, false, false],
      rows: rows.map((r) => [r.id, r.scope, r.source, extra === 'when' ? r.when : (r.retiredWhy ?? f.NONE)]),
    });
  if (l.created.length) {
    blocks.push({ kind: 'heading', text: 'Created' });
    table('lessons-created', l.created, 'when');
  }
  if (l.retiredThisWeek.length) {
    blocks.push({ kind: 'heading', text: 'Retired' });
    table('lessons-retired', l.retiredThisWeek, 'why');
  }
  blocks.push({ kind: 'heading', text: `Most cited (last ${TREND_WEEKS} weeks)` });
  if (l.mostCited.length)
    blocks.push({
      kind: 'table',
      id: 'lessons-cited',
      headers: ['Lesson', 'Cited', 'Argued against', 'Status'],
      numeric: [false, true, true, false],
      rows: l.mostCited.map((c) => [c.id, f.count(c.cited), f.count(c.arguedAgainst), c.status]),
    });
  else blocks.push({ kind: 'paragraph', tone: 'empty', text: 'No proposal cited a lesson.' });
  blocks.push({ kind: 'heading', text: 'Never cited' });
  if (l.neverCited.length) table('lessons-never-cited', l.neverCited, 'when');
  else
    blocks.push({
      kind: 'paragraph',
      tone: 'empty',
      text: 'Every active lesson has been cited or argued against.',
    });
  if (l.problems > 0)
    blocks.push({
      kind: 'paragraph',
      tone: 'note',
      text: `${l.problems} lesson file(s) could not be read; "kaizen lessons" shows which.`,
    });
  return { id: 'lessons', title: 'Lessons', blocks };
}

function freezeSection(d: WeeklyData, at: (ms: number) => string): Section {
  const z = d.freezes;
  const blocks: Block[] = [
    {
      kind: 'figures',
      items: [
        { label: 'areas frozen', value: f.count(z.frozen.length), metric: 'freezes.frozen' },
        {
          label: 'still frozen',
          value: f.count(z.frozen.filter((x) => x.stillFrozen).length),
          metric: 'freezes.still',
        },
        { label: 'escalations', value: f.count(z.escalations.length), metric: 'freezes.escalations' },
      ],
    },
  ];
  if (z.frozen.length)
    blocks.push({
      kind: 'table',
      id: 'frozen',
      headers: ['Area', 'Frozen', 'Until', 'After rollbacks of'],
      numeric: [false, false, false, false],
      rows: z.frozen.map((x) => [
        x.area,
        at(x.since),
        `${at(x.until)}${x.stillFrozen ? ' (still frozen)' : ''}`,
        x.interventions.join(', '),
      ]),
    });
  if (z.escalations.length)
    blocks.push({
      kind: 'table',
      id: 'escalations',
      headers: ['When', 'Intervention', 'Why a person is needed'],
      numeric: [false, false, false],
      rows: z.escalations.map((e) => [at(e.t), e.interventionId ?? f.NONE, e.why]),
    });
  if (!z.frozen.length && !z.escalations.length)
    blocks.push({ kind: 'paragraph', tone: 'empty', text: 'No area was frozen and nothing was escalated.' });
  return { id: 'freezes', title: 'Frozen areas and escalations', blocks };
}

function blindSpotSection(d: WeeklyData, at: (ms: number) => string): Section {
  const b = d.blindSpots;
  const blocks: Block[] = [{ kind: 'heading', text: 'Signals that alerted with no proposal' }];
  if (b.silentAlerts.length)
    blocks.push({
      kind: 'table',
      id: 'silent-alerts',
      headers: ['Signal', 'Threshold', 'Alerts', 'Time alerting'],
      numeric: [false, false, true, true],
      rows: b.silentAlerts.map((s) => [s.signal, s.threshold, f.count(s.episodes), f.duration(s.alertMs)]),
    });
  else blocks.push({ kind: 'paragraph', tone: 'empty', text: 'None: every alert got a proposal.' });
  blocks.push({ kind: 'heading', text: `Areas with repeated no effect (last ${TREND_WEEKS} weeks)` });
  if (b.repeatedNoEffect.length)
    blocks.push({
      kind: 'table',
      id: 'no-effect-areas',
      headers: ['Area', 'No effect', 'Interventions'],
      numeric: [false, true, false],
      rows: b.repeatedNoEffect.map((a) => [a.area, f.count(a.count), a.interventions.join(', ')]),
    });
  else blocks.push({ kind: 'paragraph', tone: 'empty', text: 'None.' });
  blocks.push({ kind: 'heading', text: 'Stuck in the backlog' });
  if (b.backlog.length)
    blocks.push({
      kind: 'table',
      id: 'backlog',
      headers: ['ID', 'Title', 'Area', 'Waiting since', 'Waiting', 'Why'],
      numeric: [false, false, false, false, true, false],
      rows: b.backlog.map((x) => [x.id, x.title, x.area, at(x.since), f.duration(x.waitingMs), x.reason]),
    });
  else blocks.push({ kind: 'paragraph', tone: 'empty', text: 'The backlog is empty.' });
  return { id: 'blind-spots', title: 'Blind spots', blocks };
}

function nextMovesSection(n: Narrative): Section {
  const blocks: Block[] = [{ kind: 'paragraph', tone: 'note', text: n.note }];
  if (n.text) blocks.push({ kind: 'paragraph', tone: 'model', text: n.text });
  if (n.moves.length)
    blocks.push({
      kind: 'list',
      ordered: true,
      items: n.moves.map((m) => ({ title: m.title, text: m.why })),
    });
  else
    blocks.push({
      kind: 'paragraph',
      tone: 'empty',
      text: 'Nothing stands out: no escalation, freeze, silent alert, waiting backlog item, repeated no effect or poorly calibrated proposer.',
    });
  return { id: 'next-moves', title: 'Highest-value next moves', blocks };
}
