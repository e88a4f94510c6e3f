import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../compose.js';
import { ConfigError } from '../errors.js';
import { directActions, type ServerActions } from './actions.js';
import { authorize, isLoopback, readToken, type AuthPolicy } from './auth.js';
import { readJson } from './body.js';
import { HttpError, toHttpError } from './errors.js';
import { createMetrics, type KaizenMetrics } from './metrics.js';
import { matchRoute, type Reply } from './router.js';
import { allRoutes, describeRoutes } from './routes.js';
import { NO_CONTENT_POLICY } from './static.js';
import type { BreakerMap, SchedulerView } from './snapshot.js';

export interface ServerOptions {
  /** The daemon's circuit breakers, reported in /health and /metrics (default: none). */
  breakers?: BreakerMap;
  /** Metrics the daemon also feeds (job durations); default: a fresh set for this server. */
  metrics?: KaizenMetrics;
  /** The scheduler running in this process, for its state in /health (default: none). */
  scheduler?: SchedulerView;
  /** How approve, reject and revert run (default: directly, one at a time, as the CLI runs them). */
  actions?: ServerActions;
  /** Where the token (server.tokenEnv) and provider keys are read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** The built dashboard (`npm run build`): its assets folder (default: the package's dist/dashboard). */
  dashboardDir?: string;
  /** How a person chooses the port, named when it cannot be used (default `server.port`; the demo's `--port`). */
  portSetting?: string;
}

export interface RunningServer {
  /** `http://127.0.0.1:7878`: the address it listens on. */
  url: string;
  port: number;
  host: string;
  /** Stop accepting, let requests in flight finish, then resolve. Calling it again waits for the same close. */
  close(): Promise<void>;
}

/** A slow client may take this long to send its headers, and this long for the whole request. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Serve /health, /metrics and the JSON API on `config.server.host`:`port` (port 0: any free
 * port). Refuses to listen beyond loopback without a bearer token. The caller decides whether to
 * start it (`server.enabled`).
 */
export async function startServer(
  rt: Pick<Runtime, 'config' | 'store' | 'clock' | 'logger'>,
  options: ServerOptions = {},
): Promise<RunningServer> {
  const { host, port, tokenEnv, maxBodyBytes } = rt.config.server;
  const env = options.env ?? process.env;
  const auth: AuthPolicy = { token: readToken(env, tokenEnv), tokenEnv, loopback: isLoopback(host) };
  if (!auth.loopback && auth.token === undefined) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `server.host is ${host}, beyond loopback, and ${tokenEnv} is not set: binding beyond loopback needs a token, or anyone who can reach the port could read and change kaizen's state. Set ${tokenEnv} (e.g. export ${tokenEnv}=$(openssl rand -hex 32)) or keep server.host: 127.0.0.1`,
    );
  }
  const metrics =
    options.metrics ?? createMetrics(rt, options.breakers ? { breakers: options.breakers } : {});
  const routes = allRoutes({
    rt,
    actions: options.actions ?? directActions(rt),
    metrics,
    ...(options.dashboardDir !== undefined ? { dashboardDir: options.dashboardDir } : {}),
    health: {
      breakers: options.breakers,
      scheduler: options.scheduler,
      env,
      startedAt: rt.clock.now(),
    },
  });

  let closing = false;
  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      // Only writing the answer itself can fail here (the client went away): nothing left to tell it.
      rt.logger.error({ err }, 'http answer could not be written');
      res.destroy();
    });
  });
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    let routeLabel = 'unmatched';
    let answer: Rendered;
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://kaizen.invalid');
      } catch {
        throw new HttpError(
          400,
          'bad_request',
          `the request target ${JSON.stringify(req.url)} is not a valid URL`,
        );
      }
      const match = matchRoute(routes, method, url.pathname);
      if (match?.route) routeLabel = match.route.path;
      // Before 404 and 405: beyond loopback, a caller without the token learns nothing, not even
      // which routes exist.
      authorize(auth, req.headers, match?.route?.changesState ?? false, match?.route?.publicRead ?? false);
      if (!match) {
        throw new HttpError(
          404,
          'not_found',
          `no route ${method} ${url.pathname}; routes: ${describeRoutes(routes)}`,
        );
      }
      if (!match.route) {
        const allow = new Set([...match.allowed, ...(match.allowed.includes('GET') ? ['HEAD'] : [])]);
        throw new HttpError(
          405,
          'method_not_allowed',
          `${url.pathname} answers ${match.allowed.join(', ')}, not ${method}`,
          { allow: [...allow].join(', ') },
        );
      }
      const reply = await match.route.handle({
        req,
        params: match.params,
        query: url.searchParams,
        json: (schema, example) => readJson(req, maxBodyBytes, schema, example),
      });
      answer = render(reply);
    } catch (err) {
      const { error, unexpected } = toHttpError(err, requestId);
      if (unexpected) rt.logger.error({ err, requestId, route: routeLabel }, 'http request failed');
      answer = render({
        status: error.status,
        json: { error: { code: error.code, message: error.message } },
      });
      answer.headers = { ...error.headers };
    }
    if (closing) answer.headers.connection = 'close';
    res.writeHead(answer.status, {
      'content-type': answer.contentType,
      'content-length': Buffer.byteLength(answer.body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Answers that are not pages may load and run nothing, even when opened as one.
      'content-security-policy': NO_CONTENT_POLICY,
      ...answer.headers,
    });
    res.end(answer.body);
    metrics.httpRequests.inc({
      route: routeLabel,
      method: methodLabel(req.method),
      status: String(answer.status),
    });
    // Never the headers: the Authorization header carries the token.
    rt.logger.debug(
      { requestId, method: req.method, route: routeLabel, status: answer.status },
      'http request',
    );
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(listenError(err, host, port, options.portSetting ?? 'server.port'));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => rt.logger.error({ err }, 'http server error'));
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  rt.logger.info(
    { url, loopback: auth.loopback, tokenConfigured: auth.token !== undefined },
    'http server listening',
  );

  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    host: address.address,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        closing = true;
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections with nothing in flight would hold close() open until they time out.
        server.closeIdleConnections();
      })),
  };
}

interface Rendered {
  status: number;
  body: string | Buffer;
  contentType: string;
  headers: Record<string, string>;
}

function render(reply: Reply): Rendered {
  const status = reply.status ?? 200;
  const headers = { ...reply.headers };
  if ('json' in reply)
    return {
      status,
      body: `${JSON.stringify(reply.json, null, 2)}\n`,
      contentType: 'application/json; charset=utf-8',
      headers,
    };
  return { status, body: 'text' in reply ? reply.text : reply.body, contentType: reply.contentType, headers };
}

/** Only the methods kaizen knows become label values: anything else a client sends is `other`. */
function methodLabel(method: string | undefined): string {
  return method === 'GET' || method === 'HEAD' || method === 'POST' ? method : 'other';
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number, portSetting: string): Error {
  const where = `${host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new ConfigError(
        'CONFIG_INVALID',
        `cannot listen on ${where}: the port is in use; stop the other process or choose another ${portSetting}`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ConfigError(
        'CONFIG_INVALID',
        `cannot listen on ${where}: this machine has no such address; fix server.host`,
      );
    case 'EACCES':
      return new ConfigError(
        'CONFIG_INVALID',
        `cannot listen on ${where}: not permitted (ports below 1024 need privileges); choose a ${portSetting} above 1024`,
      );
    default:
      return err;
  }
}
