import pLimit from 'p-limit';
import type { Clock } from '../clock.js';
import type { SignalConfig, TargetConfig } from '../config/schema.js';
import { KaizenError, SourceError } from '../errors.js';
import type { Store } from '../store/index.js';
import type { NewSample } from '../store/samples.js';
import { sourceFor } from './sources/index.js';

export interface SamplerDeps {
  store: Store;
  clock: Clock;
}

export interface SampleOutcome {
  target: string;
  signal: string;
  unit: string;
  t: number;
  value?: number;
  error?: string;
  /** How long the source took, in the world's milliseconds (see Clock.world). */
  tookMs: number;
}

export interface SampleTickOptions {
  /** Sources sampled at once. */
  concurrency: number;
  /** Only these signals (default: all of the target's). */
  only?: readonly string[];
  /** Aborts every sample in flight (shutdown). */
  abort?: AbortSignal;
}

/**
 * One sampling tick for one target: every signal's source runs, at most `concurrency` at a time,
 * each bounded by its timeout. Values and errors are stored in one transaction with the sources'
 * state, all stamped with the tick's start time.
 */
export async function sampleTarget(
  deps: SamplerDeps,
  target: TargetConfig,
  options: SampleTickOptions,
): Promise<SampleOutcome[]> {
  const { store, clock } = deps;
  const t = clock.now();
  const rows = store.catalog.sync(target, t);
  const signals = options.only
    ? target.signals.filter((s) => options.only!.includes(s.name))
    : target.signals;
  const limit = pLimit(options.concurrency);
  const states = new Map<number, unknown>();

  const outcomes = await Promise.all(
    signals.map((signal) =>
      limit(async (): Promise<SampleOutcome> => {
        const row = rows.get(signal.name)!;
        const started = clock.world.now();
        const base = { target: target.name, signal: signal.name, unit: signal.unit, t };
        try {
          const value = await sampleOne(deps, target, signal, row.id, states, options.abort);
          return { ...base, value, tookMs: clock.world.now() - started };
        } catch (err) {
          return { ...base, error: errorText(err), tookMs: clock.world.now() - started };
        }
      }),
    ),
  );

  const batch: NewSample[] = outcomes.map((o) => ({
    signalId: rows.get(o.signal)!.id,
    t: o.t,
    ...(o.error !== undefined ? { error: o.error } : { value: o.value! }),
  }));
  store.db.transaction(() => {
    store.samples.insert(batch);
    for (const [id, state] of states) store.sourceState.set(id, state, t);
  })();
  return outcomes;
}

async function sampleOne(
  deps: SamplerDeps,
  target: TargetConfig,
  signal: SignalConfig,
  signalId: number,
  states: Map<number, unknown>,
  outer: AbortSignal | undefined,
): Promise<number> {
  const source = sourceFor(signal.source.kind);
  const timeoutMs = signal.source.timeoutMs;
  const controller = new AbortController();
  const stopTimer = new AbortController();
  const onOuter = () => controller.abort(new SourceError('sampling was cancelled (kaizen is shutting down)'));
  outer?.addEventListener('abort', onOuter, { once: true });

  // The source measures the world, in the world's time (see Clock.world).
  const timeout = deps.clock.world.sleep(timeoutMs, stopTimer.signal).then(
    () => {
      const err = new SourceError(`timed out after ${timeoutMs} ms`, { timeout: true });
      controller.abort(err);
      throw err;
    },
    () => new Promise<never>(() => {}), // timer cancelled: the sample finished first
  );

  try {
    const value = await Promise.race([
      source.sample(signal.source, {
        repoPath: target.repoPath,
        clock: deps.clock.world,
        abort: controller.signal,
        state: deps.store.sourceState.get(signalId),
        setState: (next) => states.set(signalId, next),
      }),
      timeout,
    ]);
    if (!Number.isFinite(value))
      throw new SourceError(`source returned ${String(value)}, not a finite number`);
    return value;
  } finally {
    stopTimer.abort();
    outer?.removeEventListener('abort', onOuter);
  }
}

function errorText(err: unknown): string {
  if (err instanceof KaizenError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
