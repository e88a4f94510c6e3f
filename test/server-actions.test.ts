import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { submitProposal } from '../src/loop/submit.js';
import { startServer } from '../src/server/index.js';
import { thisProcess } from '../src/util/process-identity.js';
import { holdLease, idleProcess } from './helpers/lease.js';
import { proposal } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';
import { TOKEN, runtimeScene, scene, type Scene } from './server-scene.js';

/** A medium-risk change that waits for a person: with approvalFrom: medium and a canary, approving applies it. */
const APPROVABLE = { approvalFrom: 'medium', canaryAreas: [{ area: 'cache', paths: ['config.json'] }] };

async function waiting(s: Scene): Promise<string> {
  const r = await submitProposal(s.rt, {
    target: 'app',
    proposal: proposal({
      title: 'Bigger cache',
      risk: 'medium',
      changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 500 }],
    }),
    origin: 'a person',
    actor: 'ana',
  });
  expect(r.intervention.state).toBe('backlog');
  return r.intervention.id;
}

async function applied(s: Scene): Promise<string> {
  const r = await submitProposal(s.rt, {
    target: 'app',
    proposal: proposal(),
    origin: 'a person',
    actor: 'ana',
  });
  expect(r.intervention.state).toBe('applied');
  return r.intervention.id;
}

