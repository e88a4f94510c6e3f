import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../clock.js';
import { HttpJsonSource } from '../../config/schema.js';
import { SourceError } from '../../errors.js';
import { httpJson } from './http-json.js';
import type { SourceContext } from './types.js';

const servers: Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function serve(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function json(body: unknown, status = 200): RequestListener {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

function ctx(abort = new AbortController().signal): SourceContext {
  return {
    repoPath: '/nonexistent',
    clock: new SimulatedClock(),
    abort,
    state: undefined,
    setState: () => {},
  };
}

function config(url: string, path: string, headers: Record<string, string> = {}) {
  return HttpJsonSource.parse({ kind: 'http-json', url, path, headers });
}

const doc = {
  pipeline: {
    coordinator_rss_mb: 412.5,
    queue_depth: 7,
    healthy: true,
    ratio: '12.5',
    name: 'main',
    nothing: null,
    list: [],
  },
  items: [{ value: 3 }, { value: 4 }],
};

describe('http-json source', () => {
  it('reads the number at a dotted path', async () => {
    const url = await serve(json(doc));
    expect(await httpJson.sample(config(url, 'pipeline.coordinator_rss_mb'), ctx())).toBe(412.5);
    expect(await httpJson.sample(config(url, 'pipeline.queue_depth'), ctx())).toBe(7);
  });

  it('follows array indexes', async () => {
    const url = await serve(json(doc));
    expect(await httpJson.sample(config(url, 'items[1].value'), ctx())).toBe(4);
  });

  it('accepts numeric strings and booleans', async () => {
    const url = await serve(json(doc));
    expect(await httpJson.sample(config(url, 'pipeline.ratio'), ctx())).toBe(12.5);
    expect(await httpJson.sample(config(url, 'pipeline.healthy'), ctx())).toBe(1);
  });

  it('sends the configured headers', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ auth: req.headers.authorization === 'Bearer s3cret' }));
    });
    expect(await httpJson.sample(config(url, 'auth', { Authorization: 'Bearer s3cret' }), ctx())).toBe(1);
    expect(await httpJson.sample(config(url, 'auth'), ctx())).toBe(0);
  });

  it('reports a non-2xx status', async () => {
    const url = await serve(json({ error: 'busy' }, 503));
    await expect(httpJson.sample(config(url, 'x'), ctx())).rejects.toThrow(
      `GET ${url} answered 503 Service Unavailable`,
    );
  });

  it('quotes the start of a body that is not JSON', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html><body>${'x'.repeat(200)}</body></html>`);
    });
    const err = await httpJson.sample(config(url, 'x'), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toBe(
      `GET ${url} answered with a body that is not JSON (content-type text/html): "<html><body>${'x'.repeat(68)}…"`,
    );
  });

  it('names the missing key and lists the keys that exist there', async () => {
    const url = await serve(json(doc));
    await expect(httpJson.sample(config(url, 'pipeline.coordinator_rss'), ctx())).rejects.toThrow(
      `GET ${url}: path pipeline.coordinator_rss: no key "coordinator_rss" in pipeline; keys there: coordinator_rss_mb, queue_depth, healthy, ratio, name, nothing, list`,
    );
    await expect(httpJson.sample(config(url, 'pipline.x'), ctx())).rejects.toThrow(
      'no key "pipline" in the top level; keys there: pipeline, items',
    );
  });

  it('lists at most 10 keys', async () => {
    const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, i]));
    const url = await serve(json(many));
    await expect(httpJson.sample(config(url, 'nope'), ctx())).rejects.toThrow(
      'keys there: k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, … (25 in all)',
    );
  });

  it('says when an index is out of range or the value is not a container', async () => {
    const url = await serve(json(doc));
    await expect(httpJson.sample(config(url, 'items[2].value'), ctx())).rejects.toThrow(
      'path items[2].value: items has 2 item(s), so there is no [2]',
    );
    await expect(httpJson.sample(config(url, 'pipeline.queue_depth.x'), ctx())).rejects.toThrow(
      'path pipeline.queue_depth.x: pipeline.queue_depth is a number, so it has no key "x"',
    );
  });

  it('rejects values that are not numbers, naming their type', async () => {
    const url = await serve(json(doc));
    await expect(httpJson.sample(config(url, 'pipeline.name'), ctx())).rejects.toThrow(
      'path pipeline.name is the string "main", not a number',
    );
    await expect(httpJson.sample(config(url, 'pipeline'), ctx())).rejects.toThrow(
      'path pipeline is an object, not a number',
    );
    await expect(httpJson.sample(config(url, 'pipeline.nothing'), ctx())).rejects.toThrow(
      'path pipeline.nothing is null, not a number',
    );
    await expect(httpJson.sample(config(url, 'pipeline.list'), ctx())).rejects.toThrow(
      'path pipeline.list is an array, not a number',
    );
  });

  it('explains a refused connection', async () => {
    const url = await serve(json(doc));
    const server = servers.pop()!;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(httpJson.sample(config(url, 'x'), ctx())).rejects.toThrow(
      `GET ${url} failed: connection refused (ECONNREFUSED)`,
    );
  });

  it('gives up promptly when aborted while the server hangs', async () => {
    const url = await serve(() => {}); // never answers
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    // The server never answers: only the abort can end this sample.
    const err = await httpJson.sample(config(url, 'x'), ctx(controller.signal)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toBe(`GET ${url}: timed out after 5s`);
    expect((err as SourceError).code).toBe('SOURCE_TIMEOUT');
  });

  it('gives up when aborted in the middle of the body, keeping the reason the caller gave', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a": '); // and never finishes
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new SourceError('timed out after 5000 ms', { timeout: true })), 100);
    const err = await httpJson.sample(config(url, 'a'), ctx(controller.signal)).catch((e: unknown) => e);
    expect((err as SourceError).message).toBe(`GET ${url}: timed out after 5000 ms`);
    expect((err as SourceError).code).toBe('SOURCE_TIMEOUT');
  });
});
