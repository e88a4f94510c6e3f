import type { Clock } from '../../clock.js';
import { KaizenError } from '../../errors.js';
import { NO_KEY, type LlmProvider, type ProviderId } from './types.js';

export type { AnthropicProviderOptions } from './anthropic.js';
export type { OpenAiProviderOptions } from './openai.js';
export * from './types.js';

export type ProviderSetting = 'auto' | 'anthropic' | 'openai' | 'rules';

export interface ProviderConfig {
  provider: ProviderSetting;
  /** A compatible server (Ollama, vLLM, llama.cpp, a proxy); for openai it includes /v1. */
  baseUrl?: string;
}

/** Where the API keys come from: the environment, never a config file. */
export type ProviderEnv = Readonly<Record<string, string | undefined>>;

export interface ProviderSelection {
  id: ProviderId | 'rules';
  /** One sentence, logged once at start and shown in status. Never contains a key. */
  why: string;
}

const KEY_VAR: Record<ProviderId, string> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
};

function hasKey(env: ProviderEnv, id: ProviderId): boolean {
  return (env[KEY_VAR[id]] ?? '').trim() !== '';
}

/**
 * Which proposer to use. `auto`: anthropic when ANTHROPIC_API_KEY is set, else openai when
 * OPENAI_API_KEY is set or a baseUrl names a (local) server, else the deterministic rules. An
 * explicit provider without a key (and without a baseUrl that may need none) is a config error,
 * not a silent fall back to rules.
 */
export function selectProvider(config: ProviderConfig, env: ProviderEnv = process.env): ProviderSelection {
  const at = config.baseUrl ? ` at ${config.baseUrl}` : '';
  switch (config.provider) {
    case 'rules':
      return { id: 'rules', why: 'provider: rules is configured, using the deterministic rules (no LLM)' };
    case 'anthropic':
    case 'openai': {
      const id = config.provider;
      if (hasKey(env, id))
        return { id, why: `provider: ${id} is configured and ${KEY_VAR[id]} is set, using ${id}${at}` };
      if (config.baseUrl)
        return {
          id,
          why: `provider: ${id} is configured with a baseUrl and no ${KEY_VAR[id]}, using ${id}${at} without a key`,
        };
      throw new KaizenError(
        'CONFIG_INVALID',
        `provider: ${id} is configured but ${KEY_VAR[id]} is not set in the environment: export it, set a baseUrl for a server that needs no key, or use provider: auto or rules`,
      );
    }
    case 'auto':
      // A baseUrl names a server of one's own (Ollama, vLLM, llama.cpp): OpenAI-compatible. Never
      // send an Anthropic key to it.
      if (config.baseUrl)
        return {
          id: 'openai',
          why: `auto: a baseUrl is set, using the OpenAI-compatible server at ${config.baseUrl}${hasKey(env, 'openai') ? ' with OPENAI_API_KEY' : ' without a key'}`,
        };
      if (hasKey(env, 'anthropic'))
        return { id: 'anthropic', why: 'auto: ANTHROPIC_API_KEY is set, using anthropic' };
      if (hasKey(env, 'openai')) return { id: 'openai', why: 'auto: OPENAI_API_KEY is set, using openai' };
      return {
        id: 'rules',
        why: 'auto: neither ANTHROPIC_API_KEY nor OPENAI_API_KEY is set and no baseUrl, using the deterministic rules',
      };
  }
}

/** The tasks that call a model; each may use its own (cheaper) model. */
export type ModelTask = 'propose' | 'distill' | 'review';

const DEFAULT_MODEL: Record<ProviderId, string> = {
  anthropic: 'claude-sonnet-5-5',
  openai: 'gpt-4.1-mini',
};

/** The model for a task: its own setting, else the shared `model`, else the provider's default. */
export function modelFor(
  config: { model?: string | undefined; models?: Partial<Record<ModelTask, string | undefined>> },
  provider: ProviderId,
  task: ModelTask,
): string {
  return config.models?.[task] ?? config.model ?? DEFAULT_MODEL[provider];
}

export interface CreateProviderOptions {
  clock: Clock;
  baseUrl?: string;
  maxRetries?: number;
}

type Factory = (apiKey: string, opts: CreateProviderOptions) => Promise<LlmProvider>;

/**
 * The LLM providers by id. Each SDK is loaded only when its provider is used: together they cost
 * a daemon that runs on the offline rules some 35 MB of memory for nothing.
 */
export const PROVIDERS: Readonly<Record<ProviderId, Factory>> = {
  anthropic: async (apiKey, o) =>
    (await import('./anthropic.js')).createAnthropicProvider({
      apiKey,
      clock: o.clock,
      ...(o.baseUrl ? { baseURL: o.baseUrl } : {}),
      ...(o.maxRetries === undefined ? {} : { maxRetries: o.maxRetries }),
    }),
  openai: async (apiKey, o) =>
    (await import('./openai.js')).createOpenAiProvider({
      apiKey,
      clock: o.clock,
      ...(o.baseUrl ? { baseURL: o.baseUrl } : {}),
      ...(o.maxRetries === undefined ? {} : { maxRetries: o.maxRetries }),
    }),
};

/**
 * Build the selected provider, reading its key from `env` (NO_KEY when a baseUrl server needs
 * none). Undefined for `rules`.
 */
export async function createProvider(
  selection: ProviderSelection,
  env: ProviderEnv,
  opts: CreateProviderOptions,
): Promise<LlmProvider | undefined> {
  if (selection.id === 'rules') return undefined;
  const key = (env[KEY_VAR[selection.id]] ?? '').trim();
  return PROVIDERS[selection.id](key === '' ? NO_KEY : key, opts);
}
