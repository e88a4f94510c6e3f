import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { stringify } from 'yaml';
import { SimulatedClock } from '../src/clock.js';
import { compose, type Runtime } from '../src/compose.js';
import { loadConfig } from '../src/config/load.js';
import type { State } from '../src/loop/states.js';
import { fingerprint, Proposal } from '../src/propose/proposal.js';
import { startServer, type RunningServer, type ServerOptions } from '../src/server/index.js';
import { proposal, targetFixture, type FixtureOptions, type TargetFixture } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';

/** A token long enough for the server to accept. */
export const TOKEN = 'kz-test-token-4f7a9c1e2b3d5a6f';
export const HOUR = 3_600_000;

const servers: RunningServer[] = [];
const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const rt of runtimes.splice(0)) rt.close();
});

export interface CallOptions {
  body?: unknown;
  /** The bearer token to send; `false` sends none. Default: none. */
  token?: string | false;
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Scene {
  fx: TargetFixture;
  rt: Runtime;
  clock: SimulatedClock;
  server: RunningServer;
  /** Everything the runtime logged, one JSON line each (level debug and up). */
  logs: string[];
  call(method: string, route: string, options?: CallOptions): Promise<Answer>;
  /** An intervention taken through the real state machine to `end`, each step an hour apart. */
  finish(end: State, overrides?: Record<string, unknown>): Promise<string>;
}

export interface SceneOptions {
  fixture?: FixtureOptions;
  /** A guard policy file for the target (keys override guards/default.yaml). */
  policy?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  server?: Omit<ServerOptions, 'env'>;
  /** Extra `server:` config keys. */
  serverConfig?: Record<string, unknown>;
}

/** A runtime on a real target fixture, with its logs captured; the server is not started. */
export async function runtimeScene(options: SceneOptions = {}): Promise<{
  fx: TargetFixture;
  rt: Runtime;
  clock: SimulatedClock;
  logs: string[];
}> {
  let guardPolicy: string | undefined;
  if (options.policy) {
    guardPolicy = path.join(tempDir('kaizen-policy-'), 'policy.yaml');
    writeFileSync(guardPolicy, stringify(options.policy));
  }
  const fx = await targetFixture({
    ...options.fixture,
    config: {
      lessonsDir: 'lessons',
      server: { port: 0, ...options.serverConfig },
      ...options.fixture?.config,
    },
    target: { ...(guardPolicy ? { guardPolicy } : {}), ...options.fixture?.target },
  });
  const clock = new SimulatedClock('2026-11-02T12:00:00Z');
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const rt = compose(loadConfig(fx.configPath), { clock, logger: pino({ level: 'debug' }, sink) });
  runtimes.push(rt);
  rt.store.catalog.sync(rt.config.targets[0]!, clock.now());
  return { fx, rt, clock, logs };
}

/** A runtime, and a server on 127.0.0.1 with a free port and the token configured (unless `env` says otherwise). */
export async function scene(options: SceneOptions = {}): Promise<Scene> {
  const { fx, rt, clock, logs } = await runtimeScene(options);
  const server = await startServer(rt, { ...options.server, env: options.env ?? { KAIZEN_TOKEN: TOKEN } });
  servers.push(server);

  const call = async (method: string, route: string, o: CallOptions = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${server.url}${route}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };

  const finish = async (end: State, overrides: Record<string, unknown> = {}): Promise<string> => {
    const p = Proposal.parse(proposal(overrides));
    const s = rt.store.interventions;
    const iv = s.create(
      {
        target: 'app',
        proposal: p,
        fingerprint: fingerprint(p),
        origin: 'rules',
        baseSha: null,
        actor: 'kaizen',
        reason: 'test',
      },
      clock.now(),
    );
    s.transition(iv.id, 'applying', clock.now(), 'kaizen', 'every guard check passed', {
      guard: {
        decision: 'pass',
        checks: [
          { check: 'path', decision: 'pass', reason: 'ok' },
          { check: 'budget', decision: 'pass', reason: '0 of 5 applies used today' },
        ],
      },
    });
    if (end === 'applying') return iv.id;
    await clock.advance(HOUR);
    if (end === 'rolled_back' || end === 'failed') {
      s.transition(iv.id, end, clock.now(), 'kaizen', 'health failed');
      return iv.id;
    }
    s.transition(iv.id, 'applied', clock.now(), 'kaizen', 'healthy', {
      appliedAt: clock.now(),
      windowMs: HOUR,
    });
    if (end === 'applied') return iv.id;
    await clock.advance(HOUR);
    s.transition(iv.id, end, clock.now(), end === 'reverted' ? 'ana' : 'kaizen', `validation: ${end}`, {
      verdict: { outcome: end, reason: `the median moved (${end})` },
    });
    return iv.id;
  };

  return { fx, rt, clock, server, logs, call, finish };
}
