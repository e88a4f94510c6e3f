import { z } from 'zod';
import type { ApplyLog } from '../apply/apply-intervention.js';
import type { EventRow } from '../store/events.js';
import type { Intervention } from '../store/interventions.js';
import { formatDuration } from '../util/duration.js';
import { formatLocal } from '../util/time.js';
import { ProbeLine, type Incident, type Notification } from './notification.js';

/*
 * Event → notification. Pure functions: the notifier decides WHETHER to speak (quiet while healthy,
 * de-duplication, recovery episodes) and hands these the event and what the store knows about it.
 * Event data is read through lenient schemas: an old or partial event still gives a message.
 */

export interface MessageContext {
  timeZone: string;
  /** Base URL of the dashboard without a trailing slash; undefined when there is none. */
  dashboardUrl: string | undefined;
}

type Draft = Omit<Notification, 'eventId' | 'at' | 'target' | 'interventionId'>;

const Str = z.string().nullish().catch(null);
const Num = z.number().nullish().catch(null);
const Bool = z.boolean().nullish().catch(null);
const Probes = z.array(ProbeLine).nullish().catch(null);

const RolledBackData = z.object({
  title: Str,
  hypothesis: Str,
  commitSha: Str,
  rolledBackTo: Str,
  revertSha: Str,
  failure: Str,
  probe: Probes,
  deployOutput: Str,
  timeToDetectMs: Num,
  timeToRollbackMs: Num,
  healthyAfter: Bool,
});

const RevertedData = z.object({
  by: Str,
  why: Str,
  commitSha: Str,
  revertSha: Str,
  healthyAfter: Bool,
  remoteError: Str,
});

const FrozenData = z.object({
  area: Str,
  key: Str.optional(),
  interventions: z.array(z.string()).nullish().catch(null),
  since: Num,
  until: Num,
});

const BudgetData = z.object({ used: Num, limit: Num });

export const DriftFindingKind = z.enum(['dirty', 'bypass', 'branch', 'rewritten', 'remote']);
export type DriftFindingKind = z.infer<typeof DriftFindingKind>;

const DriftData = z.object({
  source: Str,
  finding: DriftFindingKind.nullish().catch(null),
  summary: Str,
  drift: Str,
  paths: z.array(z.string()).nullish().catch(null),
  commits: z
    .array(z.object({ sha: z.string(), subject: z.string(), author: z.string().optional() }))
    .nullish()
    .catch(null),
  more: Num,
});

export const RecoveredData = z.object({
  how: z.string(),
  /** When the failure episode began (the escalation's time). */
  since: z.number(),
  /** Why a person was needed. */
  why: z.string(),
  /** The intervention whose rollback escalated. */
  escalatedBy: z.string().nullable(),
});
export type RecoveredData = z.infer<typeof RecoveredData>;

const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 7) : 'none');
const quote = (s: string) => `"${s}"`;

/** The part of a reason before its first colon: "health check failed: 3 of 3 …" → "health check failed". */
function headOf(reason: string): string {
  const i = reason.indexOf(':');
  return (i > 0 ? reason.slice(0, i) : reason).trim();
}

/** The probe attempts as lines a person reads: time, status, latency, why it failed. */
export function probeLines(probes: readonly ProbeLine[], timeZone: string): string {
  return probes
    .map((p, i) => {
      const status = p.status === undefined ? 'no answer' : `status ${p.status}`;
      const verdict = p.ok ? 'ok' : `FAILED: ${p.failure ?? 'unknown'}`;
      return `#${i + 1} ${formatLocal(p.at, timeZone)} ${status} in ${p.latencyMs} ms, ${verdict}`;
    })
    .join('\n');
}

/** The last `maxLines` lines of a command's output. */
function tail(text: string, maxLines = 20): string {
  const lines = text.trimEnd().split('\n');
  return lines.length <= maxLines
    ? lines.join('\n')
    : `… (${lines.length - maxLines} earlier lines)\n${lines.slice(-maxLines).join('\n')}`;
}

function showCommand(id: string | null): string | null {
  return id ? `kaizen show ${id}` : null;
}

