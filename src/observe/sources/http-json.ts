import { describeFetchFailure } from '../../util/network-errors.js';
import { STATUS_CODES } from 'node:http';
import { SourceError } from '../../errors.js';
import type { SignalSource, SourceContext } from './types.js';
import { abortError, errorCode, listSome, parseNumber, quote, withDefaultHeader } from './support.js';

/** A body larger than this is not a metrics answer; refuse it rather than buffer it. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface HttpGetOptions {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface HttpAnswer {
  body: string;
  contentType: string;
}

/**
 * GET a URL and return its body, with errors a person can act on: the status of a non-2xx answer,
 * the errno of a failed connection, and a timeout when ctx.abort fires. Shared with the Prometheus
 * source.
 */
export async function httpGet(options: HttpGetOptions, ctx: SourceContext): Promise<HttpAnswer> {
  const what = `GET ${options.url}`;
  try {
    const res = await fetch(options.url, { headers: options.headers, signal: ctx.abort });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {}); // free the connection; the body is not needed
      const text = res.statusText || STATUS_CODES[res.status] || '';
      throw new SourceError(`${what} answered ${res.status}${text ? ` ${text}` : ''}`);
    }
    const body = await readBody(res, what);
    return { body, contentType: res.headers.get('content-type') ?? '' };
  } catch (err) {
    if (ctx.abort.aborted) throw abortError(ctx.abort, what, options.timeoutMs);
    if (err instanceof SourceError) throw err;
    throw new SourceError(`${what} failed: ${describeFetchFailure(err, errorCode)}`, { cause: err });
  }
}

async function readBody(res: Response, what: string): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw new SourceError(
        `${what} answered with more than ${MAX_BODY_BYTES / 1024 / 1024} MiB; expected a small metrics document`,
      );
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type PathStep = { key: string } | { index: number };

/** `items[0].value` → key items, index 0, key value. The config schema has already checked the syntax. */
export function parseJsonPath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[]+)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new SourceError(`path ${quote(path)} is not a dotted path such as "items[0].value"`);
    steps.push({ key: m[1]! });
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) steps.push({ index: Number(idx[1]) });
  }
  return steps;
}

function formatSteps(steps: readonly PathStep[]): string {
  let out = '';
  for (const s of steps) out += 'key' in s ? (out ? `.${s.key}` : s.key) : `[${s.index}]`;
  return out || 'the top level';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** Follow the path through the parsed JSON; a missing step names itself and what is there instead. */
export function walkJsonPath(root: unknown, path: string): unknown {
  const steps = parseJsonPath(path);
  let current = root;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const at = formatSteps(steps.slice(0, i));
    if ('index' in step) {
      if (!Array.isArray(current)) {
        throw new SourceError(
          `path ${path}: ${at} is ${typeName(current)}, not an array, so it has no [${step.index}]`,
        );
      }
      if (step.index >= current.length) {
        throw new SourceError(
          `path ${path}: ${at} has ${current.length} item(s), so there is no [${step.index}]`,
        );
      }
      current = current[step.index];
      continue;
    }
    if (typeof current !== 'object' || current === null || Array.isArray(current)) {
      throw new SourceError(`path ${path}: ${at} is ${typeName(current)}, so it has no key "${step.key}"`);
    }
    if (!Object.hasOwn(current, step.key)) {
      const keys = Object.keys(current);
      const there = keys.length ? `keys there: ${listSome(keys, 10)}` : 'it is an empty object';
      throw new SourceError(`path ${path}: no key "${step.key}" in ${at}; ${there}`);
    }
    current = (current as Record<string, unknown>)[step.key];
  }
  return current;
}

/** A JSON value as a sample: numbers, numeric strings and booleans (1/0); anything else is an error. */
export function toNumber(value: unknown, path: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const n = parseNumber(value);
    if (n !== undefined) return n;
    throw new SourceError(`path ${path} is the string ${quote(value)}, not a number`);
  }
  throw new SourceError(`path ${path} is ${typeName(value)}, not a number`);
}

export const httpJson: SignalSource<'http-json'> = {
  kind: 'http-json',
  describe: 'GET a URL answering JSON and read the number at a dotted path',
  async sample(config, ctx) {
    const headers = withDefaultHeader(config.headers, 'accept', 'application/json');
    const answer = await httpGet({ url: config.url, headers, timeoutMs: config.timeoutMs }, ctx);
    let json: unknown;
    try {
      json = JSON.parse(answer.body);
    } catch {
      const type = answer.contentType ? ` (content-type ${answer.contentType})` : '';
      throw new SourceError(
        `GET ${config.url} answered with a body that is not JSON${type}: ${quote(answer.body.trim())}`,
      );
    }
    try {
      return toNumber(walkJsonPath(json, config.path), config.path);
    } catch (err) {
      if (err instanceof SourceError) throw new SourceError(`GET ${config.url}: ${err.message}`);
      throw err;
    }
  },
};
