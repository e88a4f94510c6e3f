import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { submitProposal } from '../src/loop/submit.js';
import { reportsDir } from '../src/report/paths.js';
import { writeWeeklyReport } from '../src/report/weekly.js';
import { DASHBOARD_PAGES, DEFAULT_DASHBOARD_DIR } from '../src/server/dashboard.js';
import { NO_CONTENT_POLICY, PAGE_CONTENT_POLICY, REPORT_CONTENT_POLICY } from '../src/server/static.js';
import { proposal } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';
import { TOKEN, scene } from './server-scene.js';

/*
 * The dashboard as the server serves it, without a browser: the page shell on every dashboard
 * path, the built assets with their types, nothing outside the assets folder, the latest weekly
 * report, and the API's signal filter the charts use. test/dashboard.test.ts drives the pages.
 */

/**
 * A GET with the path and headers sent exactly as written: fetch() would resolve `..` before
 * sending, and sends its own Host header.
 */
function rawGet(
  url: string,
  rawPath: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/`, { path: rawPath, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const pageOf = (route: string) =>
  route.replace(':id', 'K0001').replace(':target', 'app').replace(':name', 'latency_ms');

// One server per test, and a test per kind of request: each scene makes a git fixture.
describe('the dashboard pages', () => {
  it('every page path is the page shell, whatever its query, under a strict CSP', async () => {
    const s = await scene();
    const shell = readFileSync(path.join(DEFAULT_DASHBOARD_DIR, 'index.html'), 'utf8');

    for (const page of DASHBOARD_PAGES.map(pageOf)) {
      const res = await s.call('GET', `${page}?since=7d`);

      expect(res.status, page).toBe(200);
      expect(res.headers.get('content-type'), page).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy'), page).toBe(PAGE_CONTENT_POLICY);
      expect(res.text, page).toBe(shell);
    }
    expect(shell).toContain('<script type="module" src="/assets/app.js"></script>');
    expect(shell).not.toMatch(/<script>|<style|style=|https?:/);
  });

  it('the root redirects to the backlog', async () => {
    const s = await scene();

    const res = await fetch(`${s.server.url}/`, { redirect: 'manual' });

    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/backlog');
  });

  it('a page addressed to another host name is refused like the API (DNS rebinding)', async () => {
    const s = await scene();

    const res = await rawGet(s.server.url, '/backlog', { host: 'evil.example:7878' });

    expect(res.status).toBe(403);
  });

  it('beyond loopback serves the shell and its assets without the token (a browser must load the page that asks for it), and nothing else', async () => {
    const s = await scene({ serverConfig: { host: '0.0.0.0' } });
    const base = `http://127.0.0.1:${s.server.port}`;
    const get = (route: string, token?: string) =>
      fetch(`${base}${route}`, {
        redirect: 'manual',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      }).then((r) => r.status);

    const open = [await get('/'), await get('/backlog/K0001'), await get('/assets/app.js')];
    const closed = [
      await get('/api/backlog'),
      await get('/reports/latest'),
      await get('/health'),
      await get('/no/such/page'),
    ];
    const staleToken = await get('/backlog', 'a-stale-token-that-is-long-enough');
    const withToken = await get('/api/backlog', TOKEN);

    expect(open).toEqual([302, 200, 200]);
    expect(closed).toEqual([401, 401, 401, 401]);
    expect(staleToken).toBe(401);
    expect(withToken).toBe(200);
  });

  it('says how to build the dashboard when it is not built, and the API still answers', async () => {
    const s = await scene({ server: { dashboardDir: tempDir('kaizen-unbuilt-') } });

    const page = await s.call('GET', '/backlog');
    const asset = await s.call('GET', '/assets/app.js');
    const api = await s.call('GET', '/api/backlog');

    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(page.text).toBe(
      'The dashboard is not built (its index.html is missing): run "npm run build" in kaizen\'s folder. The JSON API under /api works without it.\n',
    );
    expect(asset.status).toBe(404);
    expect(api.status).toBe(200);
  });
});

