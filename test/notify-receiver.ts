import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import type { SimulatedClock } from '../src/clock.js';

/*
 * A real webhook receiver on 127.0.0.1 for the notifier's tests: it records every request and
 * answers as the test says (a status, headers, a body, or never).
 */

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Receiver {
  /** The URL to configure, with a secret-looking path as real webhook URLs have. */
  url: string;
  host: string;
  /** Every request, in order. */
  requests: ReceivedRequest[];
  /** The JSON bodies of requests answered 2xx: what was delivered. */
  delivered(): unknown[];
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** `answer(n)` decides the answer to the n-th request (1-based); default 200. */
export async function receiver(answer: (n: number) => Answer = () => ({ status: 200 })): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const okBodies: unknown[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const a = answer(requests.length);
      if (a === 'hang') return;
      if (a.status >= 200 && a.status < 300) okBodies.push(body);
      res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}/services/T000/B000/XyZsecretToken123`,
    host,
    requests,
    delivered: () => okBodies,
  };
}

/**
 * Await `p` while moving a simulated clock whenever something sleeps on it, so backoff waits run
 * in simulated time.
 */
export async function drive<T>(clock: SimulatedClock, p: Promise<T>, stepMs = 500): Promise<T> {
  let settled = false;
  const watched = p.finally(() => {
    settled = true;
  });
  watched.catch(() => {}); // handled by the caller, who awaits what is returned
  while (!settled) {
    await new Promise((r) => setTimeout(r, 2));
    if (!settled && clock.pending > 0) await clock.advance(stepMs);
  }
  return watched;
}
