import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ApplyLog } from '../apply/apply-intervention.js';
import { probeHealth } from '../apply/health.js';
import type { Runtime } from '../compose.js';
import { backlogItems } from '../loop/backlog.js';
import { makeRedactor } from '../propose/context/redact.js';
import type { EventRow } from '../store/events.js';
import type { Intervention } from '../store/interventions.js';
import { startOfDay } from '../util/time.js';
import { printable } from '../util/printable.js';
import { renderBody } from './formats.js';
import {
  backlogMessage,
  budgetMessage,
  driftMessage,
  escalationMessage,
  freezeMessage,
  recoveryMessage,
  revertMessage,
  rollbackMessage,
  type MessageContext,
  type RecoveredData,
} from './messages.js';
import { Notification } from './notification.js';
import { NotifyStore } from './state.js';
import { hostOf, postWebhook } from './webhook.js';

/*
 * The notifier: reads the event log after a persisted cursor and speaks only when it matters.
 *
 * WHAT IT SAYS (event → notification; everything else is quiet, so a healthy system sends nothing):
 *   rolled_back → the incident record       reverted → the incident record (by validation or a person)
 *   area_frozen → the freeze and until when  escalation → a person is needed
 *   budget_exhausted → once per target and calendar day (the proposer appends one every cycle)
 *   drift → the apply's lockdown refusal, or a finding of the drift scan (drift.ts)
 *   proposal_deferred → the backlog item with its dashboard link, if it still waits when read
 *   recovered → recovery after a failure (below)
 *   revert_pushed → quiet, but it ends the episode the revert's failed push opened
 * (`recovery`, kaizen finishing an apply a crash interrupted, is quiet: how that apply ends speaks.)
 *
 * RECOVERY AFTER A FAILURE: an `escalation` (kaizen saying a person is needed) opens a failure
 * episode for its target. The episode ends, and kaizen appends a `recovered` event and announces
 * it, at the first of: an `applied` event for the target (a change deployed, was pushed and
 * verified, and probed healthy); a rollback or revert that ended healthy; or, when the target has
 * a health probe and the escalation was about health (not about a revert that could not be
 * pushed), this notifier's own probe answering healthy (one probe per pass while the episode is
 * open). A rollback that itself ends healthy opens no episode: its incident already says so.
 *
 * ONCE AND ONLY ONCE: each event is planned in one transaction that also moves the cursor, so a
 * restart never plans a notification twice; each delivery (sent, or given up and recorded as a
 * `notify_failed` event) is recorded per webhook, so a restart never sends one twice. The one
 * gap is a process killed between a receiver's 200 and the record of it: that notification is
 * sent again, never lost. A lease keeps two processes on one store from delivering at once.
 *
 * NEVER BLOCKING: runOnce never throws. Each attempt has the webhook's timeout, the retries of a
 * notification are bounded, and the pass stops delivering at `notifications.deadline`; what is
 * left waits for the next pass, in order. A receiver that gave up or timed out in a pass is not
 * tried again in that pass. On the very first pass only the last hour of events is news.
 */

export interface NotifyPassResult {
  /** Events read after the cursor. */
  examined: number;
  /** Notifications planned from them. */
  planned: number;
  /** Deliveries made (one per notification and webhook). */
  sent: number;
  /** Deliveries given up on, each recorded as a `notify_failed` event. */
  failed: number;
  /** Deliveries left for a later pass (the deadline, a shutdown, or a receiver that is down). */
  pending: number;
  /** Set when the pass did nothing because another process holds the notifier's lease. */
  skipped?: string;
  /** Set when the pass stopped on an unexpected error (logged too). */
  error?: string;
}

export interface Notifier {
  /** One pass: probe open failure episodes, plan new events, deliver what is due. Never throws. */
  runOnce(options?: { signal?: AbortSignal }): Promise<NotifyPassResult>;
}

export interface NotifierOptions {
  /** Environment whose secret-looking values are redacted from every message (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** On the very first pass, events older than this are history, not news (default 1 h). */
  catchUpMs?: number;
}

const EVENT_BATCH = 500;
const MAX_EVENTS_PER_PASS = 5000;
const OUTBOX_BATCH = 200;
/** The lease outlives a pass by this much, so a crashed holder blocks others only briefly. */
const LEASE_SLACK_MS = 60_000;

