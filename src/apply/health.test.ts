import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock, SystemClock } from '../clock.js';
import { HealthProbe } from '../config/schema.js';
import { probeHealth } from './health.js';

const servers: http.Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface TestServer {
  url: string;
  /** Requests received so far. */
  readonly requests: number;
}

/** A real HTTP server on 127.0.0.1; `answer` gets the 1-based request number. */
async function serve(
  answer: (n: number, res: http.ServerResponse) => void,
  path = '/health',
): Promise<TestServer> {
  let requests = 0;
  const server = http.createServer((_req, res) => answer(++requests, res));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    get requests() {
      return requests;
    },
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Fails (503) the first `n` requests, then answers 200 {"status":"ok"}. */
const failFirst = (n: number) => (i: number, res: http.ServerResponse) =>
  i <= n ? json(res, 503, { status: 'starting' }) : json(res, 200, { status: 'ok' });

function probe(url: string, extra: Record<string, unknown> = {}): HealthProbe {
  return HealthProbe.parse({ url, attempts: 3, interval: '10ms', timeout: '2s', maxLatency: '2s', ...extra });
}

const clock = new SystemClock();

describe('probeHealth: the attempts boundary', () => {
  it('is healthy at the first passing probe and makes no more', async () => {
    const s = await serve(failFirst(0));
    const r = await probeHealth(probe(s.url, { expectJson: { status: 'ok' } }), clock);
    expect(r.healthy).toBe(true);
    expect(r.attempts).toHaveLength(1);
    expect(r.attempts[0]).toMatchObject({ ok: true, status: 200 });
    expect(r.attempts[0]!.failure).toBeUndefined();
    expect(s.requests).toBe(1);
  });

  it('attempts 3: fail, fail, pass is healthy, with 3 attempts recorded', async () => {
    const s = await serve(failFirst(2));
    const r = await probeHealth(probe(s.url), clock);
    expect(r.healthy).toBe(true);
    expect(r.attempts.map((a) => [a.ok, a.status, a.failure])).toEqual([
      [false, 503, 'status 503, expected 200'],
      [false, 503, 'status 503, expected 200'],
      [true, 200, undefined],
    ]);
    expect(s.requests).toBe(3);
  });

  it('attempts 3: fail, fail, fail is unhealthy, and there is no fourth probe', async () => {
    const s = await serve(failFirst(3));
    const r = await probeHealth(probe(s.url), clock);
    expect(r.healthy).toBe(false);
    expect(r.attempts).toHaveLength(3);
    expect(r.attempts.every((a) => !a.ok && a.failure === 'status 503, expected 200')).toBe(true);
    expect(s.requests).toBe(3);
  });

  it('attempts 1: one failure is final', async () => {
    const s = await serve(failFirst(1));
    const r = await probeHealth(probe(s.url, { attempts: 1 }), clock);
    expect(r.healthy).toBe(false);
    expect(r.attempts).toHaveLength(1);
    expect(s.requests).toBe(1);
  });

  it('waits intervalMs between probes on the injected clock', async () => {
    const s = await serve(failFirst(1));
    const sim = new SimulatedClock();
    const run = probeHealth(probe(s.url, { interval: '30s' }), sim);
    while (sim.pending === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(s.requests).toBe(1); // the second probe waits for the clock, not for real time
    await sim.advance(30_000);
    const r = await run;
    expect(r.healthy).toBe(true);
    expect(r.attempts.map((a) => a.at)).toEqual([sim.now() - 30_000, sim.now()]);
  });
});

describe('probeHealth: what fails a probe', () => {
  it('a wrong JSON value, a missing key, a value of another type', async () => {
    const s = await serve((_n, res) => json(res, 200, { status: 'degraded', db: { up: true }, code: '200' }));
    const r = await probeHealth(
      probe(s.url, { attempts: 1, expectJson: { status: 'ok', 'db.up': true } }),
      clock,
    );
    expect(r.healthy).toBe(false);
    expect(r.attempts[0]).toMatchObject({
      ok: false,
      status: 200,
      failure: 'status: "degraded", expected "ok"',
    });

    const missing = await probeHealth(
      probe(s.url, { attempts: 1, expectJson: { 'checks.db': 'ok' } }),
      clock,
    );
    expect(missing.attempts[0]!.failure).toBe('checks.db: missing, expected "ok"');

    const typed = await probeHealth(probe(s.url, { attempts: 1, expectJson: { code: 200 } }), clock);
    expect(typed.attempts[0]!.failure).toBe('code: "200", expected 200');

    const ok = await probeHealth(
      probe(s.url, { attempts: 1, expectJson: { 'db.up': true, code: '200' } }),
      clock,
    );
    expect(ok.healthy).toBe(true);
  });

  it('a body that is not JSON when JSON is expected', async () => {
    const s = await serve((_n, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>maintenance</html>');
    });
    const r = await probeHealth(probe(s.url, { attempts: 1, expectJson: { status: 'ok' } }), clock);
    expect(r.attempts[0]).toMatchObject({
      ok: false,
      status: 200,
      failure: 'body is not JSON ("<html>maintenance</html>")',
    });
    // Without expectJson the body does not matter.
    expect((await probeHealth(probe(s.url, { attempts: 1 }), clock)).healthy).toBe(true);
  });

  it('a wrong status, and a redirect (not followed)', async () => {
    const s = await serve((n, res) => {
      res.writeHead(302, { location: '/login' });
      res.end();
    });
    const r = await probeHealth(probe(s.url, { attempts: 1 }), clock);
    expect(r.attempts[0]).toMatchObject({ ok: false, status: 302, failure: 'status 302, expected 200' });
    const teapot = await serve((_n, res) => json(res, 418, {}));
    const t = await probeHealth(probe(teapot.url, { attempts: 1, expectStatus: 418 }), clock);
    expect(t.healthy).toBe(true);
  });

  it('a server that does not answer in time', async () => {
    const s = await serve(() => {
      // never answers
    });
    const r = await probeHealth(probe(s.url, { attempts: 2, timeout: '200ms' }), clock);
    expect(r.healthy).toBe(false);
    expect(r.attempts.map((a) => a.failure)).toEqual(['timed out after 200 ms', 'timed out after 200 ms']);
    expect(r.attempts[0]!.status).toBeUndefined();
  });

  it('a refused connection', async () => {
    const s = await serve(() => {});
    const closed = servers.pop()!;
    await new Promise((r) => closed.close(r));
    const r = await probeHealth(probe(s.url, { attempts: 2 }), clock);
    expect(r.healthy).toBe(false);
    expect(r.attempts.map((a) => [a.ok, a.failure])).toEqual([
      [false, 'connection refused (ECONNREFUSED)'],
      [false, 'connection refused (ECONNREFUSED)'],
    ]);
  });

  it('an answer slower than maxLatency, even when it is right', async () => {
    const s = await serve((_n, res) => {
      setTimeout(() => json(res, 200, { status: 'ok' }), 300);
    });
    const r = await probeHealth(
      probe(s.url, { attempts: 1, maxLatency: '100ms', expectJson: { status: 'ok' } }),
      clock,
    );
    expect(r.healthy).toBe(false);
    expect(r.attempts[0]!.ok).toBe(false);
    expect(r.attempts[0]!.status).toBe(200);
    expect(r.attempts[0]!.failure).toMatch(/^answered in \d+ ms, limit 100 ms$/);
  });

  it('several reasons at once are all given', async () => {
    const s = await serve((_n, res) => json(res, 500, { status: 'down' }));
    const r = await probeHealth(probe(s.url, { attempts: 1, expectJson: { status: 'ok' } }), clock);
    expect(r.attempts[0]!.failure).toBe('status 500, expected 200; status: "down", expected "ok"');
  });
});

describe('probeHealth: abort', () => {
  it('rejects with the abort reason instead of giving a verdict', async () => {
    const s = await serve(failFirst(10));
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const run = probeHealth(probe(s.url, { attempts: 5, interval: '30s' }), clock, controller.signal);
    while (s.requests === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
  });
});