/** A rollback: the incident record, from the `rolled_back` event and the intervention's apply log. */
export function rollbackMessage(e: EventRow, iv: Intervention | undefined, ctx: MessageContext): Draft {
  const d = RolledBackData.parse(e.data);
  const log = (iv?.applyLog ?? {}) as ApplyLog;
  const rb = log.rollback;
  const id = e.interventionId ?? iv?.id ?? 'unknown';
  const title = d.title ?? iv?.proposal.title ?? id;
  const failure = d.failure ?? rb?.reason ?? 'rollback';
  const healthyAfter = d.healthyAfter ?? false;
  const detectedAt = rb?.detectedAt ?? null;
  const timeToDetectMs = d.timeToDetectMs ?? null;
  const incident: Incident = {
    interventionId: id,
    title,
    hypothesis: d.hypothesis ?? iv?.proposal.hypothesis ?? '',
    commitSha: d.commitSha ?? iv?.commitSha ?? null,
    rolledBackTo: d.rolledBackTo ?? iv?.preApplySha ?? null,
    revertSha: d.revertSha ?? iv?.revertSha ?? null,
    failure,
    probe: d.probe ?? log.health?.attempts ?? [],
    deployOutput: d.deployOutput ?? log.deploy?.output ?? null,
    startedAt: detectedAt !== null && timeToDetectMs !== null ? detectedAt - timeToDetectMs : null,
    detectedAt,
    finishedAt: rb?.finishedAt ?? e.t,
    timeToDetectMs,
    timeToRollbackMs: d.timeToRollbackMs ?? null,
    healthyAfter,
    healthAfter: rb?.health?.attempts ?? [],
    remoteError: rb?.remoteError ?? null,
    by: 'kaizen',
  };
  const undone =
    incident.commitSha === null
      ? iv?.kind === 'runbook'
        ? 'ran the runbook’s declared inverse'
        : 'rolled it back'
      : `reverted commit ${short(incident.commitSha)} (revert ${short(incident.revertSha)})` +
        (rb?.redeploy ? ', redeployed' : '') +
        ` and rolled back to ${short(incident.rolledBackTo)}`;
  const after = incident.remoteError
    ? ` The revert could not be pushed (${incident.remoteError}): the remote still has the change, and a person is needed.`
    : healthyAfter
      ? ' The target probes healthy again.'
      : ' The target is STILL UNHEALTHY after the rollback: a person is needed.';
  return {
    kind: 'rollback',
    severity: healthyAfter ? 'warning' : 'critical',
    title: `[${e.target ?? '?'}] Rolled back ${id} ${quote(title)}: ${headOf(failure)}`,
    summary: `${failure}. kaizen ${undone}.${after}`,
    facts: incidentFacts(incident, iv),
    output: incidentOutput(incident, ctx),
    link: null,
    next: showCommand(id),
    incident,
  };
}

/** A revert: by validation (the prediction went the wrong way, an alert crossed) or by a person. */
export function revertMessage(
  e: EventRow,
  iv: Intervention | undefined,
  revertStartedAt: number | undefined,
  ctx: MessageContext,
): Draft {
  const d = RevertedData.parse(e.data);
  const id = e.interventionId ?? iv?.id ?? 'unknown';
  const title = iv?.proposal.title ?? id;
  const by = d.by ?? 'kaizen';
  const why = d.why ?? 'reverted';
  const healthyAfter = d.healthyAfter ?? false;
  const startedAt = iv?.appliedAt ?? null;
  const detectedAt = revertStartedAt ?? e.t;
  const incident: Incident = {
    interventionId: id,
    title,
    hypothesis: iv?.proposal.hypothesis ?? '',
    commitSha: d.commitSha ?? iv?.commitSha ?? null,
    rolledBackTo: iv?.preApplySha ?? null,
    revertSha: d.revertSha ?? iv?.revertSha ?? null,
    failure: why,
    probe: [],
    deployOutput: null,
    startedAt,
    detectedAt,
    finishedAt: e.t,
    timeToDetectMs: startedAt === null ? null : detectedAt - startedAt,
    timeToRollbackMs: e.t - detectedAt,
    healthyAfter,
    healthAfter: [],
    remoteError: d.remoteError ?? null,
    by,
  };
  const who = by === 'kaizen' ? 'kaizen (validation)' : by;
  const after = incident.remoteError
    ? ` The revert could not be pushed (${incident.remoteError}): the remote still has the change, and a person is needed.`
    : healthyAfter
      ? ''
      : ' The target is unhealthy after the revert: a person is needed.';
  return {
    kind: 'revert',
    severity: healthyAfter && !incident.remoteError ? 'warning' : 'critical',
    title: `[${e.target ?? '?'}] Reverted ${id} ${quote(title)}${by === 'kaizen' ? `: ${headOf(why)}` : ` (by ${by})`}`,
    summary:
      `${who} reverted ${id} ${quote(title)}: ${why}. ` +
      (incident.commitSha
        ? `Commit ${short(incident.commitSha)} was undone by ${short(incident.revertSha)}.`
        : 'The runbook’s declared inverse was run.') +
      after,
    facts: incidentFacts(incident, iv),
    output: incidentOutput(incident, ctx),
    link: null,
    next: showCommand(id),
    incident,
  };
}

