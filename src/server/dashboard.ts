import { reportsDir } from '../report/paths.js';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Runtime } from '../compose.js';
import { HttpError } from './errors.js';
import { queryParams, type Route } from './router.js';
import { PAGE_CONTENT_POLICY, REPORT_CONTENT_POLICY, readStaticFile } from './static.js';

export interface DashboardContext {
  rt: Pick<Runtime, 'config'>;
  /** The built dashboard's folder (default: the package's dist/dashboard, which `npm run build` writes). */
  dashboardDir?: string;
}

/** src/server and dist/server both sit two levels below the package root. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dist/dashboard/', import.meta.url));

/**
 * The dashboard's pages: every one is the same shell, and the script reads the path. Notifications
 * link to `/backlog/<id>`, so that path must stay.
 */
export const DASHBOARD_PAGES = [
  '/backlog',
  '/backlog/:id',
  '/interventions',
  '/interventions/:id',
  '/lessons',
  '/lessons/:id',
  '/signals',
  '/signals/:target/:name',
] as const;

const SHELL = 'index.html';
/** weekly-2026-W47.html: ISO week labels sort by name in time order. */
const WEEKLY_HTML = /^weekly-\d{4}-W\d{2}\.html$/;

/** The dashboard: its pages, its assets, and the latest weekly report. */
export function dashboardRoutes({ rt, dashboardDir = DEFAULT_DASHBOARD_DIR }: DashboardContext): Route[] {
  const page = (pagePath: string): Route => ({
    method: 'GET',
    path: pagePath,
    changesState: false,
    publicRead: true,
    // The page's own query (a chart's span, a list's filter) is the script's to read and check.
    async handle() {
      let html: string;
      try {
        html = await readFile(path.join(dashboardDir, SHELL), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        return {
          status: 503,
          // No path on disk: beyond loopback anyone may read this answer.
          text: `The dashboard is not built (its ${SHELL} is missing): run "npm run build" in kaizen's folder. The JSON API under /api works without it.\n`,
          contentType: 'text/plain; charset=utf-8',
        };
      }
      return {
        text: html,
        contentType: 'text/html; charset=utf-8',
        headers: { 'content-security-policy': PAGE_CONTENT_POLICY },
      };
    },
  });

  return [
    {
      method: 'GET',
      path: '/',
      changesState: false,
      publicRead: true,
      handle({ query }) {
        queryParams(query, []);
        return {
          status: 302,
          text: 'See /backlog\n',
          contentType: 'text/plain; charset=utf-8',
          headers: { location: '/backlog' },
        };
      },
    },
    ...DASHBOARD_PAGES.map(page),
    {
      method: 'GET',
      path: '/assets/:file',
      changesState: false,
      publicRead: true,
      async handle({ params, query }) {
        queryParams(query, []);
        const file = await readStaticFile(dashboardDir, params.file!);
        return { body: file.body, contentType: file.contentType };
      },
    },
    {
      method: 'GET',
      path: '/reports/latest',
      changesState: false,
      async handle({ query }) {
        queryParams(query, []);
        const dir = reportsDir(rt.config);
        const name = (await listOrNone(dir))
          .filter((n) => WEEKLY_HTML.test(n))
          .sort()
          .at(-1);
        if (name === undefined) {
          throw new HttpError(
            404,
            'not_found',
            `no weekly report in ${dir} yet: the daemon writes one at schedule.metaReview, or run "kaizen report weekly"`,
          );
        }
        return {
          text: await readFile(path.join(dir, name), 'utf8'),
          contentType: 'text/html; charset=utf-8',
          headers: { 'content-security-policy': REPORT_CONTENT_POLICY },
        };
      },
    },
  ];
}

/** The names in `dir`; none when it does not exist yet (no report was ever written). */
async function listOrNone(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