describe('approve, reject and revert over HTTP', () => {
  it('approving a backlog item guards it again and applies it as a real commit; approving it twice is a 409', async () => {
    const s = await scene({ policy: APPROVABLE });
    const id = await waiting(s);

    const res = await s.call('POST', `/api/interventions/${id}/approve`, {
      token: TOKEN,
      body: { by: 'ana' },
    });
    const twice = await s.call('POST', `/api/interventions/${id}/approve`, {
      token: TOKEN,
      body: { by: 'ana' },
    });

    expect(res.status).toBe(200);
    expect(res.json.guard.decision).toBe('pass');
    expect(res.json.apply.outcome).toBe('applied');
    expect(res.json.intervention).toMatchObject({ id, state: 'applied' });
    const commit = res.json.intervention.commitSha as string;
    expect(s.fx.git('log', '-1', '--format=%H')).toBe(commit);
    expect(s.fx.git('log', '-1', '--format=%B')).toContain(`Kaizen-Intervention: ${id}`);
    expect(JSON.parse(s.fx.read('config.json'))).toMatchObject({ cacheSize: 500 });
    expect(s.rt.store.interventions.history(id).map((h) => [h.from, h.to, h.actor])).toEqual([
      [null, 'proposed', 'ana'],
      ['proposed', 'backlog', 'kaizen'],
      ['backlog', 'applying', 'ana'],
      ['applying', 'applied', 'kaizen'],
    ]);
    expect(s.rt.store.events.list({ kind: 'approved' })[0]!.data).toEqual({ by: 'ana' });
    expect(twice.status).toBe(409);
    expect(twice.json).toEqual({
      error: {
        code: 'illegal_transition',
        message: `${id} was already approved by ana at 2026-11-02 12:00 UTC and is applied now; only backlog items can be approved`,
      },
    });
    expect(s.logs.join('')).toContain('"msg":"intervention approved over http"');
  });

  it('approving while another kaizen process holds the target is a 409 busy naming it; nothing is recorded', async () => {
    const s = await scene({ policy: APPROVABLE });
    const id = await waiting(s);
    const holder = await idleProcess();
    holdLease(s.rt.store, 'app', {
      pid: holder.pid,
      acquiredAt: s.clock.now(),
      heartbeatAt: s.clock.world.now(),
      doing: 'reverting K0009',
      interventionId: 'K0009',
      actor: 'ben',
    });

    const res = await s.call('POST', `/api/interventions/${id}/approve`, {
      token: TOKEN,
      body: { by: 'ana' },
    });

    expect(res.status).toBe(409);
    expect(res.json).toEqual({
      error: {
        code: 'busy',
        message: `target app is busy: kaizen (pid ${holder.pid} on ${thisProcess().host}) is reverting K0009 for ben since 2026-11-02 12:00 UTC; nothing was changed: try again when it is done`,
      },
    });
    expect(s.rt.store.interventions.get(id).state).toBe('backlog');
    expect(s.rt.store.events.list({ kind: 'approved' })).toEqual([]);
    expect(s.fx.git('log', '--format=%s')).toBe('initial');
  });

  it('an approval that still waits (no canary) answers 200 with the reasons, and the item stays in the backlog', async () => {
    const s = await scene();
    const id = await waiting(s);

    const res = await s.call('POST', `/api/interventions/${id}/approve`, {
      token: TOKEN,
      body: { by: 'ana' },
    });

    expect(res.status).toBe(200);
    expect(res.json.intervention.state).toBe('backlog');
    expect(res.json.guard.decision).toBe('defer');
    expect(res.json.guard.reasons.join(' ')).toContain('blocked on missing canary');
    expect(s.fx.git('log', '--format=%s')).toBe('initial');
  });

  it('rejecting records who and why', async () => {
    const s = await scene();
    const id = await waiting(s);

    const res = await s.call('POST', `/api/interventions/${id}/reject`, {
      token: TOKEN,
      body: { by: 'bo', why: 'the cache is being replaced next week' },
    });

    expect(res.status).toBe(200);
    expect(res.json.intervention).toMatchObject({ id, state: 'rejected', waitingReason: null });
    expect(s.rt.store.interventions.history(id).at(-1)).toMatchObject({
      from: 'backlog',
      to: 'rejected',
      actor: 'bo',
      reason: 'the cache is being replaced next week',
    });
    expect(s.rt.store.events.list({ kind: 'rejected_by_person' })[0]!.data).toEqual({
      by: 'bo',
      why: 'the cache is being replaced next week',
    });
  });

  it('reverting undoes the commit, pushes, redeploys and probes; then the intervention is reverted', async () => {
    const s = await scene();
    const id = await applied(s);
    const commit = s.rt.store.interventions.get(id).commitSha!;

    const res = await s.call('POST', `/api/interventions/${id}/revert`, {
      token: TOKEN,
      body: { by: 'ana', why: 'p99 latency doubled on the dashboard' },
    });

    expect(res.status).toBe(200);
    expect(res.json.undo.healthyAfter).toBe(true);
    expect(res.json.intervention).toMatchObject({ id, state: 'reverted', commitSha: commit });
    const revertSha = res.json.intervention.revertSha as string;
    expect(s.fx.git('log', '-1', '--format=%H')).toBe(revertSha);
    expect(s.fx.git('ls-remote', 'origin', 'main').split('\t')[0]).toBe(revertSha);
    expect(JSON.parse(s.fx.read('config.json'))).toMatchObject({ cacheSize: 0 });
    expect(s.rt.store.interventions.history(id).at(-1)).toMatchObject({
      to: 'reverted',
      actor: 'ana',
      reason: 'p99 latency doubled on the dashboard',
    });
  });
});

