import { z } from 'zod';
import type { Runtime } from '../compose.js';
import { findLesson, lessonCitations, refreshLessons } from '../learn/lesson-ops.js';
import { backlogItems } from '../loop/backlog.js';
import { interventionDetail } from '../loop/intervention-detail.js';
import { STATES, type State } from '../loop/states.js';
import { buildDigest } from '../observe/digest.js';
import { signalSeries } from '../observe/series.js';
import type { Intervention } from '../store/interventions.js';
import { parseDuration } from '../util/duration.js';
import type { ServerActions } from './actions.js';
import { HttpError } from './errors.js';
import { queryParams, type Route } from './router.js';

export interface ApiContext {
  rt: Pick<Runtime, 'config' | 'store' | 'clock' | 'logger'>;
  actions: ServerActions;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const By = z
  .string({ error: 'is required: the name of the person acting' })
  .trim()
  .min(1, 'name the person acting')
  .max(100, 'at most 100 characters')
  .refine((name) => name.toLowerCase() !== 'kaizen', '"kaizen" is kaizen itself: name the person acting');
const Why = z
  .string({ error: 'is required: say why (it is kept with the intervention and read by the distiller)' })
  .trim()
  .min(1, 'say why (it is kept with the intervention and read by the distiller)')
  .max(2000, 'at most 2000 characters');

export const ApproveBody = z.strictObject({ by: By });
export const ReasonedBody = z.strictObject({ by: By, why: Why });

const APPROVE_EXAMPLE = '{"by": "ana"}';
const REASONED_EXAMPLE = '{"by": "ana", "why": "..."}';

/** One row of an intervention list: enough to choose which one to open. */
export interface InterventionSummary {
  id: string;
  target: string;
  area: string;
  kind: string;
  state: State;
  risk: string;
  title: string;
  origin: string;
  createdAt: number;
  updatedAt: number;
  appliedAt: number | null;
  commitSha: string | null;
  revertSha: string | null;
  waitingReason: string | null;
  verdict: string | null;
}

function summary(iv: Intervention): InterventionSummary {
  const verdict = iv.verdict as { outcome?: unknown } | null;
  return {
    id: iv.id,
    target: iv.target,
    area: iv.area,
    kind: iv.kind,
    state: iv.state,
    risk: iv.risk,
    title: iv.proposal.title,
    origin: iv.origin,
    createdAt: iv.createdAt,
    updatedAt: iv.updatedAt,
    appliedAt: iv.appliedAt,
    commitSha: iv.commitSha,
    revertSha: iv.revertSha,
    waitingReason: iv.waitingReason,
    verdict: typeof verdict?.outcome === 'string' ? verdict.outcome : null,
  };
}

/** The JSON API under /api: reads are open on loopback; approve, reject and revert change state. */
export function apiRoutes({ rt, actions }: ApiContext): Route[] {
  const targetNamed = (name: string) => {
    const target = rt.config.targets.find((t) => t.name === name);
    if (!target) {
      throw new HttpError(
        404,
        'not_found',
        `no target ${JSON.stringify(name)}; targets: ${rt.config.targets.map((t) => t.name).join(', ')}`,
      );
    }
    return target;
  };
  const filterTarget = (name: string | undefined) => {
    if (name === undefined || rt.config.targets.some((t) => t.name === name)) return name;
    throw new HttpError(
      400,
      'bad_request',
      `target=${name}: no such target; targets: ${rt.config.targets.map((t) => t.name).join(', ')}`,
    );
  };

  return [
    {
      method: 'GET',
      path: '/api/interventions',
      changesState: false,
      handle({ query }) {
        const q = queryParams(query, ['state', 'target', 'signal', 'limit']);
        const states = q.state === undefined ? undefined : parseStates(q.state);
        const limit = parseLimit(q.limit);
        const target = filterTarget(q.target);
        const list = rt.store.interventions.list({
          ...(states ? { states } : {}),
          ...(target ? { target } : {}),
          // The predicted signal sits inside the proposal's JSON: filter after reading, then limit.
          limit: q.signal === undefined ? limit : 100_000,
        });
        const chosen =
          q.signal === undefined
            ? list
            : list.filter((iv) => iv.proposal.prediction.signal === q.signal).slice(0, limit);
        return { json: { interventions: chosen.map(summary) } };
      },
    },
    {
      method: 'GET',
      path: '/api/interventions/:id',
      changesState: false,
      handle({ params, query }) {
        queryParams(query, []);
        return { json: interventionDetail(rt.store, params.id!) };
      },
    },
    {
      method: 'POST',
      path: '/api/interventions/:id/approve',
      changesState: true,
      async handle({ params, json }) {
        const { by } = await json(ApproveBody, APPROVE_EXAMPLE);
        const result = await actions.approve(params.id!, by);
        rt.logger.info(
          { intervention: params.id, by, state: result.intervention.state },
          'intervention approved over http',
        );
        return { json: result };
      },
    },
    {
      method: 'POST',
      path: '/api/interventions/:id/reject',
      changesState: true,
      async handle({ params, json }) {
        const { by, why } = await json(ReasonedBody, REASONED_EXAMPLE);
        const intervention = await actions.reject(params.id!, by, why);
        rt.logger.info({ intervention: params.id, by }, 'intervention rejected over http');
        return { json: { intervention } };
      },
    },
    {
      method: 'POST',
      path: '/api/interventions/:id/revert',
      changesState: true,
      async handle({ params, json }) {
        const { by, why } = await json(ReasonedBody, REASONED_EXAMPLE);
        const result = await actions.revert(params.id!, by, why);
        rt.logger.info(
          { intervention: params.id, by, healthyAfter: result.undo.healthyAfter },
          'intervention reverted over http',
        );
        return { json: result };
      },
    },
    {
      method: 'GET',
      path: '/api/backlog',
      changesState: false,
      handle({ query }) {
        const target = filterTarget(queryParams(query, ['target']).target);
        const now = rt.clock.now();
        // Reading never expires anything (a GET changes nothing): the daemon's backlog job does,
        // so an item past its time shows `expired: true` until then.
        const items = backlogItems(rt, target).map(({ intervention: iv, waitingSince, expiresAt }) => ({
          id: iv.id,
          target: iv.target,
          area: iv.area,
          title: iv.proposal.title,
          risk: iv.risk,
          waitingSince,
          expiresAt,
          expired: expiresAt <= now,
          why: iv.waitingReason ?? '',
        }));
        return { json: { items } };
      },
    },
    {
      method: 'GET',
      path: '/api/lessons',
      changesState: false,
      handle({ query }) {
        const q = queryParams(query, ['status', 'scope', 'source']);
        const status = oneOf('status', q.status, ['active', 'retired'] as const);
        const source = oneOf('source', q.source, ['human', 'distilled', 'imported'] as const);
        const loaded = refreshLessons(rt);
        const lessons = rt.store.lessons
          .list({
            ...(q.scope !== undefined ? { scope: q.scope } : {}),
            ...(status ? { status } : {}),
            ...(source ? { source } : {}),
          })
          .map((r) => ({ ...r.lesson, file: r.file, origin: r.origin }));
        return { json: { lessons, problems: loaded.problems } };
      },
    },
    {
      method: 'GET',
      path: '/api/lessons/:id',
      changesState: false,
      handle({ params, query }) {
        queryParams(query, []);
        const found = findLesson(refreshLessons(rt), params.id!);
        return {
          json: {
            ...found.lesson,
            file: found.file,
            origin: found.origin,
            citations: lessonCitations(rt, params.id!),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/api/signals',
      changesState: false,
      handle({ query }) {
        const name = filterTarget(queryParams(query, ['target']).target);
        const staleAfterMs = 3 * rt.config.schedule.observeMs;
        const targets = rt.config.targets
          .filter((t) => name === undefined || t.name === name)
          .map((t) => buildDigest(rt, t, { staleAfterMs }));
        return { json: { targets } };
      },
    },
    {
      method: 'GET',
      path: '/api/signals/:target/:name',
      changesState: false,
      handle({ params, query }) {
        const since = queryParams(query, ['since']).since ?? '24h';
        const sinceMs = parseDuration(since);
        if (sinceMs === undefined || sinceMs <= 0) {
          throw new HttpError(
            400,
            'bad_request',
            `since=${since}: expected a duration such as 30m, 24h or 7d`,
          );
        }
        const target = targetNamed(params.target!);
        const signal = target.signals.find((s) => s.name === params.name);
        if (!signal) {
          throw new HttpError(
            404,
            'not_found',
            `no signal ${JSON.stringify(params.name)} in target ${target.name}; its signals: ${target.signals.map((s) => s.name).join(', ') || 'none'}`,
          );
        }
        return { json: signalSeries(rt, target, signal, sinceMs) };
      },
    },
  ];
}

function parseStates(text: string): State[] {
  const states = text.split(',').map((s) => s.trim());
  const unknown = states.filter((s) => !(STATES as readonly string[]).includes(s));
  if (unknown.length || states.length === 0) {
    throw new HttpError(
      400,
      'bad_request',
      `state=${text}: unknown state ${unknown.map((s) => JSON.stringify(s)).join(', ')}; states: ${STATES.join(', ')} (several separated by commas)`,
    );
  }
  return states as State[];
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_LIMIT) {
    throw new HttpError(400, 'bad_request', `limit=${text}: expected a whole number from 1 to ${MAX_LIMIT}`);
  }
  return n;
}

function oneOf<T extends string>(
  key: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new HttpError(400, 'bad_request', `${key}=${value}: expected ${allowed.join(' or ')}`);
}
