import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../clock.js';
import { reply, startFakeLlm, type FakeLlm } from '../../../test/helpers/fake-llm.js';
import type { ProposalInput } from '../proposal.js';
import { jsonSchemaOf, PROPOSAL_BATCH_SCHEMA_NAME, ProposalBatch } from '../structured.js';
import { createAnthropicProvider } from './anthropic.js';
import { createOpenAiProvider, NO_KEY } from './openai.js';
import { LlmError, parseJsonText, type LlmProvider, type LlmRequest } from './types.js';

const clock = new SystemClock();

const validProposal: ProposalInput = {
  title: 'Raise the worker pool size',
  area: 'worker',
  kind: 'config_set',
  changes: [{ kind: 'config_set', path: 'config/app.yaml', key: 'worker.pool_size', value: 8 }],
  hypothesis: 'Queue latency is high because every worker is busy at peak',
  prediction: { signal: 'queue_latency_p95', direction: 'down', magnitude: 0.3 },
  risk: 'low',
};
const batch = { proposals: [validProposal] };

function request(over: Partial<LlmRequest> = {}): LlmRequest {
  return {
    task: 'proposer',
    model: 'test-model',
    system: 'You propose changes.',
    prompt: 'Propose one change.',
    maxOutputTokens: 4096,
    timeoutMs: 5_000,
    schema: jsonSchemaOf(ProposalBatch),
    schemaName: PROPOSAL_BATCH_SCHEMA_NAME,
    ...over,
  };
}

let fake: FakeLlm;
beforeEach(async () => {
  fake = await startFakeLlm();
});
afterEach(async () => {
  await fake.close();
});

type Make = (maxRetries?: number) => LlmProvider;
const providers: [string, Make][] = [
  [
    'anthropic',
    (maxRetries) =>
      createAnthropicProvider({
        apiKey: 'sk-ant-test-key',
        baseURL: fake.url,
        clock,
        ...(maxRetries === undefined ? {} : { maxRetries }),
      }),
  ],
  [
    'openai',
    (maxRetries) =>
      createOpenAiProvider({
        apiKey: 'sk-openai-test-key',
        baseURL: fake.openaiBaseURL,
        clock,
        ...(maxRetries === undefined ? {} : { maxRetries }),
      }),
  ],
];