describe('the token on state changes', () => {
  it('refuses a state change without the token, with a wrong one, or with another scheme: 401, a Bearer challenge, nothing changed', async () => {
    const s = await scene();
    const id = await waiting(s);
    const body = { by: 'mallory', why: 'because' };

    const none = await s.call('POST', `/api/interventions/${id}/reject`, { body });
    const wrong = await s.call('POST', `/api/interventions/${id}/reject`, { body, token: `${TOKEN}x` });
    const basic = await s.call('POST', `/api/interventions/${id}/reject`, {
      body,
      headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    });

    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="kaizen"');
    expect(none.json.error).toEqual({
      code: 'unauthorized',
      message: 'this call changes state: send the token from KAIZEN_TOKEN as "Authorization: Bearer <token>"',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="kaizen", error="invalid_token"');
    expect(wrong.json.error.message).toBe(
      'the bearer token is not the one in KAIZEN_TOKEN; nothing was changed',
    );
    expect(basic.status).toBe(401);
    expect(basic.json.error.message).toBe(
      'the Authorization header is not a bearer token: send "Authorization: Bearer <token>"',
    );
    expect(s.rt.store.interventions.get(id).state).toBe('backlog');
  });

  it('with no token configured, a state change gets 401 saying how to set one; reads still work', async () => {
    const s = await scene({ env: {} });
    const id = await waiting(s);

    const res = await s.call('POST', `/api/interventions/${id}/approve`, {
      body: { by: 'ana' },
      token: 'anything-at-all-here',
    });
    const read = await s.call('GET', '/api/backlog');

    expect(res.status).toBe(401);
    expect(res.json.error.message).toBe(
      'this call changes state and needs a bearer token, but none is configured: set KAIZEN_TOKEN in kaizen\'s environment (e.g. export KAIZEN_TOKEN=$(openssl rand -hex 32)), restart kaizen, and send it as "Authorization: Bearer <token>"',
    );
    expect(read.status).toBe(200);
    expect(s.rt.store.interventions.get(id).state).toBe('backlog');
  });

  it('reads the token from the variable server.tokenEnv names', async () => {
    const s = await scene({
      serverConfig: { tokenEnv: 'SHOP_KAIZEN_TOKEN' },
      env: { SHOP_KAIZEN_TOKEN: TOKEN },
    });
    const id = await waiting(s);

    const none = await s.call('POST', `/api/interventions/${id}/reject`, { body: { by: 'bo', why: 'no' } });
    const ok = await s.call('POST', `/api/interventions/${id}/reject`, {
      body: { by: 'bo', why: 'no' },
      token: TOKEN,
    });

    expect(none.json.error.message).toContain('SHOP_KAIZEN_TOKEN');
    expect(ok.status).toBe(200);
  });

  it('never puts the token in an answer or a log line, whatever happens', async () => {
    const s = await scene({ policy: APPROVABLE });
    const id = await waiting(s);
    const wrongToken = 'a-wrong-token-that-is-long-enough';

    const answers = [
      await s.call('GET', '/health', { token: TOKEN }),
      await s.call('GET', '/metrics', { token: TOKEN }),
      await s.call('POST', `/api/interventions/${id}/reject`, {
        body: { by: 'x', why: 'y' },
        token: wrongToken,
      }),
      await s.call('POST', `/api/interventions/${id}/approve`, { body: { by: 'ana' }, token: TOKEN }),
      await s.call('POST', `/api/interventions/${id}/approve`, { body: '{nope', token: TOKEN }),
      await s.call('GET', '/no/such/route', { token: TOKEN }),
    ];

    expect(answers.map((a) => a.status)).toEqual([200, 200, 401, 200, 400, 404]);
    for (const a of answers) {
      expect(a.text).not.toContain(TOKEN);
      expect(a.text).not.toContain(wrongToken);
      expect([...a.headers.values()].join(' ')).not.toContain(TOKEN);
    }
    const logs = s.logs.join('');
    expect(logs).toContain('"msg":"http request"');
    expect(logs).toContain('"tokenConfigured":true');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain(wrongToken);
  });
});

describe('errors a person can read', () => {
  it.each([
    {
      what: 'an unknown route',
      method: 'GET',
      route: '/api/nothing',
      status: 404,
      code: 'not_found',
      message:
        /^no route GET \/api\/nothing; routes: GET \/health, GET \/metrics, GET \/api\/interventions, /,
    },
    {
      what: 'an unknown intervention',
      method: 'GET',
      route: '/api/interventions/K0042',
      status: 404,
      code: 'not_found',
      message: 'no intervention K0042; "kaizen backlog" and "kaizen status" list them',
    },
    {
      what: 'an unknown lesson',
      method: 'GET',
      route: '/api/lessons/L9999',
      status: 404,
      code: 'not_found',
      message: 'no lesson "L9999": "kaizen lessons" lists them',
    },
    {
      what: 'an unknown signal',
      method: 'GET',
      route: '/api/signals/app/nope',
      status: 404,
      code: 'not_found',
      message: 'no signal "nope" in target app; its signals: latency_ms, error_rate',
    },
    {
      what: 'an unknown target',
      method: 'GET',
      route: '/api/signals/shop/latency_ms',
      status: 404,
      code: 'not_found',
      message: 'no target "shop"; targets: app',
    },
    {
      what: 'a misspelt filter',
      method: 'GET',
      route: '/api/interventions?stat=applied',
      status: 400,
      code: 'bad_request',
      message: 'unknown query parameter "stat"; known: state, target, signal, limit',
    },
    {
      what: 'an unknown state',
      method: 'GET',
      route: '/api/interventions?state=applied,done',
      status: 400,
      code: 'bad_request',
      message:
        'state=applied,done: unknown state "done"; states: proposed, rejected, backlog, applying, failed, rolled_back, applied, validated, no_effect, reverted, inconclusive (several separated by commas)',
    },
    {
      what: 'a limit out of range',
      method: 'GET',
      route: '/api/interventions?limit=0',
      status: 400,
      code: 'bad_request',
      message: 'limit=0: expected a whole number from 1 to 1000',
    },
    {
      what: 'a filter on a target that does not exist',
      method: 'GET',
      route: '/api/interventions?target=shop',
      status: 400,
      code: 'bad_request',
      message: 'target=shop: no such target; targets: app',
    },
    {
      what: 'a bad duration',
      method: 'GET',
      route: '/api/signals/app/latency_ms?since=yesterday',
      status: 400,
      code: 'bad_request',
      message: 'since=yesterday: expected a duration such as 30m, 24h or 7d',
    },
    {
      what: 'a bad lesson status',
      method: 'GET',
      route: '/api/lessons?status=old',
      status: 400,
      code: 'bad_request',
      message: 'status=old: expected active or retired',
    },
    {
      what: 'a wrong method',
      method: 'DELETE',
      route: '/api/interventions/K0001',
      status: 405,
      code: 'method_not_allowed',
      message: '/api/interventions/K0001 answers GET, not DELETE',
    },
  ])('$what: $status', async ({ method, route, status, code, message }) => {
    const s = await scene();

    const res = await s.call(method, route);

    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
    if (typeof message === 'string') expect(res.json.error.message).toBe(message);
    else expect(res.json.error.message).toMatch(message);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('a wrong method says which methods the route answers in Allow', async () => {
    const s = await scene();

    const get = await s.call('GET', '/api/interventions/K0001/approve');
    const post = await s.call('POST', '/health', { token: TOKEN });

    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it.each([
    {
      what: 'no body',
      body: undefined,
      status: 400,
      message: 'send a JSON body such as {"by": "ana", "why": "..."}',
    },
    {
      what: 'bad JSON',
      body: '{"by": "ana",',
      status: 400,
      message: /^the body is not valid JSON \(.+\); send one such as \{"by": "ana", "why": "\.\.\."\}$/,
    },
    {
      what: 'a missing field',
      body: { by: 'ana' },
      status: 400,
      message:
        'why: is required: say why (it is kept with the intervention and read by the distiller); send a body such as {"by": "ana", "why": "..."}',
    },
    {
      what: 'a blank reason',
      body: { by: 'ana', why: '   ' },
      status: 400,
      message:
        'why: say why (it is kept with the intervention and read by the distiller); send a body such as {"by": "ana", "why": "..."}',
    },
    {
      what: 'kaizen as the person',
      body: { by: 'kaizen', why: 'x' },
      status: 400,
      message:
        'by: "kaizen" is kaizen itself: name the person acting; send a body such as {"by": "ana", "why": "..."}',
    },
    {
      what: 'an unknown field',
      body: { by: 'ana', why: 'x', force: true },
      status: 400,
      message: 'unknown field(s) "force"; send a body such as {"by": "ana", "why": "..."}',
    },
    {
      what: 'not an object',
      body: '[1, 2]',
      status: 400,
      message: /^Invalid input: expected object, received array; /,
    },
  ])('a reject with $what is a 400 that says what to send', async ({ body, status, message }) => {
    const s = await scene();
    const id = await waiting(s);

    const res = await s.call('POST', `/api/interventions/${id}/reject`, {
      token: TOKEN,
      ...(body !== undefined ? { body } : {}),
    });

    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe('bad_request');
    if (typeof message === 'string') expect(res.json.error.message).toBe(message);
    else expect(res.json.error.message).toMatch(message);
    expect(s.rt.store.interventions.get(id).state).toBe('backlog');
  });

  it('a body that is not JSON by its Content-Type is a 415', async () => {
    const s = await scene();
    const id = await waiting(s);

    const res = await s.call('POST', `/api/interventions/${id}/reject`, {
      token: TOKEN,
      body: 'by=ana&why=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

    expect(res.status).toBe(415);
    expect(res.json.error).toEqual({
      code: 'unsupported_media_type',
      message:
        'send the body as JSON with "Content-Type: application/json" (got "application/x-www-form-urlencoded")',
    });
  });

  it('a body over server.maxBodyBytes is a 413, refused before it is read', async () => {
    const s = await scene({ serverConfig: { maxBodyBytes: 1024 } });
    const id = await waiting(s);

    const res = await s.call('POST', `/api/interventions/${id}/reject`, {
      token: TOKEN,
      body: { by: 'ana', why: 'x'.repeat(2000) },
    });

    expect(res.status).toBe(413);
    expect(res.json.error).toEqual({
      code: 'payload_too_large',
      message:
        'the body is larger than 1024 bytes (server.maxBodyBytes); requests to kaizen are small JSON objects',
    });
    expect(s.rt.store.interventions.get(id).state).toBe('backlog');
  });

  it('a body that grows past the limit while streaming (no Content-Length) is a 413 too', async () => {
    const s = await scene({ serverConfig: { maxBodyBytes: 1024 } });
    const id = await waiting(s);

    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${s.server.url}/api/interventions/${id}/reject`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${TOKEN}`,
            'content-type': 'application/json',
            'transfer-encoding': 'chunked',
          },
        },
        (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.write(`{"by": "ana", "why": "${'x'.repeat(600)}`);
      req.write(`${'y'.repeat(600)}"}`);
      req.end();
    });

    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
  });

  it('rejecting an applied intervention is a 409 that says what can be rejected', async () => {
    const s = await scene();
    const id = await applied(s);

    const res = await s.call('POST', `/api/interventions/${id}/reject`, {
      token: TOKEN,
      body: { by: 'bo', why: 'x' },
    });
    const revertTwice = await s.call('POST', `/api/interventions/K0099/revert`, {
      token: TOKEN,
      body: { by: 'bo', why: 'x' },
    });

    expect(res.status).toBe(409);
    expect(res.json.error).toEqual({
      code: 'illegal_transition',
      message: `intervention ${id} is applied; only backlog items can be rejected`,
    });
    expect(revertTwice.status).toBe(404);
  });

  it('an unexpected failure is a 500 with a request id and no internals; the details go to the log', async () => {
    const s = await scene();
    const id = await s.finish('validated');
    // A row damaged outside kaizen: its proposal no longer parses.
    s.rt.store.db.prepare(`UPDATE interventions SET proposal = '{"title": 42}' WHERE id = ?`).run(id);

    const res = await s.call('GET', `/api/interventions/${id}`);

    expect(res.status).toBe(500);
    const message = res.json.error.message as string;
    expect(res.json.error.code).toBe('internal');
    const requestId =
      /^internal error \(request ([0-9a-f-]{36})\); the details are in kaizen's log under that request id$/.exec(
        message,
      )?.[1];
    expect(requestId).toBeDefined();
    expect(res.text).not.toMatch(/at .*\.ts:\d+|ZodError|stack/);
    const logged = s.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requestId === requestId);
    expect(logged).toMatchObject({ msg: 'http request failed', route: '/api/interventions/:id' });
    expect(JSON.stringify(logged)).toContain('"stack"');
  });

  it('on loopback, a request addressed to another host name is a 403 (DNS rebinding)', async () => {
    const s = await scene();

    const answer = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${s.server.url}/health`, { headers: { host } }, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const evil = await answer('attacker.example:7878');
    const local = await answer(`localhost:${s.server.port}`);
    const v6 = await answer(`[::1]:${s.server.port}`);

    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).error).toEqual({
      code: 'forbidden_host',
      message:
        'Host "attacker.example:7878" is not this machine: kaizen listens on loopback and answers only requests addressed to localhost, 127.0.0.1 or [::1]',
    });
    expect(local.status).toBe(200);
    expect(v6.status).toBe(200);
  });
});

describe('starting the server', () => {
  it('refuses to listen beyond loopback without a token, saying how to set one', async () => {
    const { rt } = await runtimeScene({ serverConfig: { host: '0.0.0.0' } });

    await expect(startServer(rt, { env: {} })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message:
        "server.host is 0.0.0.0, beyond loopback, and KAIZEN_TOKEN is not set: binding beyond loopback needs a token, or anyone who can reach the port could read and change kaizen's state. Set KAIZEN_TOKEN (e.g. export KAIZEN_TOKEN=$(openssl rand -hex 32)) or keep server.host: 127.0.0.1",
    });
  });

  it('beyond loopback with a token, every call needs it, reads included', async () => {
    const s = await scene({ serverConfig: { host: '0.0.0.0' } });
    const url = s.server.url.replace('0.0.0.0', '127.0.0.1');

    const none = await fetch(`${url}/health`);
    const ok = await fetch(`${url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const unknown = await fetch(`${url}/secret-route`);

    expect(s.server.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { message: string } }).error.message).toBe(
      'kaizen listens beyond loopback, so every call needs the token: send the token from KAIZEN_TOKEN as "Authorization: Bearer <token>"',
    );
    expect(ok.status).toBe(200);
    expect(metrics.status).toBe(200);
    // Without the token not even the route table is shown.
    expect(unknown.status).toBe(401);
  });

  it('refuses a token too short to resist guessing, without echoing it', async () => {
    const { rt } = await runtimeScene();

    const err = await startServer(rt, { env: { KAIZEN_TOKEN: 'hunter2' } }).catch((e: unknown) => e);

    expect(err).toMatchObject({
      code: 'CONFIG_INVALID',
      message:
        'KAIZEN_TOKEN is set but has only 7 characters; use at least 16, e.g. export KAIZEN_TOKEN=$(openssl rand -hex 32)',
    });
  });

  it('says so when the port is taken', async () => {
    const s = await scene();
    const { rt } = await runtimeScene({ serverConfig: { port: s.server.port } });

    await expect(startServer(rt, { env: {} })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `cannot listen on 127.0.0.1:${s.server.port}: the port is in use; stop the other process or choose another server.port`,
    });
  });

  it('close() lets a request in flight finish and then stops listening', async () => {
    // The deploy waits for a gate file, so the approval is surely in flight when close() is called.
    const gate = path.join(tempDir('kaizen-gate-'), 'open');
    const s = await scene({
      policy: APPROVABLE,
      fixture: {
        target: {
          deploy: {
            command: [
              'sh',
              '-c',
              `while [ ! -e '${gate}' ]; do sleep 0.02; done; exec '${process.execPath}' deploy.js`,
            ],
            timeout: '30s',
            stabilisation: '0s',
          },
        },
      },
    });
    const id = await waiting(s);

    const inFlight = s.call('POST', `/api/interventions/${id}/approve`, {
      token: TOKEN,
      body: { by: 'ana' },
    });
    while (s.rt.store.interventions.get(id).state !== 'applying') await new Promise((r) => setTimeout(r, 10));
    const closed = s.server.close();
    writeFileSync(gate, '');
    await closed;
    const res = await inFlight;

    expect(res.status).toBe(200);
    expect(res.json.intervention.state).toBe('applied');
    await expect(fetch(`${s.server.url}/health`)).rejects.toThrow();
  });
});
