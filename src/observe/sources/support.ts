import path from 'node:path';
import { KaizenError, SourceError } from '../../errors.js';
import { formatDuration } from '../../util/duration.js';

/*
 * Small helpers shared by the source kinds. Not a source itself (the registry test knows to skip it).
 */

/** A config path, relative to the target repo or absolute. */
export function resolveInRepo(repoPath: string, file: string): string {
  return path.resolve(repoPath, file);
}

/**
 * The error a source throws once its abort signal has fired. The sampler aborts with a SourceError
 * that already says why (timeout or shutdown): keep its code and put what we were doing in front.
 * Any other reason is treated as a timeout, because timeouts are how callers abort a sample.
 */
export function abortError(signal: AbortSignal, what: string, timeoutMs: number): SourceError {
  const reason: unknown = signal.reason;
  if (reason instanceof KaizenError) {
    return new SourceError(`${what}: ${reason.message}`, {
      timeout: reason.code === 'SOURCE_TIMEOUT',
      cause: reason,
    });
  }
  return new SourceError(`${what}: timed out after ${formatDuration(timeoutMs)}`, {
    timeout: true,
    cause: reason,
  });
}

export function throwIfAborted(signal: AbortSignal, what: string, timeoutMs: number): void {
  if (signal.aborted) throw abortError(signal, what, timeoutMs);
}

/** The errno-style code (ECONNREFUSED, ENOENT, …) of an error or of anything in its cause chain. */
export function errorCode(err: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof err !== 'object' || err === null) return undefined;
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'string' && own !== '') return own;
  const nested = (err as { errors?: unknown }).errors; // AggregateError from happy-eyeballs connects
  if (Array.isArray(nested)) {
    for (const e of nested) {
      const code = errorCode(e, depth + 1);
      if (code) return code;
    }
  }
  return errorCode((err as { cause?: unknown }).cause, depth + 1);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Text quoted for an error message, cut to `max` characters so one bad answer cannot flood the log. */
export function quote(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

// A plain decimal number: what a person means by "a number" in a string or on stdout. Number()
// alone would also accept "", "0x1f" and "Infinity".
const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number a string holds, or undefined when it is not exactly one finite number. */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (!NUMERIC.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : undefined;
}

/** `a, b, c, … (25 in all)` */
export function listSome(items: readonly string[], max: number): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')}, … (${items.length} in all)`;
}

/** Headers from the config, plus `name: value` unless the config sets that header in any letter case. */
export function withDefaultHeader(
  headers: Record<string, string>,
  name: string,
  value: string,
): Record<string, string> {
  const given = Object.keys(headers).some((h) => h.toLowerCase() === name.toLowerCase());
  return given ? headers : { [name]: value, ...headers };
}