describe('anthropic wire format', () => {
  it('sends the schema as the one tool, forced by tool_choice, and reads the tool_use input', async () => {
    fake.queue(reply.tool(batch, { input: 321, output: 54 }));
    const p = createAnthropicProvider({ apiKey: 'sk-ant-test-key', baseURL: fake.url, clock });
    const res = await p.complete(request());
    expect(res.data).toEqual(batch);
    expect(JSON.parse(res.raw)).toEqual(batch);
    expect(res.usage).toEqual({ inputTokens: 321, outputTokens: 54 });
    expect(res.model).toBe('test-model');
    expect(res.stopReason).toBe('tool_use');
    expect(res.latencyMs).toBeGreaterThanOrEqual(0);

    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/v1/messages');
    // The SDK sends the key as x-api-key or (1.x) as a bearer token.
    expect([sent.headers['x-api-key'], sent.headers['authorization']]).toContainEqual(
      expect.stringMatching(/^(Bearer )?sk-ant-test-key$/),
    );
    const body = sent.body as Record<string, unknown>;
    expect(body['model']).toBe('test-model');
    expect(body['max_tokens']).toBe(4096);
    expect(body['system']).toBe('You propose changes.');
    expect(body['messages']).toEqual([{ role: 'user', content: 'Propose one change.' }]);
    expect(body['tool_choice']).toEqual({ type: 'tool', name: 'proposal_batch' });
    const tools = body['tools'] as { name: string; input_schema: Record<string, unknown> }[];
    expect(tools).toHaveLength(1);
    expect(tools[0]!.name).toBe('proposal_batch');
    expect(tools[0]!.input_schema['type']).toBe('object');
    expect(tools[0]!.input_schema['$schema']).toBeUndefined();
    expect(tools[0]!.input_schema['required']).toEqual(['proposals']);
  });

  it('reads a plain-text JSON answer from a compatible server that ignores tools', async () => {
    fake.queue(reply.jsonText(batch));
    const p = createAnthropicProvider({ apiKey: 'k-test', baseURL: fake.url, clock });
    const res = await p.complete(request());
    expect(res.data).toEqual(batch);
    expect(res.raw).toBe(JSON.stringify(batch));
    expect(res.stopReason).toBe('end_turn');
  });

  it('maps 529 overloaded (after the SDK retries) to LLM_UNAVAILABLE', async () => {
    fake.queue(reply.overloaded(), reply.overloaded());
    const p = createAnthropicProvider({ apiKey: 'k-test', baseURL: fake.url, clock, maxRetries: 1 });
    const err = await p.complete(request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({
      code: 'LLM_UNAVAILABLE',
      status: 529,
      retryable: true,
      provider: 'anthropic',
    });
    expect((err as Error).message).toMatch(/529/);
    expect(fake.requests).toHaveLength(2);
  });

  it('529 overloaded then success: the SDK retry gets the answer', async () => {
    fake.queue(reply.overloaded(), reply.tool(batch));
    const p = createAnthropicProvider({ apiKey: 'k-test', baseURL: fake.url, clock });
    const res = await p.complete(request());
    expect(res.data).toEqual(batch);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('openai wire format', () => {
  it('sends response_format json_schema (strict: false) and parses the content', async () => {
    fake.queue(reply.jsonText(batch));
    const p = createOpenAiProvider({ apiKey: 'sk-openai-test-key', baseURL: fake.openaiBaseURL, clock });
    const res = await p.complete(request());
    expect(res.data).toEqual(batch);
    expect(res.raw).toBe(JSON.stringify(batch));
    expect(res.usage).toEqual({ inputTokens: 120, outputTokens: 80 });
    expect(res.stopReason).toBe('stop');

    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers['authorization']).toBe('Bearer sk-openai-test-key');
    const body = sent.body as Record<string, unknown>;
    expect(body['messages']).toEqual([
      { role: 'system', content: 'You propose changes.' },
      { role: 'user', content: 'Propose one change.' },
    ]);
    // A compatible server (a baseURL): max_tokens, which they all read.
    expect(body['max_tokens']).toBe(4096);
    const rf = body['response_format'] as { type: string; json_schema: Record<string, unknown> };
    expect(rf.type).toBe('json_schema');
    expect(rf.json_schema['name']).toBe('proposal_batch');
    expect(rf.json_schema['strict']).toBe(false);
    expect((rf.json_schema['schema'] as Record<string, unknown>)['type']).toBe('object');
  });

  it('accepts a tool-call answer', async () => {
    fake.queue(reply.tool(batch));
    const p = createOpenAiProvider({ apiKey: 'k-test', baseURL: fake.openaiBaseURL, clock });
    const res = await p.complete(request());
    expect(res.data).toEqual(batch);
    expect(res.stopReason).toBe('tool_calls');
  });

  it('sends the placeholder key to a local server that needs none', async () => {
    fake.queue(reply.jsonText(batch));
    const p = createOpenAiProvider({ apiKey: NO_KEY, baseURL: fake.openaiBaseURL, clock });
    await p.complete(request());
    expect(fake.requests[0]!.headers['authorization']).toBe('Bearer not-needed');
  });

  it('does not leak the API key in an error message', async () => {
    fake.queue({
      type: 'error',
      status: 401,
      errorType: 'invalid_api_key',
      message: 'Incorrect API key provided: sk-openai-secret-123',
    });
    const p = createOpenAiProvider({ apiKey: 'sk-openai-secret-123', baseURL: fake.openaiBaseURL, clock });
    const err = await p.complete(request()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LLM_REJECTED', status: 401, retryable: false });
    expect((err as Error).message).not.toContain('sk-openai-secret-123');
    expect((err as Error).message).toMatch(/API key/);
    expect(fake.requests).toHaveLength(1); // 401 is not retried
  });
});

describe.each(providers)('%s provider through the real SDK', (id, make) => {
  it('reads fenced JSON', async () => {
    fake.queue(reply.fenced(batch));
    const res = await make().complete(request());
    expect(res.data).toEqual(batch);
    expect(res.raw).toContain('```json');
  });

  it('malformed JSON: data undefined, raw and the parse error kept', async () => {
    fake.queue(reply.malformed());
    const res = await make().complete(request());
    expect(res.data).toBeUndefined();
    expect(res.raw).toBe('{"proposals": [ {"title": "x",, } ]');
    expect(res.parseError).toMatch(/not valid JSON/);
  });

  it('truncated JSON: data undefined, the stop reason says it was cut', async () => {
    fake.queue(reply.truncated(batch));
    const res = await make().complete(request());
    expect(res.data).toBeUndefined();
    expect(res.stopReason).toBe(id === 'anthropic' ? 'max_tokens' : 'length');
  });

  it('429 with retry-after: 0, then success: retried once (2 requests)', async () => {
    fake.queue(reply.rateLimited('0'), reply.tool(batch));
    const res = await make().complete(request());
    expect(res.data).toEqual(batch);
    expect(fake.requests).toHaveLength(2);
  });

  it('500 twice then success (maxRetries 2): 3 requests', async () => {
    fake.queue(reply.serverError(), reply.serverError(), reply.tool(batch));
    const res = await make(2).complete(request());
    expect(res.data).toEqual(batch);
    expect(fake.requests).toHaveLength(3);
  });

  it('500 past the retries: LLM_UNAVAILABLE, retryable', async () => {
    fake.queue(reply.serverError());
    const err = await make(0)
      .complete(request())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ code: 'LLM_UNAVAILABLE', status: 500, retryable: true, provider: id });
  });

  it('a hang: LLM_TIMEOUT', async () => {
    fake.queue(reply.hang());
    const err = await make(0)
      .complete(request({ timeoutMs: 300 }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ code: 'LLM_TIMEOUT', retryable: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('a hang, then an answer on the SDK retry', async () => {
    fake.queue(reply.hang(), reply.tool(batch));
    const res = await make(1).complete(request({ timeoutMs: 300 }));
    expect(res.data).toEqual(batch);
    expect(fake.requests).toHaveLength(2);
  });

  it('an abort from the caller: LLM_ABORTED', async () => {
    fake.queue(reply.hang());
    const ctl = new AbortController();
    const pending = make(0)
      .complete(request(), ctl.signal)
      .catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    ctl.abort();
    expect(await pending).toMatchObject({ code: 'LLM_ABORTED', retryable: false });
  });

  it('a server that is not there: LLM_UNAVAILABLE', async () => {
    await fake.close();
    const err = await make(0)
      .complete(request())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LLM_UNAVAILABLE', retryable: true });
    fake = await startFakeLlm(); // for afterEach
  });
});

describe('parseJsonText', () => {
  it('reads bare JSON, fenced JSON and JSON inside prose', () => {
    expect(parseJsonText('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonText('```json\n{"a":1}\n```')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonText('```\n{"a":1}\n```')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonText('Sure! {"a":1} Hope this helps.')).toEqual({ ok: true, value: { a: 1 } });
  });
  it('reports empty and broken text', () => {
    expect(parseJsonText('  ')).toMatchObject({ ok: false, error: 'the answer is empty' });
    expect(parseJsonText('{"a":')).toMatchObject({ ok: false });
  });
});
