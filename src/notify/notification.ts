import { z } from 'zod';

/*
 * What the notifier says, independent of where it says it: formats.ts renders one of these as a
 * generic JSON, Slack or Discord body. It is stored in the outbox as JSON and checked when read back.
 */

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const NOTIFICATION_KINDS = [
  'rollback',
  'revert',
  'freeze',
  'escalation',
  'budget',
  'drift',
  'recovery',
  'backlog',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const ProbeLine = z.object({
  at: z.number(),
  ok: z.boolean(),
  status: z.number().optional(),
  latencyMs: z.number(),
  failure: z.string().optional(),
});
export type ProbeLine = z.infer<typeof ProbeLine>;

/**
 * The incident record of a rollback or revert: everything a person needs to act without asking.
 * Times are ms since the epoch; durations are ms.
 */
export const Incident = z.object({
  interventionId: z.string(),
  title: z.string(),
  /** The hypothesis the change was testing. */
  hypothesis: z.string(),
  /** The commit that was undone (null for a runbook action). */
  commitSha: z.string().nullable(),
  /** The SHA the target was rolled back to: HEAD before the change. */
  rolledBackTo: z.string().nullable(),
  /** The revert commit. */
  revertSha: z.string().nullable(),
  /** What failed, in one line: the deploy, the health check, or the verdict. */
  failure: z.string(),
  /** The failed health probes, as recorded. */
  probe: z.array(ProbeLine),
  /** The deploy's output (its tail), when a deploy ran. */
  deployOutput: z.string().nullable(),
  /** When the change started going live (apply start), or went live (applied, for a revert). */
  startedAt: z.number().nullable(),
  detectedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  timeToDetectMs: z.number().nullable(),
  timeToRollbackMs: z.number().nullable(),
  /** Whether the target probed healthy after the rollback. */
  healthyAfter: z.boolean(),
  /** The probes after the rollback. */
  healthAfter: z.array(ProbeLine),
  /** Set when the revert could not be pushed: the remote still has the change. */
  remoteError: z.string().nullable(),
  /** Who undid it: kaizen, or the person who asked. */
  by: z.string(),
});
export type Incident = z.infer<typeof Incident>;

export const Notification = z.object({
  kind: z.enum(NOTIFICATION_KINDS),
  severity: z.enum(SEVERITIES),
  /** One line: target, what happened, to what. */
  title: z.string(),
  /** A short paragraph: what happened and what it means. */
  summary: z.string(),
  target: z.string().nullable(),
  interventionId: z.string().nullable(),
  /** The event it speaks for (the event log's id). */
  eventId: z.number(),
  /** When it happened (the event's time). */
  at: z.number(),
  /** Key facts, short values. */
  facts: z.array(z.object({ label: z.string(), value: z.string() })),
  /** Preformatted output: probe attempts, deploy output, commit lists. */
  output: z.array(z.object({ label: z.string(), text: z.string() })),
  link: z.object({ label: z.string(), url: z.string() }).nullable(),
  /** What a person can do next, as a command or a sentence. */
  next: z.string().nullable(),
  incident: Incident.nullable(),
});
export type Notification = z.infer<typeof Notification>;
