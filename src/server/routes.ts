import { apiRoutes, type ApiContext } from './api.js';
import { dashboardRoutes } from './dashboard.js';
import type { KaizenMetrics } from './metrics.js';
import { queryParams, type Route } from './router.js';
import { healthSnapshot, type HealthDeps } from './snapshot.js';

export interface RoutesContext extends ApiContext {
  metrics: KaizenMetrics;
  health: HealthDeps;
  /** The built dashboard's folder (default: the package's dist/dashboard). */
  dashboardDir?: string;
}

/** Every route the server answers: /health, /metrics, the JSON API and the dashboard. */
export function allRoutes(ctx: RoutesContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/health',
      changesState: false,
      handle({ query }) {
        queryParams(query, []);
        return { json: healthSnapshot(ctx.rt, ctx.health) };
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      changesState: false,
      async handle({ query }) {
        queryParams(query, []);
        return { text: await ctx.metrics.scrape(), contentType: ctx.metrics.contentType };
      },
    },
    ...apiRoutes(ctx),
    ...dashboardRoutes(ctx),
  ];
}

/** `GET /health, GET /metrics, …` for a 404 that says what exists. */
export function describeRoutes(routes: readonly Route[]): string {
  return routes.map((r) => `${r.method} ${r.path}`).join(', ');
}