const Cursor = z.number().int().min(0);
const Lease = z.object({ holder: z.string(), until: z.number() });
const Episode = z.object({
  since: z.number(),
  eventId: z.number(),
  why: z.string(),
  interventionId: z.string().nullable(),
  /**
   * health: the target was left unhealthy; remote: a revert could not be pushed; drift: the
   * repository changed under an apply or revert and kaizen stopped (no probe can end that).
   */
  cause: z.enum(['health', 'remote', 'drift']),
});
type Episode = z.infer<typeof Episode>;
const BudgetNotice = z.object({ day: z.number() });

const CURSOR_KEY = 'cursor';
const LEASE_KEY = 'lease';
const episodeKey = (target: string) => `episode:${target}`;
const budgetKey = (target: string) => `budget:${target}`;

/** A webhook's id in the store: a digest of its URL, never the URL, which often holds a token. */
export function webhookId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** The dashboard's base URL: notifications.dashboardUrl, else the server's address; none when disabled. */
export function dashboardBase(config: Runtime['config']): string | undefined {
  const configured = config.notifications.dashboardUrl;
  if (configured) return configured.replace(/\/+$/, '');
  if (!config.server.enabled) return undefined;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return `http://${host}:${config.server.port}`;
}

export function createNotifier(rt: Runtime, options: NotifierOptions = {}): Notifier {
  const { store, clock, config, logger } = rt;
  const ns = new NotifyStore(store.db);
  const holder = randomUUID();
  const redactText = makeRedactor(options.env ?? process.env);
  const catchUpMs = options.catchUpMs ?? 3_600_000;
  const ctx: MessageContext = { timeZone: config.timeZone, dashboardUrl: dashboardBase(config) };
  const webhooks = config.notifications.webhooks.map((w) => ({
    ...w,
    id: webhookId(w.url),
    host: hostOf(w.url),
  }));

  const find = (id: string | null): Intervention | undefined =>
    id === null ? undefined : store.interventions.find(id);

  function acquireLease(): boolean {
    return ns.transaction(() => {
      const now = clock.now();
      const lease = ns.get(LEASE_KEY, Lease);
      if (lease && lease.holder !== holder && lease.until > now) return false;
      ns.set(LEASE_KEY, { holder, until: now + config.notifications.deadlineMs + LEASE_SLACK_MS }, now);
      return true;
    });
  }

  function releaseLease(): void {
    ns.transaction(() => {
      if (ns.get(LEASE_KEY, Lease)?.holder === holder) ns.delete(LEASE_KEY);
    });
  }

  function cursor(): number {
    return ns.get(CURSOR_KEY, Cursor) ?? store.events.lastId(clock.now() - catchUpMs);
  }

  /**
   * Secrets out of every text, and control characters shown as escapes (a title or a deploy's output
   * reaches a chat client and a terminal); the dashboard link is ours and kept as it is.
   */
  function finish(draft: ReturnType<typeof rollbackMessage>, e: EventRow): Notification {
    const n: Notification = {
      ...draft,
      target: e.target,
      interventionId: e.interventionId,
      eventId: e.id,
      at: e.t,
    };
    const clean = redactDeep(n, (t) => printable(redactText(t))) as Notification;
    return Notification.parse({ ...clean, link: n.link });
  }

  function openEpisode(e: EventRow): void {
    if (!e.target || ns.get(episodeKey(e.target), Episode)) return;
    const iv = find(e.interventionId);
    const rollbackRemote = (iv?.applyLog as ApplyLog | null)?.rollback?.remoteError;
    const revertRemote = store.events
      .list({ kind: 'reverted', limit: 50 })
      .find((r) => r.interventionId === e.interventionId && r.id < e.id)?.data.remoteError;
    const said = Episode.shape.cause.safeParse(e.data.cause);
    const episode: Episode = {
      since: e.t,
      eventId: e.id,
      why: typeof e.data.why === 'string' ? e.data.why : 'a person is needed',
      interventionId: e.interventionId,
      // Escalations say their cause; older ones are told apart by what the store recorded.
      cause: said.success ? said.data : rollbackRemote || revertRemote ? 'remote' : 'health',
    };
    ns.set(episodeKey(e.target), episode, clock.now());
  }

  /** End the target's failure episode, if one is open, with a `recovered` event (planned after this one). */
  function closeEpisode(target: string | null, how: string, interventionId: string | null): void {
    if (!target) return;
    const episode = ns.get(episodeKey(target), Episode);
    if (!episode) return;
    const data: RecoveredData = {
      how,
      since: episode.since,
      why: episode.why,
      escalatedBy: episode.interventionId,
    };
    store.events.append(clock.now(), {
      kind: 'recovered',
      target,
      ...(interventionId ? { interventionId } : {}),
      data: { ...data },
    });
    ns.delete(episodeKey(target));
  }

  /** Whether and what to say about one event; updates episodes and notices as it goes. */
  function decide(e: EventRow): ReturnType<typeof rollbackMessage> | undefined {
    switch (e.kind) {
      case 'rolled_back': {
        if (e.data.healthyAfter === true)
          closeEpisode(
            e.target,
            `${e.interventionId} was rolled back and the target probes healthy`,
            e.interventionId,
          );
        return rollbackMessage(e, find(e.interventionId), ctx);
      }
      case 'reverted': {
        if (e.data.healthyAfter === true)
          closeEpisode(
            e.target,
            `${e.interventionId} was reverted and the target is healthy`,
            e.interventionId,
          );
        const started = e.interventionId
          ? store.intents.get(e.interventionId, 'revert')?.startedAt
          : undefined;
        return revertMessage(e, find(e.interventionId), started, ctx);
      }
      case 'area_frozen':
        return freezeMessage(e, ctx);
      case 'escalation':
        openEpisode(e);
        return escalationMessage(e, find(e.interventionId));
      case 'budget_exhausted': {
        if (!e.target) return budgetMessage(e, ctx);
        const day = startOfDay(e.t, config.timeZone);
        if (ns.get(budgetKey(e.target), BudgetNotice)?.day === day) return undefined;
        ns.set(budgetKey(e.target), { day }, clock.now());
        return budgetMessage(e, ctx);
      }
      case 'drift':
        return driftMessage(e, find(e.interventionId));
      case 'recovered':
        return recoveryMessage(e, ctx);
      case 'applied':
        closeEpisode(e.target, `${e.interventionId} deployed and probed healthy`, e.interventionId);
        return undefined;
      case 'revert_pushed':
        // The remote has the revert at last: the episode it opened is over.
        if (ns.get(episodeKey(e.target ?? ''), Episode)?.interventionId === e.interventionId)
          closeEpisode(e.target, `the revert of ${e.interventionId} reached the remote`, e.interventionId);
        return undefined;
      case 'proposal_deferred': {
        const iv = find(e.interventionId);
        if (!iv || iv.state !== 'backlog') return undefined; // decided before we read it: nothing to ask
        // Deferred again (a person approved, the guard still says wait): only the latest speaks.
        const latest = store.events
          .list({ kind: 'proposal_deferred', limit: 200 })
          .find((d) => d.interventionId === iv.id);
        if (latest && latest.id !== e.id) return undefined;
        const item = backlogItems(rt, iv.target).find((b) => b.intervention.id === iv.id);
        return backlogMessage(e, iv, item?.expiresAt, ctx);
      }
      default:
        return undefined;
    }
  }

  function plan(result: NotifyPassResult): void {
    let at = ns.transaction(() => {
      const c = cursor();
      ns.set(CURSOR_KEY, c, clock.now());
      return c;
    });
    while (result.examined < MAX_EVENTS_PER_PASS) {
      const events = store.events.after(at, EVENT_BATCH);
      if (events.length === 0) return;
      for (const e of events) {
        ns.transaction(() => {
          // Re-read inside the transaction: whoever moved the cursor past e planned it already.
          if (cursor() >= e.id) return;
          const draft = decide(e);
          if (draft) {
            ns.enqueue(e.id, finish(draft, e), clock.now());
            result.planned++;
          }
          ns.set(CURSOR_KEY, e.id, clock.now());
        });
        result.examined++;
        at = e.id;
      }
    }
  }

  /** While a health episode is open, one probe per pass: the first healthy answer is the recovery. */
  async function probeEpisodes(signal?: AbortSignal): Promise<void> {
    for (const key of ns.keys('episode:')) {
      const episode = ns.get(key, Episode);
      const target = config.targets.find((t) => episodeKey(t.name) === key);
      if (!episode || !target?.health || episode.cause !== 'health') continue;
      const probe = await probeHealth({ ...target.health, attempts: 1 }, clock, signal);
      if (!probe.healthy) continue;
      ns.transaction(() => {
        if (ns.get(key, Episode)?.eventId === episode.eventId)
          closeEpisode(target.name, 'the health probe answers healthy again', null);
      });
      logger.info({ target: target.name }, 'target recovered');
    }
  }

  async function deliver(result: NotifyPassResult, deadline: number, signal?: AbortSignal): Promise<void> {
    const down = new Set<string>();
    for (const row of ns.pending(OUTBOX_BATCH)) {
      const parsed = Notification.safeParse(JSON.parse(row.message));
      if (!parsed.success) {
        // Written by a different kaizen version in a shape this one cannot render: skip it, loudly.
        logger.error({ outbox: row.id, event: row.eventId }, 'unreadable notification skipped');
        ns.markDone(row.id, clock.now());
        continue;
      }
      const n = parsed.data;
      const outcomes = await Promise.all(
        webhooks.map(async (w): Promise<'done' | 'pending'> => {
          if (ns.delivery(row.id, w.id)) return 'done';
          if (down.has(w.id) || signal?.aborted || clock.now() >= deadline) return 'pending';
          const r = await postWebhook({
            url: w.url,
            body: renderBody(n, w.format, { timeZone: config.timeZone }),
            timeoutMs: w.timeoutMs,
            attempts: w.attempts,
            clock,
            deadline,
            ...(signal ? { signal } : {}),
          });
          const log = {
            webhook: w.host,
            format: w.format,
            kind: n.kind,
            event: n.eventId,
            attempts: r.attempts,
          };
          if (r.outcome === 'sent') {
            ns.recordDelivery(row.id, w.id, { status: 'sent', attempts: r.attempts, at: clock.now() });
            result.sent++;
            logger.info(log, 'notification sent');
            return 'done';
          }
          const error = redactText(r.error);
          if (r.outcome === 'deferred') {
            down.add(w.id);
            logger.info({ ...log, error }, 'notification deferred to the next pass');
            return 'pending';
          }
          if (r.retryable) down.add(w.id);
          ns.transaction(() => {
            ns.recordDelivery(row.id, w.id, {
              status: 'failed',
              attempts: r.attempts,
              at: clock.now(),
              detail: error,
            });
            store.events.append(clock.now(), {
              kind: 'notify_failed',
              ...(n.target ? { target: n.target } : {}),
              ...(n.interventionId ? { interventionId: n.interventionId } : {}),
              data: {
                webhook: w.host,
                webhookId: w.id,
                format: w.format,
                notification: n.kind,
                eventId: n.eventId,
                attempts: r.attempts,
                ...(r.status === undefined ? {} : { status: r.status }),
                error,
              },
            });
          });
          result.failed++;
          logger.warn({ ...log, error }, 'notification not delivered');
          return 'done';
        }),
      );
      const left = outcomes.filter((o) => o === 'pending').length;
      if (left === 0) ns.markDone(row.id, clock.now());
      result.pending += left;
    }
  }

  // The lease keeps other processes out; this keeps an overlapping call of this one out.
  let running = false;

  return {
    async runOnce(options = {}) {
      const result: NotifyPassResult = { examined: 0, planned: 0, sent: 0, failed: 0, pending: 0 };
      if (running) {
        result.skipped = 'the previous notifier pass is still running';
        return result;
      }
      const deadline = clock.now() + config.notifications.deadlineMs;
      try {
        if (!acquireLease()) {
          result.skipped = 'another kaizen process is delivering notifications from this store';
          return result;
        }
      } catch (err) {
        result.error = errorText(err);
        logger.error({ error: result.error }, 'notifier pass failed');
        return result;
      }
      running = true;
      try {
        await probeEpisodes(options.signal);
        plan(result);
        await deliver(result, deadline, options.signal);
      } catch (err) {
        if (!options.signal?.aborted) {
          result.error = errorText(err);
          logger.error({ error: result.error }, 'notifier pass failed');
        }
      } finally {
        running = false;
        try {
          releaseLease();
        } catch (err) {
          logger.warn({ error: errorText(err) }, 'notifier lease not released');
        }
      }
      return result;
    },
  };
}

/** Every string in a JSON value through `fn`. */
function redactDeep(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, fn));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, fn)]));
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
