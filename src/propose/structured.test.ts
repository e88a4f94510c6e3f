import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SimulatedClock } from '../clock.js';
import { reply, startFakeLlm, type FakeLlm } from '../../test/helpers/fake-llm.js';
import type { ProposalInput } from './proposal.js';
import { createAnthropicProvider } from './providers/anthropic.js';
import { createOpenAiProvider } from './providers/openai.js';
import type { LlmProvider, LlmRequest } from './providers/types.js';
import {
  completeValidated,
  formatIssues,
  jsonSchemaOf,
  PROPOSAL_BATCH_SCHEMA_NAME,
  ProposalBatch,
  repairPrompt,
} from './structured.js';

const clock = new SimulatedClock();

const valid: ProposalInput = {
  title: 'Raise the worker pool size',
  area: 'worker',
  kind: 'config_set',
  changes: [{ kind: 'config_set', path: 'config/app.yaml', key: 'worker.pool_size', value: 8 }],
  hypothesis: 'Queue latency is high because every worker is busy at peak',
  prediction: { signal: 'queue_latency_p95', direction: 'down', magnitude: 0.3 },
  risk: 'low',
};
const batch = { proposals: [valid] };
/** Valid JSON, invalid proposal: an unknown risk, and a change whose kind is not the proposal's. */
const schemaInvalid = {
  proposals: [{ ...valid, kind: 'edit', risk: 'extreme' }],
};

