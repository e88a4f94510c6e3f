import { KaizenError, type KaizenErrorOptions } from '../../errors.js';

/*
 * The provider seam: one structured completion in, one JSON object (or what the model said instead)
 * out. Providers never validate against the zod schema (structured.ts does); they only move bytes
 * and turn SDK failures into typed errors.
 */

export type LlmTask = 'proposer' | 'distiller' | 'meta-review';

export interface LlmRequest {
  task: LlmTask;
  model: string;
  system: string;
  prompt: string;
  maxOutputTokens: number;
  timeoutMs: number;
  /** JSON Schema of the expected output object */
  schema: Record<string, unknown>;
  schemaName: string;
}

export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface LlmResponse {
  /** The JSON object produced (tool input or parsed text); undefined when the text was not JSON. */
  data: unknown;
  /** Exactly what the model returned, for audit. */
  raw: string;
  usage: LlmUsage;
  model: string;
  latencyMs: number;
  /** Why the text could not be read as JSON, when `data` is undefined. */
  parseError?: string;
  /** The provider's stop reason (`end_turn`, `tool_use`, `max_tokens`, `stop`, `length`...). */
  stopReason?: string;
}

export type ProviderId = 'anthropic' | 'openai';

/** The key sent to a local OpenAI-compatible server that needs none. */
export const NO_KEY = 'not-needed';

export interface LlmProvider {
  id: ProviderId;
  complete(req: LlmRequest, abort?: AbortSignal): Promise<LlmResponse>;
}

export type LlmErrorCode = 'LLM_UNAVAILABLE' | 'LLM_TIMEOUT' | 'LLM_REJECTED' | 'LLM_ABORTED';

/**
 * A transport failure: the provider could not be reached, timed out, refused the request, or was
 * aborted. Retryable for unavailable and timeout (the SDK has already retried `maxRetries` times).
 */
export class LlmError extends KaizenError {
  override readonly code: LlmErrorCode;
  readonly provider: ProviderId;
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;

  constructor(
    code: LlmErrorCode,
    provider: ProviderId,
    message: string,
    options: KaizenErrorOptions & { status?: number } = {},
  ) {
    super(code, message, {
      retryable: options.retryable ?? (code === 'LLM_UNAVAILABLE' || code === 'LLM_TIMEOUT'),
      cause: options.cause,
    });
    this.code = code;
    this.provider = provider;
    this.status = options.status;
  }
}

/** The JSON Schema options for a tool's input / a response_format: an object schema without `$schema`. */
export function wireSchema(schema: Record<string, unknown>): Record<string, unknown> & { type: 'object' } {
  const { $schema: _drop, ...rest } = schema;
  if (rest['type'] !== undefined && rest['type'] !== 'object') {
    throw new TypeError(
      `an LLM output schema must describe an object, got type ${JSON.stringify(rest['type'])}`,
    );
  }
  return { ...rest, type: 'object' };
}

/**
 * Read model text as one JSON value: the whole text, or the inside of a ```json fence, or the
 * outermost {...} in prose around it.
 */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'the answer is empty' };
  const candidates = [trimmed];
  const fence = /```[a-zA-Z0-9_-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```/.exec(trimmed);
  if (fence?.[1] !== undefined) candidates.push(fence[1].trim());
  const first = trimmed.indexOf('{');
  const last = trimmed.lastIndexOf('}');
  if (first >= 0 && last > first) candidates.push(trimmed.slice(first, last + 1));
  let firstError: string | undefined;
  for (const c of candidates) {
    try {
      return { ok: true, value: JSON.parse(c) as unknown };
    } catch (err) {
      firstError ??= err instanceof Error ? err.message : String(err);
    }
  }
  return { ok: false, error: `the answer is not valid JSON (${firstError ?? 'unreadable'})` };
}

/** Remove a secret from text that may be logged (an SDK error message, say). */
export function redact(text: string, secret: string | undefined): string {
  return secret && secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** The error classes both official SDKs export, under the same names; each provider passes its own. */
export interface SdkErrorClasses {
  APIUserAbortError: ErrorClass;
  APIConnectionTimeoutError: ErrorClass;
  APIConnectionError: ErrorClass;
  APIError: ErrorClass;
}

/** An SDK's error as an LlmError, with the API key taken out of its message. */
export function sdkFailure(
  provider: ProviderId,
  sdk: SdkErrorClasses,
  err: unknown,
  timeoutMs: number,
  apiKey: string,
): LlmError {
  const message = redact(err instanceof Error ? err.message : String(err), apiKey);
  const status = (err as { status?: unknown } | null)?.status;
  // A connection timeout is also a connection error: the order of the checks matters.
  const found: Found =
    err instanceof sdk.APIUserAbortError
      ? { kind: 'abort', message }
      : err instanceof sdk.APIConnectionTimeoutError
        ? { kind: 'timeout', message }
        : err instanceof sdk.APIConnectionError
          ? { kind: 'connection', message }
          : err instanceof sdk.APIError && typeof status === 'number'
            ? { kind: 'status', status, message }
            : { kind: 'other', message };
  return classifyFailure(provider, found, timeoutMs, err);
}

interface Found {
  kind: 'abort' | 'timeout' | 'connection' | 'status' | 'other';
  status?: number;
  message: string;
}

function classifyFailure(provider: ProviderId, found: Found, timeoutMs: number, cause: unknown): LlmError {
  const name = provider === 'anthropic' ? 'Anthropic' : 'OpenAI-compatible';
  switch (found.kind) {
    case 'abort':
      return new LlmError('LLM_ABORTED', provider, `${name} request aborted`, { cause });
    case 'timeout':
      return new LlmError(
        'LLM_TIMEOUT',
        provider,
        `${name} request timed out: no answer within ${timeoutMs} ms, on every attempt the SDK made`,
        { cause },
      );
    case 'connection':
      return new LlmError(
        'LLM_UNAVAILABLE',
        provider,
        `${name} server could not be reached: ${found.message}`,
        { cause },
      );
    case 'status': {
      const status = found.status ?? 0;
      const transient = status === 408 || status === 409 || status === 429 || status >= 500;
      return transient
        ? new LlmError(
            'LLM_UNAVAILABLE',
            provider,
            `${name} API answered HTTP ${status} after retries: ${found.message}`,
            { cause, status },
          )
        : new LlmError(
            'LLM_REJECTED',
            provider,
            `${name} API refused the request with HTTP ${status}: ${found.message}` +
              (status === 401 || status === 403 ? ' (check the API key in the environment)' : ''),
            { cause, status },
          );
    }
    default:
      return new LlmError('LLM_UNAVAILABLE', provider, `${name} request failed: ${found.message}`, {
        cause,
      });
  }
}