function incidentFacts(i: Incident, iv: Intervention | undefined): Notification['facts'] {
  const facts: Notification['facts'] = [
    {
      label: 'Intervention',
      value: iv ? `${i.interventionId} (area ${iv.area}, risk ${iv.risk})` : i.interventionId,
    },
  ];
  if (i.commitSha) facts.push({ label: 'Commit', value: i.commitSha });
  if (i.rolledBackTo) facts.push({ label: 'Rolled back to', value: i.rolledBackTo });
  if (i.revertSha) facts.push({ label: 'Revert commit', value: i.revertSha });
  facts.push(
    {
      label: 'Time to detect',
      value: i.timeToDetectMs === null ? 'unknown' : formatDuration(i.timeToDetectMs),
    },
    {
      label: 'Time to roll back',
      value: i.timeToRollbackMs === null ? 'unknown' : formatDuration(i.timeToRollbackMs),
    },
    { label: 'Healthy after', value: i.healthyAfter ? 'yes' : 'NO' },
  );
  if (i.hypothesis) facts.push({ label: 'Hypothesis being tested', value: i.hypothesis });
  return facts;
}

function incidentOutput(i: Incident, ctx: MessageContext): Notification['output'] {
  const out: Notification['output'] = [];
  if (i.probe.length > 0) out.push({ label: 'Health probes', text: probeLines(i.probe, ctx.timeZone) });
  if (i.deployOutput?.trim()) out.push({ label: 'Deploy output', text: tail(i.deployOutput) });
  if (i.healthAfter.length > 0)
    out.push({ label: 'Health probes after the rollback', text: probeLines(i.healthAfter, ctx.timeZone) });
  return out;
}

export function freezeMessage(e: EventRow, ctx: MessageContext): Draft {
  const d = FrozenData.parse(e.data);
  const area = d.area ?? 'unknown';
  const ids = d.interventions ?? [];
  const until = d.until == null ? 'further notice' : formatLocal(d.until, ctx.timeZone);
  const listed = ids.length ? ` (${[...ids].reverse().join(', ')})` : '';
  // Frozen by what the changes touched (a path, a runbook action), whatever area they claimed.
  const what = d.key ? quote(d.key) : `area ${quote(area)}`;
  return {
    kind: 'freeze',
    severity: 'warning',
    title: `[${e.target ?? '?'}] ${d.key ? quote(d.key) : `Area ${quote(area)}`} frozen until ${until}`,
    summary:
      (d.key
        ? `${ids.length || 'Several'} changes in a row to ${what} were rolled back or reverted${listed}, whatever area they were labelled with`
        : `${ids.length || 'Several'} changes in a row in ${what} were rolled back or reverted${listed}`) +
      `: kaizen proposes and applies nothing there until ${until}. Look at what they had in common before then.`,
    facts: [
      ...(d.key ? [{ label: 'Frozen', value: d.key }] : []),
      { label: 'Area', value: area },
      { label: 'Frozen until', value: until },
    ],
    output: [],
    link: null,
    next: showCommand(ids[0] ?? e.interventionId),
    incident: null,
  };
}

export function escalationMessage(e: EventRow, iv: Intervention | undefined): Draft {
  const why = Str.parse(e.data.why) ?? 'a person is needed';
  const facts: Notification['facts'] = [];
  if (e.interventionId)
    facts.push({
      label: 'Intervention',
      value: iv ? `${e.interventionId} ${quote(iv.proposal.title)} (${iv.state})` : e.interventionId,
    });
  return {
    kind: 'escalation',
    severity: 'critical',
    title: `[${e.target ?? '?'}] A person is needed: ${headOf(why)}`,
    summary: `${why}.`.replace(/\.\.$/, '.'),
    facts,
    output: [],
    link: null,
    next: showCommand(e.interventionId) ?? 'kaizen status',
    incident: null,
  };
}

export function budgetMessage(e: EventRow, ctx: MessageContext): Draft {
  const d = BudgetData.parse(e.data);
  const spent = d.used !== null && d.limit !== null ? ` (${d.used} of ${d.limit} tokens)` : '';
  return {
    kind: 'budget',
    severity: 'warning',
    title: `[${e.target ?? '?'}] Daily model token budget spent`,
    summary: `The proposer has spent today’s model token budget${spent}: proposing with the model pauses until the day ends (${ctx.timeZone}); the offline rules still run.`,
    facts: d.limit === null ? [] : [{ label: 'Budget', value: `${d.limit} tokens a day` }],
    output: [],
    link: null,
    next: 'raise proposer.dailyTokens in kaizen.yaml if this happens often; kaizen usage shows where tokens went',
    incident: null,
  };
}