function request(over: Partial<LlmRequest> = {}): LlmRequest {
  return {
    task: 'proposer',
    model: 'test-model',
    system: 'You propose changes.',
    prompt: 'Propose one change for the worker area.',
    maxOutputTokens: 2048,
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

const sentPrompt = (i: number, wire: 'anthropic' | 'openai'): string => {
  const body = fake.requests[i]!.body as { messages: { role: string; content: string }[] };
  const user = body.messages.find((m) => m.role === 'user');
  return wire === 'anthropic' ? body.messages[0]!.content : user!.content;
};

describe.each([
  [
    'anthropic',
    (): LlmProvider => createAnthropicProvider({ apiKey: 'k-test', baseURL: fake.url, clock, maxRetries: 0 }),
  ],
  [
    'openai',
    (): LlmProvider =>
      createOpenAiProvider({ apiKey: 'k-test', baseURL: fake.openaiBaseURL, clock, maxRetries: 0 }),
  ],
] as const)('completeValidated via %s', (wire, make) => {
  it('a valid tool-call answer: ok on the first attempt, defaults applied', async () => {
    fake.queue(reply.tool(batch));
    const r = await completeValidated(make(), request(), ProposalBatch, { clock });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.proposals[0]!.title).toBe('Raise the worker pool size');
    expect(r.value.proposals[0]!.rollback).toBe(''); // default from the schema
    expect(r.attempts).toHaveLength(1);
    expect(r.attempts[0]).toMatchObject({
      attempt: 1,
      problems: [],
      usage: { inputTokens: 120, outputTokens: 80 },
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('a valid plain-text JSON answer', async () => {
    fake.queue(reply.jsonText(batch));
    const r = await completeValidated(make(), request(), ProposalBatch, { clock });
    expect(r.ok).toBe(true);
  });

  it('fenced JSON', async () => {
    fake.queue(reply.fenced(batch));
    const r = await completeValidated(make(), request(), ProposalBatch, { clock });
    expect(r.ok).toBe(true);
    expect(r.attempts[0]!.raw).toContain('```json');
  });

  it('malformed JSON, then a valid answer after the repair round', async () => {
    fake.queue(reply.malformed(), reply.tool(batch));
    const r = await completeValidated(make(), request(), ProposalBatch, { clock });
    expect(r.ok).toBe(true);
    expect(r.attempts).toHaveLength(2);
    expect(r.attempts[0]!.problems[0]).toMatch(/^\(root\): the answer is not valid JSON/);
    expect(r.attempts[1]!.problems).toEqual([]);
    const repair = sentPrompt(1, wire);
    expect(repair).toContain('Propose one change for the worker area.');
    expect(repair).toContain('{"proposals": [ {"title": "x",, } ]');
    expect(repair).toContain('not valid JSON');
    expect(repair).toMatch(/answer again with a corrected object/i);
  });

  it('truncated JSON: the repair prompt says it was cut off at the output limit', async () => {
    fake.queue(reply.truncated(batch), reply.jsonText(batch));
    const r = await completeValidated(make(), request(), ProposalBatch, { clock });
    expect(r.ok).toBe(true);
    expect(r.attempts[0]!.problems.join('\n')).toMatch(/cut off at the output limit of 2048 tokens/);
    expect(sentPrompt(1, wire)).toMatch(/cut off at the output limit/);
  });

  it('a schema-invalid object: the repair prompt lists path: message problems', async () => {
    fake.queue(reply.tool(schemaInvalid), reply.tool(batch));
    const r = await completeValidated(make(), request(), ProposalBatch, { clock });
    expect(r.ok).toBe(true);
    const problems = r.attempts[0]!.problems;
    expect(problems.some((p) => p.startsWith('proposals[0].risk: '))).toBe(true);
    const repair = sentPrompt(1, wire);
    for (const p of problems) expect(repair).toContain(`- ${p}`);
    expect(repair).toContain(JSON.stringify(schemaInvalid));
  });

  it('invalid twice: ok false, both raw outputs and their problems kept', async () => {
    fake.queue(reply.malformed(), reply.tool(schemaInvalid));
    const r = await completeValidated(make(), request(), ProposalBatch, { clock });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(/still invalid after one repair round: proposals\[0\]/);
    expect(r.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(r.attempts[0]!.raw).toBe('{"proposals": [ {"title": "x",, } ]');
    expect(JSON.parse(r.attempts[1]!.raw)).toEqual(schemaInvalid);
    expect(r.attempts.every((a) => a.problems.length > 0 && a.usage.outputTokens === 80)).toBe(true);
    expect(fake.requests).toHaveLength(2);
  });

  it('an oversized answer is not parsed; audit keeps it cut at the limit', async () => {
    fake.queue(reply.oversized(5_000), reply.oversized(5_000));
    const r = await completeValidated(make(), request(), ProposalBatch, { clock, maxRawChars: 1_000 });
    expect(r.ok).toBe(false);
    expect(r.attempts[0]).toMatchObject({ rawTruncated: true });
    expect(r.attempts[0]!.raw).toHaveLength(1_000);
    expect(r.attempts[0]!.problems[0]).toMatch(/more than the 1000 allowed/);
    // The repair prompt quotes at most 16 KiB of it; here the whole (cut) raw.
    expect(sentPrompt(1, wire).length).toBeLessThan(5_000);
  });

  it('a transport failure in the first call throws (the breaker counts it)', async () => {
    fake.queue(reply.serverError());
    await expect(completeValidated(make(), request(), ProposalBatch, { clock })).rejects.toMatchObject({
      code: 'LLM_UNAVAILABLE',
    });
  });
});

describe('the wire schema', () => {
  it('is the input side of ProposalBatch: defaults optional, strict objects', () => {
    const s = jsonSchemaOf(ProposalBatch) as {
      type: string;
      required: string[];
      additionalProperties: boolean;
      properties: { proposals: { items: { required: string[] } } };
    };
    expect(s.type).toBe('object');
    expect(s.required).toEqual(['proposals']);
    expect(s.additionalProperties).toBe(false);
    expect(s.properties.proposals.items.required).not.toContain('rollback');
    expect(s.properties.proposals.items.required).toContain('prediction');
  });
});

describe('formatIssues and repairPrompt', () => {
  it('formats paths with indexes', () => {
    const r = z.object({ a: z.array(z.object({ b: z.number() })) }).safeParse({ a: [{ b: 'x' }] });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(formatIssues(r.error.issues)).toEqual([expect.stringMatching(/^a\[0\]\.b: /)]);
    const root = z.number().safeParse('x');
    if (!root.success) expect(formatIssues(root.error.issues)[0]).toMatch(/^\(root\): /);
  });

  it('quotes at most 16 KiB of the previous answer and 30 problems', () => {
    const prompt = repairPrompt('Task.', {
      attempt: 1,
      at: 0,
      raw: 'y'.repeat(40_000),
      rawTruncated: false,
      problems: Array.from({ length: 40 }, (_, i) => `p${i}: bad`),
      usage: { inputTokens: 1, outputTokens: 1 },
      model: 'm',
      latencyMs: 1,
    });
    expect(prompt).toContain('more characters cut');
    expect(prompt).toContain('- p29: bad');
    expect(prompt).not.toContain('- p30: bad');
    expect(prompt).toContain('... and 10 more');
    expect(prompt.length).toBeLessThan(20_000);
  });
});
