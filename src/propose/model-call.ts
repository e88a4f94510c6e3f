import type { z } from 'zod';
import type { Clock } from '../clock.js';
import { KaizenError } from '../errors.js';
import type { Store } from '../store/index.js';
import { CircuitBreaker } from './breaker.js';
import type { LlmProvider, LlmRequest } from './providers/types.js';
import { completeValidated, type ValidatedResult } from './structured.js';

export interface ModelCallDeps {
  store: Store;
  clock: Clock;
  /** Breakers by provider id, shared across calls in one process. */
  breakers?: Map<string, CircuitBreaker>;
}

export interface ModelCall<T> {
  provider: LlmProvider;
  request: LlmRequest;
  schema: z.ZodType<T>;
  /** Target the tokens count against (the daily budget), or null for kaizen-wide work. */
  target: string | null;
  promptVersion: string;
}

export type ModelCallResult<T> =
  | (ValidatedResult<T> & { unavailable?: undefined; usage: CallUsage })
  | { ok: false; unavailable: string; reason: string; attempts: []; usage: CallUsage };

export interface CallUsage {
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
}

/**
 * One validated model call behind the provider's circuit breaker, with every attempt recorded in
 * the usage table (an invalid answer keeps its raw output for audit). A provider that cannot be
 * reached is a result (`unavailable`), not an exception: every caller falls back to something.
 */
export async function callModel<T>(deps: ModelCallDeps, call: ModelCall<T>): Promise<ModelCallResult<T>> {
  const { store, clock } = deps;
  const { provider, request } = call;
  const breakers = deps.breakers ?? new Map<string, CircuitBreaker>();
  const breaker =
    breakers.get(provider.id) ??
    new CircuitBreaker({ failureThreshold: 5, windowMs: 600_000, cooldownMs: 300_000, clock });
  breakers.set(provider.id, breaker);
  const base = {
    target: call.target,
    task: request.task,
    provider: provider.id,
    promptVersion: call.promptVersion,
  };
  try {
    const answer = await breaker.run(() => completeValidated(provider, request, call.schema, { clock }));
    for (const a of answer.attempts) {
      store.usage.record({
        ...base,
        t: a.at,
        model: a.model,
        inputTokens: a.usage.inputTokens,
        outputTokens: a.usage.outputTokens,
        latencyMs: a.latencyMs,
        outcome: a.problems.length ? 'invalid' : 'ok',
        ...(a.problems.length ? { detail: a.problems.join('; '), raw: a.raw } : {}),
      });
    }
    const usage = {
      inputTokens: answer.attempts.reduce((n, a) => n + a.usage.inputTokens, 0),
      outputTokens: answer.attempts.reduce((n, a) => n + a.usage.outputTokens, 0),
      latencyMs: answer.attempts.reduce((n, a) => n + a.latencyMs, 0),
    };
    return { ...answer, usage };
  } catch (err) {
    if (!(err instanceof KaizenError)) throw err;
    store.usage.record({
      ...base,
      t: clock.now(),
      model: request.model,
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: 0,
      outcome: 'error',
      detail: err.message,
    });
    return {
      ok: false,
      unavailable: err.message,
      reason: err.message,
      attempts: [],
      usage: { inputTokens: 0, outputTokens: 0, latencyMs: 0 },
    };
  }
}