const DRIFT_TITLES: Record<DriftFindingKind, string> = {
  dirty: 'uncommitted changes in the work tree',
  bypass: 'commits that bypassed kaizen',
  branch: 'the repository is on another branch',
  rewritten: 'the branch history was rewritten',
  remote: 'the remote branch moved outside kaizen',
};

const DRIFT_NEXT: Record<DriftFindingKind, string> = {
  dirty:
    'kaizen applies nothing on a dirty work tree: commit or remove the changes (it never stashes or discards them)',
  bypass:
    'if they were meant to go through kaizen, check what they changed; kaizen now takes them as the new baseline',
  branch: 'kaizen applies nothing until the target branch is checked out again',
  rewritten: 'check that nothing kaizen applied was lost: kaizen status and git log',
  remote: 'kaizen never fetches: look with git fetch; its next push is refused until the branches agree',
};

export function driftMessage(e: EventRow, iv: Intervention | undefined): Draft {
  const d = DriftData.parse(e.data);
  const target = e.target ?? '?';
  if (d.source !== 'scan' || !d.finding) {
    // The apply's lockdown refused an intervention.
    const what = d.drift ?? d.summary ?? 'the repository is not as kaizen left it';
    const id = e.interventionId;
    return {
      kind: 'drift',
      severity: 'warning',
      title: `[${target}] Drift: ${id ?? 'a change'} was not applied`,
      summary:
        `kaizen refused to apply ${id ? `${id}${iv ? ` ${quote(iv.proposal.title)}` : ''}` : 'a change'}: ${what}.`.replace(
          /\.\.$/,
          '.',
        ),
      facts: [],
      output: [],
      link: null,
      next: showCommand(id),
      incident: null,
    };
  }
  const output: Notification['output'] = [];
  if (d.paths?.length) output.push({ label: 'Uncommitted paths', text: d.paths.join('\n') });
  if (d.commits?.length)
    output.push({
      label: 'Commits without a Kaizen-Intervention trailer',
      text:
        d.commits
          .map((c) => `${c.sha.slice(0, 7)} ${c.subject}${c.author ? ` (${c.author})` : ''}`)
          .join('\n') + (d.more ? `\n… and ${d.more} more` : ''),
    });
  return {
    kind: 'drift',
    severity: 'warning',
    title: `[${target}] Drift: ${DRIFT_TITLES[d.finding]}`,
    summary: d.summary ?? DRIFT_TITLES[d.finding],
    facts: [],
    output,
    link: null,
    next: DRIFT_NEXT[d.finding],
    incident: null,
  };
}

export function recoveryMessage(e: EventRow, ctx: MessageContext): Draft {
  const d = RecoveredData.parse(e.data);
  return {
    kind: 'recovery',
    severity: 'info',
    title: `[${e.target ?? '?'}] Recovered: ${d.how}`,
    summary: `${d.how}. A person was needed since ${formatLocal(d.since, ctx.timeZone)} (${d.why}); recovered ${formatDuration(e.t - d.since)} later.`,
    facts: [
      { label: 'Needed a person since', value: formatLocal(d.since, ctx.timeZone) },
      { label: 'Time to recover', value: formatDuration(e.t - d.since) },
    ],
    output: [],
    link: null,
    next: null,
    incident: null,
  };
}

/** A proposal waiting in the backlog, with the link to approve it from. */
export function backlogMessage(
  e: EventRow,
  iv: Intervention,
  expiresAt: number | undefined,
  ctx: MessageContext,
): Draft {
  const p = iv.proposal;
  const pred = p.prediction;
  const magnitude = pred.relative ? `${Math.round(pred.magnitude * 100)} %` : String(pred.magnitude);
  const reasons = iv.waitingReason ?? 'it needs a person’s approval';
  const facts: Notification['facts'] = [
    { label: 'Area', value: p.area },
    { label: 'Risk', value: iv.risk },
    { label: 'Prediction', value: `${pred.signal} ${pred.direction} by ${magnitude}` },
  ];
  if (expiresAt !== undefined && Number.isFinite(expiresAt))
    facts.push({ label: 'Expires', value: formatLocal(expiresAt, ctx.timeZone) });
  return {
    kind: 'backlog',
    severity: 'info',
    title: `[${iv.target}] Waiting for approval: ${iv.id} ${quote(p.title)}`,
    summary: `kaizen will not apply this change on its own: ${reasons}. Hypothesis: ${p.hypothesis}`,
    facts,
    output: [],
    link: ctx.dashboardUrl
      ? { label: 'Review and approve', url: `${ctx.dashboardUrl}/backlog/${encodeURIComponent(iv.id)}` }
      : null,
    next: `kaizen approve ${iv.id}, or kaizen reject ${iv.id} --why "…"`,
    incident: null,
  };
}
