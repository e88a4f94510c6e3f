import { describe, expect, it } from 'vitest';
import { authorize, isLoopback, readToken, type AuthPolicy } from './auth.js';
import { HttpError } from './errors.js';

const TOKEN = 'a-token-of-twenty-chars';

function outcome(policy: AuthPolicy, headers: Record<string, string>, changesState: boolean): string {
  try {
    authorize(policy, headers, changesState);
    return 'ok';
  } catch (err) {
    if (err instanceof HttpError) return String(err.status);
    throw err;
  }
}

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['app.localhost', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['192.168.1.2', false],
    ['example.com', false],
    ['128.0.0.1', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});

describe('readToken', () => {
  it('reads the named variable, trims it, and treats a blank one as unset', () => {
    expect(readToken({ K: `  ${TOKEN}\n` }, 'K')).toBe(TOKEN);
    expect(readToken({ K: '   ' }, 'K')).toBeUndefined();
    expect(readToken({}, 'K')).toBeUndefined();
  });

  it('refuses a short token, saying how long it is and how to make a good one, without echoing it', () => {
    expect(() => readToken({ K: 'short' }, 'K')).toThrow(
      'K is set but has only 5 characters; use at least 16, e.g. export K=$(openssl rand -hex 32)',
    );
  });
});

describe('authorize', () => {
  const loopback: AuthPolicy = { token: TOKEN, tokenEnv: 'KAIZEN_TOKEN', loopback: true };
  const wide: AuthPolicy = { token: TOKEN, tokenEnv: 'KAIZEN_TOKEN', loopback: false };
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it.each([
    ['loopback read, no token', loopback, {}, false, 'ok'],
    ['loopback read, right token', loopback, bearer(TOKEN), false, 'ok'],
    ['loopback read, wrong token', loopback, bearer('x'), false, '401'],
    ['loopback change, no token', loopback, {}, true, '401'],
    ['loopback change, right token', loopback, bearer(TOKEN), true, 'ok'],
    ['loopback change, scheme in lower case', loopback, { authorization: `bearer ${TOKEN}` }, true, 'ok'],
    [
      'loopback change, token with a prefix of the right one',
      loopback,
      bearer(TOKEN.slice(0, -1)),
      true,
      '401',
    ],
    ['loopback change, empty bearer', loopback, { authorization: 'Bearer ' }, true, '401'],
    ['loopback, foreign Host', loopback, { host: 'evil.example' }, false, '403'],
    ['loopback, Host 127.0.0.1 with port', loopback, { host: '127.0.0.1:7878' }, false, 'ok'],
    ['wide read, no token', wide, {}, false, '401'],
    ['wide read, right token', wide, bearer(TOKEN), false, 'ok'],
    ['wide, any Host with the token', wide, { host: 'kaizen.example', ...bearer(TOKEN) }, true, 'ok'],
  ])('%s → %s', (_what, policy, headers, changesState, expected) => {
    expect(outcome(policy, headers, changesState)).toBe(expected);
  });
});
