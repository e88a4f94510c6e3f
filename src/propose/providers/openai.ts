import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { Clock } from '../../clock.js';
import {
  parseJsonText,
  sdkFailure,
  wireSchema,
  type LlmProvider,
  type LlmRequest,
  type LlmResponse,
  type SdkErrorClasses,
} from './types.js';

/** The key sent to a local OpenAI-compatible server that needs none (the SDK insists on one). */
import { NO_KEY } from './types.js';
export { NO_KEY };

export interface OpenAiProviderOptions {
  /** From the environment only (OPENAI_API_KEY), or NO_KEY for a local server; never logged. */
  apiKey: string;
  /**
   * An OpenAI-compatible server, including its /v1 (`http://localhost:11434/v1` for Ollama); the
   * SDK appends /chat/completions. Unset: api.openai.com.
   */
  baseURL?: string;
  clock: Clock;
  /** SDK retries for 408/409/429/5xx and timeouts, with backoff and retry-after. Default 2. */
  maxRetries?: number;
}

/**
 * Chat Completions with `response_format: json_schema` (strict: false, so servers that support only
 * a subset of JSON Schema still take it). The message content is parsed as JSON (fences stripped);
 * a server that answers with a tool call instead is read from the call's arguments.
 */
export function createOpenAiProvider(opts: OpenAiProviderOptions): LlmProvider {
  const client = new OpenAI({
    apiKey: opts.apiKey,
    baseURL: opts.baseURL ?? null,
    maxRetries: opts.maxRetries ?? 2,
    logLevel: 'off',
    // Never pick these up from the environment: only what kaizen was configured with.
    organization: null,
    project: null,
  });
  const { clock } = opts;
  // api.openai.com has deprecated max_tokens (and reasoning models refuse it); compatible servers
  // (Ollama, vLLM, llama.cpp) all read max_tokens, not all read max_completion_tokens.
  const tokenLimitField = opts.baseURL === undefined ? 'max_completion_tokens' : 'max_tokens';

  return {
    id: 'openai',
    async complete(req: LlmRequest, abort?: AbortSignal): Promise<LlmResponse> {
      const started = clock.now();
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await client.chat.completions.create(
          {
            model: req.model,
            [tokenLimitField]: req.maxOutputTokens,
            messages: [
              { role: 'system', content: req.system },
              { role: 'user', content: req.prompt },
            ],
            response_format: {
              type: 'json_schema',
              json_schema: { name: req.schemaName, schema: wireSchema(req.schema), strict: false },
            },
          },
          { timeout: req.timeoutMs, maxRetries: opts.maxRetries ?? 2, ...(abort ? { signal: abort } : {}) },
        );
      } catch (err) {
        throw sdkFailure('openai', SDK_ERRORS, err, req.timeoutMs, opts.apiKey);
      }
      const latencyMs = Math.max(0, clock.now() - started);
      const choice = completion.choices?.[0];
      const base = {
        usage: {
          inputTokens: completion.usage?.prompt_tokens ?? 0,
          outputTokens: completion.usage?.completion_tokens ?? 0,
        },
        model: completion.model ?? req.model,
        latencyMs,
        ...(choice?.finish_reason ? { stopReason: choice.finish_reason } : {}),
      };
      const call = choice?.message?.tool_calls?.[0];
      const content = choice?.message?.content ?? '';
      const text =
        content.trim() === '' && call && call.type === 'function' ? call.function.arguments : content;
      if (!choice) {
        return { ...base, data: undefined, raw: '', parseError: 'the answer has no choices' };
      }
      const parsed = parseJsonText(text);
      return parsed.ok
        ? { ...base, data: parsed.value, raw: text }
        : { ...base, data: undefined, raw: text, parseError: parsed.error };
    },
  };
}

const SDK_ERRORS: SdkErrorClasses = {
  APIUserAbortError,
  APIConnectionTimeoutError,
  APIConnectionError,
  APIError,
};
