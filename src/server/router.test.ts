import { describe, expect, it } from 'vitest';
import { matchRoute, queryParams, type Route } from './router.js';

const route = (method: 'GET' | 'POST', path: string): Route => ({
  method,
  path,
  changesState: method === 'POST',
  handle: () => ({ json: null }),
});
const routes = [
  route('GET', '/api/interventions'),
  route('GET', '/api/interventions/:id'),
  route('POST', '/api/interventions/:id/approve'),
  route('GET', '/api/signals/:target/:name'),
];

describe('matchRoute', () => {
  it('matches by segments and decodes parameters', () => {
    expect(matchRoute(routes, 'GET', '/api/interventions/K0001')).toEqual({
      route: routes[1],
      params: { id: 'K0001' },
    });
    expect(matchRoute(routes, 'GET', '/api/signals/app/p95%20ms')).toMatchObject({
      params: { target: 'app', name: 'p95 ms' },
    });
  });

  it('tells a path served for other methods (405) from one that does not exist (404)', () => {
    expect(matchRoute(routes, 'DELETE', '/api/interventions/K0001')).toEqual({ allowed: ['GET'] });
    expect(matchRoute(routes, 'GET', '/api/interventions/K0001/approve')).toEqual({ allowed: ['POST'] });
    expect(matchRoute(routes, 'GET', '/api/interventions/')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/api/interventions/K0001/extra/more')).toBeUndefined();
  });

  it('refuses a parameter that is not valid URL encoding', () => {
    expect(() => matchRoute(routes, 'GET', '/api/interventions/%E0%A4%A')).toThrow(
      'the path segment "%E0%A4%A" is not valid URL encoding',
    );
  });
});

describe('queryParams', () => {
  it('returns the known parameters and refuses the others by name', () => {
    expect(queryParams(new URLSearchParams('state=applied&limit=5'), ['state', 'limit'])).toEqual({
      state: 'applied',
      limit: '5',
    });
    expect(() => queryParams(new URLSearchParams('since=1h'), [])).toThrow(
      'unknown query parameter "since"; this route takes none',
    );
  });
});
