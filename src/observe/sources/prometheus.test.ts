import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../clock.js';
import { PrometheusSource } from '../../config/schema.js';
import { SourceError } from '../../errors.js';
import { prometheus } from './prometheus.js';
import type { SourceContext } from './types.js';

const servers: Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

/** A /metrics endpoint whose text the test can change between scrapes. */
async function exporter(initial: string): Promise<{ url: string; set(text: string): void }> {
  let text = initial;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(text);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  return { url, set: (t) => (text = t) };
}

interface Harness {
  ctx(abort?: AbortSignal): SourceContext;
  clock: SimulatedClock;
  saved(): unknown;
}

function harness(): Harness {
  const clock = new SimulatedClock();
  let state: unknown;
  return {
    clock,
    saved: () => state,
    ctx: (abort = new AbortController().signal) => ({
      repoPath: '/nonexistent',
      clock,
      abort,
      state,
      setState: (next) => (state = next),
    }),
  };
}

function config(url: string, metric: string, extra: { aggregate?: string; mode?: string } = {}) {
  return PrometheusSource.parse({ kind: 'prometheus', url, metric, ...extra });
}

const METRICS = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",status="200"} 100
http_requests_total{method="GET",status="503"} 4
http_requests_total{method="POST",status="500"} 6
http_requests_total{method="POST",status="200"} 10
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.5e7
http_request_duration_seconds_bucket{le="+Inf"} 120
http_request_duration_seconds_count 120
queue_depth NaN
`;

describe('prometheus source', () => {
  it('reads one series by name', async () => {
    const { url } = await exporter(METRICS);
    expect(await prometheus.sample(config(url, 'process_resident_memory_bytes'), harness().ctx())).toBe(
      25_000_000,
    );
  });

  it('selects series with label matchers and sums them by default', async () => {
    const { url } = await exporter(METRICS);
    const h = harness();
    expect(await prometheus.sample(config(url, 'http_requests_total{status=~"5.."}'), h.ctx())).toBe(10);
    expect(
      await prometheus.sample(config(url, 'http_requests_total{method="GET",status!="200"}'), h.ctx()),
    ).toBe(4);
    expect(await prometheus.sample(config(url, 'http_requests_total{method!~"G.*"}'), h.ctx())).toBe(16);
    expect(await prometheus.sample(config(url, 'http_requests_total'), h.ctx())).toBe(120);
  });

  it('combines series with max, min, avg and count', async () => {
    const { url } = await exporter(METRICS);
    const h = harness();
    const m = 'http_requests_total';
    expect(await prometheus.sample(config(url, m, { aggregate: 'max' }), h.ctx())).toBe(100);
    expect(await prometheus.sample(config(url, m, { aggregate: 'min' }), h.ctx())).toBe(4);
    expect(await prometheus.sample(config(url, m, { aggregate: 'avg' }), h.ctx())).toBe(30);
    expect(await prometheus.sample(config(url, m, { aggregate: 'count' }), h.ctx())).toBe(4);
  });

  it('rejects a value that is not finite', async () => {
    const { url } = await exporter(METRICS);
    await expect(prometheus.sample(config(url, 'queue_depth'), harness().ctx())).rejects.toThrow(
      `queue_depth at ${url} is NaN (sum of 1 series), not a finite number`,
    );
  });

  it('rejects a malformed selector before scraping', async () => {
    await expect(
      prometheus.sample(
        config('http://127.0.0.1:1/metrics', 'http_requests_total{status=5}'),
        harness().ctx(),
      ),
    ).rejects.toThrow(
      'malformed metric selector "http_requests_total{status=5}": expected a quoted string, found "5}" (at character 28)',
    );
  });

  it('names similar metrics when the metric is not found', async () => {
    const { url } = await exporter(METRICS);
    await expect(prometheus.sample(config(url, 'http_request_total'), harness().ctx())).rejects.toThrow(
      `metric http_request_total not found at ${url}; similar names: http_requests_total, http_request_duration_seconds_bucket, http_request_duration_seconds_count`,
    );
    await expect(prometheus.sample(config(url, 'queue_dept'), harness().ctx())).rejects.toThrow(
      `metric queue_dept not found at ${url}; similar names: queue_depth`,
    );
    await expect(prometheus.sample(config(url, 'zzz'), harness().ctx())).rejects.toThrow(
      `metric zzz not found at ${url}; it exposes e.g. http_requests_total, process_resident_memory_bytes, http_request_duration_seconds_bucket, http_request_duration_seconds_count, queue_depth`,
    );
  });

  it('lists the series of the metric when only the label matchers miss', async () => {
    const { url } = await exporter(METRICS);
    await expect(
      prometheus.sample(config(url, 'http_requests_total{status="404"}'), harness().ctx()),
    ).rejects.toThrow(
      `no series of http_requests_total at ${url} matches {status="404"}; its series: {method="GET", status="200"}, {method="GET", status="503"}, {method="POST", status="500"}, {method="POST", status="200"}`,
    );
  });

  it('says when the page exposes nothing readable', async () => {
    const { url } = await exporter('<html>not metrics</html>\n');
    await expect(prometheus.sample(config(url, 'up'), harness().ctx())).rejects.toThrow(
      `${url} exposes no metrics; 1 line(s) could not be read, first line 1: expected a metric name, found "<html>not " (column 1)`,
    );
  });

  describe('rate mode', () => {
    it('has no rate on the first sample but saves the value for the next', async () => {
      const { url } = await exporter('jobs_total 50\n');
      const h = harness();
      const err = await prometheus
        .sample(config(url, 'jobs_total', { mode: 'rate' }), h.ctx())
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as Error).message).toBe('first sample of a rate: no previous value yet');
      expect(h.saved()).toEqual({ value: 50, t: h.clock.now() });
    });

    it('gives the per-second increase since the previous sample', async () => {
      const exp = await exporter('jobs_total 50\n');
      const h = harness();
      const cfg = config(exp.url, 'jobs_total', { mode: 'rate' });
      await expect(prometheus.sample(cfg, h.ctx())).rejects.toThrow('first sample');
      await h.clock.advance(10_000);
      exp.set('jobs_total 80\n');
      expect(await prometheus.sample(cfg, h.ctx())).toBe(3);
      await h.clock.advance(60_000);
      exp.set('jobs_total 110\n');
      expect(await prometheus.sample(cfg, h.ctx())).toBe(0.5);
    });

    it('treats a lower value as a counter reset: the new value is the increase since 0', async () => {
      const exp = await exporter('jobs_total 1000\n');
      const h = harness();
      const cfg = config(exp.url, 'jobs_total', { mode: 'rate' });
      await expect(prometheus.sample(cfg, h.ctx())).rejects.toThrow('first sample');
      await h.clock.advance(20_000);
      exp.set('jobs_total 40\n'); // restarted, then counted 40
      expect(await prometheus.sample(cfg, h.ctx())).toBe(2);
      expect(h.saved()).toEqual({ value: 40, t: h.clock.now() });
    });
  });

  it('reports a non-2xx status and a refused connection', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(404);
      res.end('not here');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    await expect(prometheus.sample(config(url, 'up'), harness().ctx())).rejects.toThrow(
      `GET ${url} answered 404 Not Found`,
    );
    servers.pop()!.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(prometheus.sample(config(url, 'up'), harness().ctx())).rejects.toThrow(
      `GET ${url} failed: connection refused (ECONNREFUSED)`,
    );
  });

  it('gives up promptly when aborted while the exporter hangs', async () => {
    const server = createServer(() => {});
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    // The exporter never answers: only the abort can end this sample.
    const err = await prometheus
      .sample(config(url, 'up'), harness().ctx(controller.signal))
      .catch((e: unknown) => e);
    expect((err as SourceError).message).toBe(`GET ${url}: timed out after 5s`);
    expect((err as SourceError).code).toBe('SOURCE_TIMEOUT');
  });
});
