import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { HttpError } from './errors.js';

/**
 * An answer: JSON (the API), text (the Prometheus exposition, the dashboard's page) or bytes (a
 * static file). `headers` add to or override the server's defaults (for example its CSP).
 */
export type Reply = { status?: number; headers?: Record<string, string> } & (
  { json: unknown } | { text: string; contentType: string } | { body: Buffer; contentType: string }
);

export interface RequestContext {
  req: IncomingMessage;
  /** Path parameters by name (`:id` → `params.id`), URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The request body, parsed as JSON and checked against `schema`; `example` is shown on a 400. */
  json<S extends z.ZodType>(schema: S, example: string): Promise<z.infer<S>>;
}

export interface Route {
  method: 'GET' | 'POST';
  /** Segments, `:name` for a parameter: `/api/interventions/:id/approve`. Also the metrics label. */
  path: string;
  /** Changes state: always needs the bearer token, and runs one at a time. */
  changesState: boolean;
  /**
   * Serves only what is the same for every kaizen (the dashboard's shell and assets): readable
   * without the token even beyond loopback, so a browser can load the page that asks for it.
   * Default false.
   */
  publicRead?: boolean;
  handle(ctx: RequestContext): Reply | Promise<Reply>;
}

export type Match =
  { route: Route; params: Record<string, string> } | { route?: undefined; allowed: string[] } | undefined;

/**
 * The route for a method and path; `{ allowed }` when the path exists only for other methods
 * (405), undefined when no route has the path (404).
 */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): Match {
  const segments = pathname.split('/').slice(1);
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPath(route.path, segments);
    if (!params) continue;
    if (route.method === method) return { route, params };
    allowed.push(route.method);
  }
  return allowed.length ? { allowed } : undefined;
}

function matchPath(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').slice(1);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i]!;
    if (part.startsWith(':')) {
      if (segment === '') return undefined;
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
      } catch {
        throw new HttpError(
          400,
          'bad_request',
          `the path segment ${JSON.stringify(segment)} is not valid URL encoding`,
        );
      }
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}

/**
 * The query parameters, refusing any the route does not know: a misspelt filter must not quietly
 * return everything.
 */
export function queryParams<K extends string>(
  query: URLSearchParams,
  known: readonly K[],
): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [key, value] of query) {
    if (!(known as readonly string[]).includes(key)) {
      throw new HttpError(
        400,
        'bad_request',
        `unknown query parameter ${JSON.stringify(key)}; ${known.length ? `known: ${known.join(', ')}` : 'this route takes none'}`,
      );
    }
    out[key as K] = value;
  }
  return out;
}
