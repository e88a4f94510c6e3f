import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { drive, receiver } from '../../test/notify-receiver.js';
import { SimulatedClock } from '../clock.js';
import { parseRetryAfter, postWebhook, type PostOptions } from './webhook.js';

const HOUR = 3_600_000;

function post(clock: SimulatedClock, url: string, extra: Partial<PostOptions> = {}) {
  return postWebhook({
    url,
    body: { hello: 'world' },
    timeoutMs: 2000,
    attempts: 5,
    clock,
    deadline: clock.now() + HOUR,
    ...extra,
  });
}

describe('postWebhook', () => {
  it('POSTs the JSON body once when the receiver answers 200', async () => {
    const rx = await receiver();
    const clock = new SimulatedClock();

    const r = await post(clock, rx.url);

    expect(r).toEqual({ outcome: 'sent', attempts: 1, status: 200 });
    expect(rx.requests).toHaveLength(1);
    expect(rx.requests[0]).toMatchObject({
      method: 'POST',
      path: '/services/T000/B000/XyZsecretToken123',
      body: { hello: 'world' },
    });
    expect(rx.requests[0]!.headers['content-type']).toBe('application/json');
  });

  it('retries 500, 500 and is delivered on the third attempt after 1 s and 2 s of simulated backoff', async () => {
    const rx = await receiver((n) => (n <= 2 ? { status: 500, body: 'oops' } : { status: 200 }));
    const clock = new SimulatedClock();
    const start = clock.now();

    const r = await drive(clock, post(clock, rx.url), 100);

    expect(r).toEqual({ outcome: 'sent', attempts: 3, status: 200 });
    expect(rx.requests).toHaveLength(3);
    expect(rx.delivered()).toHaveLength(1);
    expect(clock.now() - start).toBe(3000);
  });

  it('does not retry a 400, and says what the receiver answered and what to check', async () => {
    const rx = await receiver(() => ({ status: 400, body: 'invalid_payload\n' }));
    const clock = new SimulatedClock();

    const r = await post(clock, rx.url);

    expect(r).toEqual({
      outcome: 'failed',
      attempts: 1,
      status: 400,
      retryable: false,
      error: `${rx.host} answered 400 Bad Request: invalid_payload; not retried: the receiver refuses this request (check the webhook URL and its format)`,
    });
    expect(rx.requests).toHaveLength(1);
  });

  it('honours Retry-After on a 429 when it asks for longer than the backoff', async () => {
    const rx = await receiver((n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '7' } } : { status: 204 },
    );
    const clock = new SimulatedClock();
    const start = clock.now();

    const r = await drive(clock, post(clock, rx.url), 100);

    expect(r).toEqual({ outcome: 'sent', attempts: 2, status: 204 });
    expect(clock.now() - start).toBe(7000);
  });

  it('gives up after the attempts, naming the last failure', async () => {
    const rx = await receiver(() => ({ status: 503 }));
    const clock = new SimulatedClock();

    const r = await drive(clock, post(clock, rx.url, { attempts: 3 }), 100);

    expect(r).toEqual({
      outcome: 'failed',
      attempts: 3,
      status: 503,
      retryable: true,
      error: `${rx.host} answered 503 Service Unavailable; gave up after 3 attempts`,
    });
    expect(rx.requests).toHaveLength(3);
  });

  it('abandons an attempt the receiver never answers after the timeout', async () => {
    const rx = await receiver(() => 'hang');
    const clock = new SimulatedClock();

    const r = await post(clock, rx.url, { attempts: 1, timeoutMs: 200 });

    expect(r).toEqual({
      outcome: 'failed',
      attempts: 1,
      retryable: true,
      error: `${rx.host} did not answer within 200ms; gave up after 1 attempts`,
    });
  });

  it('names a refused connection by host, never the URL with its token', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const clock = new SimulatedClock();

    const r = await post(clock, `http://127.0.0.1:${port}/hooks/sekrit-token`, { attempts: 1 });

    expect(r.outcome).toBe('failed');
    expect(r.outcome === 'failed' && r.error).toBe(
      `127.0.0.1:${port}: connection refused (ECONNREFUSED); gave up after 1 attempts`,
    );
  });

  it('does not follow a redirect: a redirected POST would lose its body', async () => {
    const rx = await receiver(() => ({ status: 302, headers: { location: 'http://example.invalid/' } }));
    const clock = new SimulatedClock();

    const r = await post(clock, rx.url);

    expect(r.outcome === 'failed' && r.error).toBe(
      `${rx.host} answered 302 Found; a redirect is not followed (it would turn the POST into a GET): configure the URL it points to`,
    );
    expect(rx.requests).toHaveLength(1);
  });

  it('defers instead of waiting past the deadline, and starts nothing after it', async () => {
    const rx = await receiver(() => ({ status: 500 }));
    const clock = new SimulatedClock();

    const r = await post(clock, rx.url, { deadline: clock.now() + 900 });
    const late = await post(clock, rx.url, { deadline: clock.now() });

    expect(r).toEqual({
      outcome: 'deferred',
      attempts: 1,
      status: 500,
      error: `${rx.host} answered 500 Internal Server Error; the next attempt (in 1s) would be past this pass's deadline`,
    });
    expect(late).toEqual({ outcome: 'deferred', attempts: 0, error: "this pass's deadline was reached" });
    expect(rx.requests).toHaveLength(1);
  });

  it('stops at a shutdown during the backoff and defers', async () => {
    const rx = await receiver(() => ({ status: 502 }));
    const clock = new SimulatedClock();
    const stop = new AbortController();

    const pending = post(clock, rx.url, { signal: stop.signal });
    while (clock.pending === 0) await new Promise((r) => setTimeout(r, 2));
    stop.abort();
    const r = await pending;

    expect(r.outcome).toBe('deferred');
    expect(r.outcome === 'deferred' && r.error).toBe(
      `${rx.host} answered 502 Bad Gateway; kaizen is shutting down`,
    );
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    ['0', 0],
    ['Mon, 05 Jan 2026 12:00:30 GMT', 30_000],
    ['Mon, 05 Jan 2026 11:00:00 GMT', 0],
    ['soon', undefined],
    [null, undefined],
  ])('%s → %s ms', (value, ms) => {
    expect(parseRetryAfter(value, Date.UTC(2026, 0, 5, 12, 0, 0))).toBe(ms);
  });
});
