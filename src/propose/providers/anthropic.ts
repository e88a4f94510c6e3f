import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
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

export interface AnthropicProviderOptions {
  /** From the environment only (ANTHROPIC_API_KEY); never from a config file, never logged. */
  apiKey: string;
  /** An Anthropic-compatible server; the SDK appends /v1/messages. */
  baseURL?: string;
  clock: Clock;
  /** SDK retries for 408/409/429/5xx/529 and timeouts, with backoff and retry-after. Default 2. */
  maxRetries?: number;
}

/**
 * The Messages API with the output schema as the one tool's input_schema and tool_choice forcing
 * that tool, so the answer is a tool_use block whose input is the object. A compatible server that
 * answers with text instead is read as JSON text (fences stripped).
 */
export function createAnthropicProvider(opts: AnthropicProviderOptions): LlmProvider {
  const client = new Anthropic({
    apiKey: opts.apiKey,
    baseURL: opts.baseURL ?? null,
    maxRetries: opts.maxRetries ?? 2,
    logLevel: 'off',
  });
  const { clock } = opts;

  return {
    id: 'anthropic',
    async complete(req: LlmRequest, abort?: AbortSignal): Promise<LlmResponse> {
      const started = clock.now();
      let message: Anthropic.Message;
      try {
        message = await client.messages.create(
          {
            model: req.model,
            max_tokens: req.maxOutputTokens,
            system: req.system,
            messages: [{ role: 'user', content: req.prompt }],
            tools: [
              {
                name: req.schemaName,
                description: `Return the answer as one ${req.schemaName} object.`,
                input_schema: wireSchema(req.schema),
              },
            ],
            tool_choice: { type: 'tool', name: req.schemaName },
          },
          { timeout: req.timeoutMs, maxRetries: opts.maxRetries ?? 2, ...(abort ? { signal: abort } : {}) },
        );
      } catch (err) {
        throw sdkFailure('anthropic', SDK_ERRORS, err, req.timeoutMs, opts.apiKey);
      }
      const latencyMs = Math.max(0, clock.now() - started);
      const usage = {
        inputTokens: message.usage?.input_tokens ?? 0,
        outputTokens: message.usage?.output_tokens ?? 0,
      };
      const base = {
        usage,
        model: message.model ?? req.model,
        latencyMs,
        ...(message.stop_reason ? { stopReason: message.stop_reason } : {}),
      };
      const blocks = Array.isArray(message.content) ? message.content : [];
      const toolUse =
        blocks.find((b) => b.type === 'tool_use' && b.name === req.schemaName) ??
        blocks.find((b) => b.type === 'tool_use');
      if (toolUse && toolUse.type === 'tool_use') {
        return { ...base, data: toolUse.input, raw: JSON.stringify(toolUse.input) ?? '' };
      }
      const text = blocks
        .map((b) => (b.type === 'text' ? b.text : ''))
        .filter((t) => t !== '')
        .join('\n');
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