describe('the dashboard assets', () => {
  it('serves each built file with its content type', async () => {
    const s = await scene();

    for (const [name, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['app.css', 'text/css; charset=utf-8'],
      ['icon.svg', 'image/svg+xml'],
    ] as const) {
      const res = await s.call('GET', `/assets/${name}`);

      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type'), name).toBe(type);
      expect(res.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(res.headers.get('content-security-policy'), name).toBe(NO_CONTENT_POLICY);
      expect(res.text, name).toBe(readFileSync(path.join(DEFAULT_DASHBOARD_DIR, name), 'utf8'));
    }
  });

  it('answers a missing file, a type it does not serve and every way out of the folder with a 404 that reveals nothing', async () => {
    const s = await scene();

    for (const route of [
      '/assets/nothing.js',
      '/assets/index.html',
      '/assets/..%2F..%2Fpackage.json',
      '/assets/..%2F..%2Fsrc%2Fserver%2Fserver.ts',
      '/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
      '/assets/..%5C..%5Cpackage.json',
      '/assets/%2E%2E%2F',
      '/assets/.%2Findex.html',
      '/assets/%2Fetc%2Fpasswd',
    ]) {
      const res = await rawGet(s.server.url, route);

      expect(res.status, route).toBe(404);
      expect(res.type, route).toBe('application/json; charset=utf-8');
      expect(res.body, route).toContain(`"message": "no file `);
      expect(res.body, route).not.toContain('"name": "kaizen"');
    }
  });

  it('resolves `..` and `%2E%2E` segments before routing, so they reach no file route', async () => {
    const s = await scene();

    for (const route of ['/assets/../../package.json', '/assets/%2E%2E/package.json', '/../package.json']) {
      const res = await rawGet(s.server.url, route);

      expect(res.status, route).toBe(404);
      expect(res.body, route).toContain('no route GET /package.json');
      expect(res.body, route).not.toContain('"name": "kaizen"');
    }
  });
});

describe('/reports/latest', () => {
  it('is a 404 saying how to get one until a weekly report exists', async () => {
    const s = await scene();

    const res = await s.call('GET', '/reports/latest');

    expect(res.status).toBe(404);
    expect(res.json.error.message).toBe(
      `no weekly report in ${reportsDir(s.rt.config)} yet: the daemon writes one at schedule.metaReview, or run "kaizen report weekly"`,
    );
  });

  it('serves the newest weekly report as written, under a CSP that lets no script run', async () => {
    const s = await scene();
    const written = await writeWeeklyReport(s.rt, { provider: null });
    mkdirSync(reportsDir(s.rt.config), { recursive: true });
    writeFileSync(path.join(reportsDir(s.rt.config), 'weekly-2020-W01.html'), 'an old week');
    writeFileSync(path.join(reportsDir(s.rt.config), 'weekly-2099-W01.md'), 'not html');

    const res = await s.call('GET', '/reports/latest');

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(REPORT_CONTENT_POLICY);
    expect(res.text).toBe(readFileSync(written.html, 'utf8'));
  });
});

describe('GET /api/interventions?signal=', () => {
  it('lists only the interventions that predicted that signal, newest first, then limits', async () => {
    const s = await scene();
    const a = await s.finish('validated');
    const b = await s.finish('reverted', {
      area: 'db',
      prediction: { signal: 'error_rate', direction: 'down', magnitude: 0.5 },
    });
    const c = await s.finish('applied', { area: 'queue' });
    const other = await submitProposal(s.rt, {
      target: 'app',
      proposal: proposal({
        area: 'pool',
        prediction: { signal: 'error_rate', direction: 'down', magnitude: 0.2 },
      }),
      origin: 'a person',
      actor: 'ana',
    });

    const latency = await s.call('GET', '/api/interventions?signal=latency_ms');
    const errors = await s.call('GET', '/api/interventions?signal=error_rate&target=app');
    const one = await s.call('GET', '/api/interventions?signal=latency_ms&limit=1');
    const none = await s.call('GET', '/api/interventions?signal=no_such_signal');
    const reverted = await s.call('GET', '/api/interventions?signal=error_rate&state=reverted');

    const ids = (r: typeof latency) => r.json.interventions.map((i: { id: string }) => i.id);
    expect(ids(latency)).toEqual([c, a]);
    expect(ids(errors)).toEqual([other.intervention.id, b]);
    expect(ids(one)).toEqual([c]);
    expect(ids(none)).toEqual([]);
    expect(ids(reverted)).toEqual([b]);
  });
});
