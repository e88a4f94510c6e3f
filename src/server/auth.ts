import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigError } from '../errors.js';
import { HttpError } from './errors.js';

/** A shorter bearer token can be guessed over the network; 16 random characters cannot. */
export const MIN_TOKEN_LENGTH = 16;

/** Whether a bind address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * The bearer token from the environment variable `tokenEnv` names; undefined when unset or blank.
 * A token too short to resist guessing is refused at start rather than accepted quietly.
 */
export function readToken(
  env: Readonly<Record<string, string | undefined>>,
  tokenEnv: string,
): string | undefined {
  const token = env[tokenEnv]?.trim();
  if (!token) return undefined;
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${tokenEnv} is set but has only ${token.length} characters; use at least ${MIN_TOKEN_LENGTH}, e.g. export ${tokenEnv}=$(openssl rand -hex 32)`,
    );
  }
  return token;
}

export interface AuthPolicy {
  /** The configured token, if any. */
  token: string | undefined;
  tokenEnv: string;
  /** Bound to loopback: reads need no token, and the Host header must name this machine. */
  loopback: boolean;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Compare in constant time: digests are equal-length, so neither length nor prefix leaks. */
function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

const challenge = (error?: string) => ({
  'www-authenticate': `Bearer realm="kaizen"${error ? `, error="${error}"` : ''}`,
});

/**
 * Decide whether a request may proceed; throws the 401 or 403 it earns.
 *
 * On loopback, reads are open and state changes need the token. Beyond loopback every request
 * needs it: /health and the API describe the system to whoever can reach the port. The one
 * exception is a `publicRead`: the dashboard's page shell and its script and stylesheet, the same
 * for every kaizen and telling nothing about this one, which a browser must load before the page
 * can ask for the token (a navigation cannot send an Authorization header). A token that is sent
 * is always checked, so a client configured with a stale one hears about it.
 *
 * On loopback the Host header must name this machine: a web page that rebinds its own DNS name to
 * 127.0.0.1 could otherwise read the open endpoints from a browser on this machine.
 */
export function authorize(
  policy: AuthPolicy,
  headers: IncomingHttpHeaders,
  changesState: boolean,
  publicRead = false,
): void {
  if (policy.loopback) {
    const host = headers.host;
    if (host !== undefined && !isLoopback(hostName(host))) {
      throw new HttpError(
        403,
        'forbidden_host',
        `Host ${JSON.stringify(host)} is not this machine: kaizen listens on loopback and answers only requests addressed to localhost, 127.0.0.1 or [::1]`,
      );
    }
  }
  const needsToken = changesState || (!policy.loopback && !publicRead);
  const header = headers.authorization;
  const { token, tokenEnv } = policy;
  if (token === undefined) {
    if (!needsToken) return;
    throw new HttpError(
      401,
      'unauthorized',
      `this call changes state and needs a bearer token, but none is configured: set ${tokenEnv} in kaizen's environment (e.g. export ${tokenEnv}=$(openssl rand -hex 32)), restart kaizen, and send it as "Authorization: Bearer <token>"`,
      challenge(),
    );
  }
  if (header === undefined) {
    if (!needsToken) return;
    throw new HttpError(
      401,
      'unauthorized',
      changesState
        ? `this call changes state: send the token from ${tokenEnv} as "Authorization: Bearer <token>"`
        : `kaizen listens beyond loopback, so every call needs the token: send the token from ${tokenEnv} as "Authorization: Bearer <token>"`,
      challenge(),
    );
  }
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) {
    throw new HttpError(
      401,
      'unauthorized',
      'the Authorization header is not a bearer token: send "Authorization: Bearer <token>"',
      challenge('invalid_request'),
    );
  }
  if (!tokenMatches(m[1]!, token)) {
    throw new HttpError(
      401,
      'unauthorized',
      `the bearer token is not the one in ${tokenEnv}; nothing was changed`,
      challenge('invalid_token'),
    );
  }
}

/** `example.com:7878` → `example.com`; `[::1]:7878` → `::1`. */
function hostName(host: string): string {
  const h = host.trim();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') === -1 ? undefined : h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}
