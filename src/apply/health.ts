import type { Clock } from '../clock.js';
import type { HealthProbe } from '../config/schema.js';
import { walkJsonPath } from '../observe/sources/http-json.js';
import { describeFetchFailure } from '../util/network-errors.js';
import { errorCode } from '../observe/sources/support.js';

/*
 * The health check after a deploy.
 *
 * SEMANTICS: probe the URL up to `attempts` times, `intervalMs` apart. The deploy is healthy at
 * the FIRST passing probe (no further probes are made). It is unhealthy when `attempts` probes in
 * a row have failed. With attempts: 3, fail-fail-pass is healthy (3 probes recorded) and
 * fail-fail-fail is unhealthy (3 probes recorded); with attempts: 1 a single failure is final.
 *
 * A probe passes when all of these hold: it got an answer within timeoutMs; the status is
 * expectStatus (redirects are not followed: a 302 to a login page is not healthy); the answer,
 * body included, took at most maxLatencyMs; and when expectJson is set, the body is JSON in which
 * every dotted path holds exactly the expected scalar (the string "200" is not the number 200).
 * A refused connection, a timeout, a wrong status, a slow answer and a wrong body all fail it.
 *
 * TIME: the waits between probes are on the injected clock's world time (clock.world.sleep: a
 * time scale does not hurry a target that is coming up), and each attempt is stamped with
 * clock.now(). Two things are real time on purpose, because they bound and measure
 * a real socket: the per-request timeout (a timer via AbortSignal.timeout) and the latency
 * (performance.now() deltas).
 *
 * An abort (kaizen shutting down) rejects with the signal's reason: it is not a verdict.
 */

/** A health endpoint answer larger than this is cut off and counts as a failure. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ProbeAttempt {
  /** clock.now() when the probe started. */
  at: number;
  ok: boolean;
  status?: number;
  /** Real time from sending the request to the end of the body (or to the failure). */
  latencyMs: number;
  /**
   * Why it failed: 'connection refused (ECONNREFUSED)', 'timed out after 5000 ms',
   * 'status 503, expected 200', 'status: "degraded", expected "ok"', 'answered in 2300 ms,
   * limit 2000 ms', 'body is not JSON'. Several reasons are joined with '; '.
   */
  failure?: string;
}

export interface HealthResult {
  healthy: boolean;
  attempts: ProbeAttempt[];
}

export async function probeHealth(
  probe: HealthProbe,
  clock: Clock,
  abort?: AbortSignal,
): Promise<HealthResult> {
  const attempts: ProbeAttempt[] = [];
  for (let i = 0; i < probe.attempts; i++) {
    if (i > 0) await clock.world.sleep(probe.intervalMs, abort);
    abort?.throwIfAborted();
    const attempt = await probeOnce(probe, clock, abort);
    attempts.push(attempt);
    if (attempt.ok) return { healthy: true, attempts };
  }
  return { healthy: false, attempts };
}

async function probeOnce(probe: HealthProbe, clock: Clock, abort?: AbortSignal): Promise<ProbeAttempt> {
  const at = clock.now();
  const timeout = AbortSignal.timeout(probe.timeoutMs);
  const signal = abort ? AbortSignal.any([abort, timeout]) : timeout;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let status: number | undefined;
  try {
    const res = await fetch(probe.url, {
      signal,
      redirect: 'manual',
      headers: { accept: 'application/json, */*;q=0.5', 'user-agent': 'kaizen-health-probe' },
    });
    status = res.status;
    const body = await readBody(res);
    const latencyMs = elapsed();
    const failures: string[] = [];
    if (res.status !== probe.expectStatus)
      failures.push(`status ${res.status}, expected ${probe.expectStatus}`);
    if (body === undefined) failures.push(`body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    else if (Object.keys(probe.expectJson).length > 0) failures.push(...checkJson(body, probe.expectJson));
    if (latencyMs > probe.maxLatencyMs)
      failures.push(`answered in ${latencyMs} ms, limit ${probe.maxLatencyMs} ms`);
    return failures.length === 0
      ? { at, ok: true, status, latencyMs }
      : { at, ok: false, status, latencyMs, failure: failures.join('; ') };
  } catch (err) {
    if (abort?.aborted) throw abort.reason;
    const failure = timeout.aborted
      ? `timed out after ${probe.timeoutMs} ms`
      : describeFetchFailure(err, errorCode);
    return { at, ok: false, ...(status === undefined ? {} : { status }), latencyMs: elapsed(), failure };
  }
}

/** The body as text, or undefined when it is larger than MAX_BODY_BYTES. */
async function readBody(res: Response): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function checkJson(body: string, expect: Record<string, string | number | boolean | null>): string[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const shown = body.trim().slice(0, 60);
    return [
      `body is not JSON${shown ? ` (${JSON.stringify(shown)}${body.trim().length > 60 ? '…' : ''})` : ' (empty)'}`,
    ];
  }
  const failures: string[] = [];
  for (const [path, expected] of Object.entries(expect)) {
    let actual: unknown;
    try {
      actual = walkJsonPath(json, path);
    } catch {
      failures.push(`${path}: missing, expected ${JSON.stringify(expected)}`);
      continue;
    }
    if (actual !== expected) failures.push(`${path}: ${show(actual)}, expected ${JSON.stringify(expected)}`);
  }
  return failures;
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
