import type { Clock } from '../clock.js';
import { errorCode } from '../observe/sources/support.js';
import { formatDuration } from '../util/duration.js';
import { describeFetchFailure } from '../util/network-errors.js';

/*
 * One webhook delivery: POST a JSON body, retrying what may succeed later.
 *
 * - Retried, with exponential backoff (1 s, 2 s, 4 s, … at most 60 s): a network error, no answer
 *   within the timeout, 408, 429 and 5xx. A Retry-After header (seconds or an HTTP date) is
 *   honoured when it asks for longer than the backoff.
 * - Not retried: any other answer that is not 2xx. A 4xx means the request itself is wrong (a
 *   revoked URL, a body the receiver refuses); a 3xx is not followed, because a POST that is
 *   redirected turns into a GET and loses its body.
 * - Bounded: at most `attempts` attempts, each abandoned after `timeoutMs`; no attempt starts and
 *   no wait runs past `deadline`. What the deadline (or a shutdown) cut short is `deferred`: the
 *   caller tries again on its next pass.
 *
 * TIME: the waits between attempts are on the injected clock (so tests run them in simulated
 * time); the per-attempt timeout is a real timer, because it bounds a real socket.
 *
 * The URL often carries a token (Slack, Discord): messages name the host only.
 */

export interface PostOptions {
  url: string;
  body: unknown;
  timeoutMs: number;
  attempts: number;
  clock: Clock;
  /** Clock time after which no attempt starts and no backoff waits. */
  deadline: number;
  signal?: AbortSignal;
  /** First backoff wait (default 1 s); doubles per retry. */
  backoffMs?: number;
  /** Longest backoff wait (default 60 s). */
  maxBackoffMs?: number;
}

export type PostResult =
  | { outcome: 'sent'; attempts: number; status: number }
  /** Given up: `retryable` false for an answer that will not change, true when attempts ran out. */
  | { outcome: 'failed'; attempts: number; status?: number; retryable: boolean; error: string }
  /** Cut short by the deadline or a shutdown before giving up: try again later. */
  | { outcome: 'deferred'; attempts: number; status?: number; error: string };

type Attempt =
  | { ok: true; status: number }
  | { ok: false; retryable: boolean; status?: number; error: string; retryAfterMs?: number };

/** How much of an error answer's body is kept for the message. */
const ERROR_BODY_CHARS = 300;

export async function postWebhook(options: PostOptions): Promise<PostResult> {
  const { clock, deadline, signal } = options;
  const host = hostOf(options.url);
  const payload = JSON.stringify(options.body);
  const base = options.backoffMs ?? 1000;
  const cap = options.maxBackoffMs ?? 60_000;
  let last: Extract<Attempt, { ok: false }> | undefined;
  let attempts = 0;
  while (attempts < options.attempts) {
    if (signal?.aborted) return deferred(attempts, last, 'kaizen is shutting down');
    if (clock.now() >= deadline) return deferred(attempts, last, "this pass's deadline was reached");
    attempts++;
    const result = await attempt(options.url, host, payload, options.timeoutMs, clock, signal);
    if (result.ok) return { outcome: 'sent', attempts, status: result.status };
    last = result;
    if (signal?.aborted) return deferred(attempts, last, 'kaizen is shutting down');
    if (!result.retryable) return failed(attempts, result, false);
    if (attempts >= options.attempts) break;
    const backoff = Math.min(cap, base * 2 ** (attempts - 1));
    const wait = Math.max(backoff, result.retryAfterMs ?? 0);
    if (clock.now() + wait >= deadline) {
      return deferred(
        attempts,
        last,
        `the next attempt (in ${formatDuration(wait)}) would be past this pass's deadline`,
      );
    }
    try {
      await clock.sleep(wait, signal);
    } catch {
      return deferred(attempts, last, 'kaizen is shutting down');
    }
  }
  return failed(attempts, last!, true, `gave up after ${attempts} attempts`);
}

function failed(
  attempts: number,
  a: Extract<Attempt, { ok: false }>,
  retryable: boolean,
  suffix?: string,
): PostResult {
  return {
    outcome: 'failed',
    attempts,
    retryable,
    ...(a.status === undefined ? {} : { status: a.status }),
    error: suffix ? `${a.error}; ${suffix}` : a.error,
  };
}

function deferred(
  attempts: number,
  last: Extract<Attempt, { ok: false }> | undefined,
  why: string,
): PostResult {
  return {
    outcome: 'deferred',
    attempts,
    ...(last?.status === undefined ? {} : { status: last.status }),
    error: last ? `${last.error}; ${why}` : why,
  };
}

async function attempt(
  url: string,
  host: string,
  payload: string,
  timeoutMs: number,
  clock: Clock,
  abort?: AbortSignal,
): Promise<Attempt> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = abort ? AbortSignal.any([abort, timeout]) : timeout;
  try {
    const res = await fetch(url, {
      method: 'POST',
      body: payload,
      signal,
      redirect: 'manual',
      headers: { 'content-type': 'application/json', 'user-agent': 'kaizen-notifier' },
    });
    const excerpt = await readExcerpt(res);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    const answered = `${host} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${excerpt ? `: ${excerpt}` : ''}`;
    if (res.status >= 300 && res.status < 400) {
      return {
        ok: false,
        retryable: false,
        status: res.status,
        error: `${answered}; a redirect is not followed (it would turn the POST into a GET): configure the URL it points to`,
      };
    }
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), clock.now());
      return {
        ok: false,
        retryable: true,
        status: res.status,
        error: answered,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    }
    return {
      ok: false,
      retryable: false,
      status: res.status,
      error: `${answered}; not retried: the receiver refuses this request (check the webhook URL and its format)`,
    };
  } catch (err) {
    if (abort?.aborted) return { ok: false, retryable: true, error: `${host}: interrupted by shutdown` };
    if (timeout.aborted)
      return {
        ok: false,
        retryable: true,
        error: `${host} did not answer within ${formatDuration(timeoutMs)}`,
      };
    // Messages from fetch name the host and port at most; scrub the URL anyway, it may hold a token.
    const why = describeFetchFailure(err, errorCode).split(url).join(host);
    return { ok: false, retryable: true, error: `${host}: ${why}` };
  }
}

/** The first few hundred characters of the answer, on one line; the rest is not read. */
async function readExcerpt(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < ERROR_BODY_CHARS * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > ERROR_BODY_CHARS ? `${text.slice(0, ERROR_BODY_CHARS)}…` : text;
}

/** Retry-After as milliseconds: delta-seconds, or an HTTP date relative to `now`. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The host (and port) of a URL: what logs and messages show instead of a URL that may hold a token. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}
