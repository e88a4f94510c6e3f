import { z } from 'zod';
import type { Clock } from '../clock.js';
import { Proposal } from './proposal.js';
import type { LlmProvider, LlmRequest, LlmUsage } from './providers/types.js';

/*
 * One structured completion, validated: call the provider, check `data` with the zod schema, and
 * on failure run ONE repair round that shows the model its previous answer and the problems. Model
 * output that does not validate is an expected outcome (a return value, every attempt kept for
 * audit); only transport failures throw (LlmError from the provider).
 */

/** What a proposer answers: a list of proposals (possibly empty: "nothing worth changing"). */
export const MAX_PROPOSALS_PER_ANSWER = 10;
export const ProposalBatch = z.strictObject({
  proposals: z.array(Proposal).max(MAX_PROPOSALS_PER_ANSWER, `at most ${MAX_PROPOSALS_PER_ANSWER} proposals`),
  /** What the proposer considered and left out (the prompt asks for it; kept for audit). */
  notes: z.string().max(4000).optional(),
});
export type ProposalBatch = z.infer<typeof ProposalBatch>;
export const PROPOSAL_BATCH_SCHEMA_NAME = 'proposal_batch';

/** The JSON Schema sent on the wire for a zod schema: its input side (defaults optional). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
}

/** Answers larger than this are not parsed or shown back to the model (default 1 MiB). */
export const DEFAULT_MAX_RAW_CHARS = 1024 * 1024;
/** How much of a previous answer the repair prompt quotes. */
const REPAIR_QUOTE_CHARS = 16 * 1024;
/** How many problems the repair prompt lists. */
const REPAIR_MAX_PROBLEMS = 30;

export interface Attempt {
  /** 1 for the first call, 2 for the repair round. */
  attempt: number;
  /** Epoch ms (from the injected clock) when the call started. */
  at: number;
  /** What the model returned (cut at maxRawChars, see rawTruncated). */
  raw: string;
  rawTruncated: boolean;
  /** `path: message` for every problem; empty when the answer validated. */
  problems: string[];
  usage: LlmUsage;
  model: string;
  latencyMs: number;
  stopReason?: string;
}

export type ValidatedResult<T> =
  { ok: true; value: T; attempts: Attempt[] } | { ok: false; reason: string; attempts: Attempt[] };

export interface CompleteValidatedOptions {
  clock: Clock;
  abort?: AbortSignal;
  /** Default DEFAULT_MAX_RAW_CHARS. */
  maxRawChars?: number;
}

export async function completeValidated<T>(
  provider: LlmProvider,
  req: LlmRequest,
  schema: z.ZodType<T>,
  opts: CompleteValidatedOptions,
): Promise<ValidatedResult<T>> {
  const maxRaw = opts.maxRawChars ?? DEFAULT_MAX_RAW_CHARS;
  const attempts: Attempt[] = [];

  const round = async (n: number, request: LlmRequest) => {
    const at = opts.clock.now();
    const res = await provider.complete(request, opts.abort);
    const oversized = res.raw.length > maxRaw;
    let problems: string[];
    let value: T | undefined;
    if (oversized) {
      problems = [
        `(root): the answer is ${res.raw.length} characters, more than the ${maxRaw} allowed: answer with a smaller object`,
      ];
    } else if (res.data === undefined) {
      problems = [`(root): ${res.parseError ?? 'the answer is not a JSON object'}`];
    } else {
      const parsed = schema.safeParse(res.data);
      problems = parsed.success ? [] : formatIssues(parsed.error.issues);
      if (parsed.success) value = parsed.data;
    }
    if (problems.length > 0 && (res.stopReason === 'max_tokens' || res.stopReason === 'length')) {
      problems.push(
        `(root): the answer was cut off at the output limit of ${request.maxOutputTokens} tokens`,
      );
    }
    const attempt: Attempt = {
      attempt: n,
      at,
      raw: oversized ? res.raw.slice(0, maxRaw) : res.raw,
      rawTruncated: oversized,
      problems,
      usage: res.usage,
      model: res.model,
      latencyMs: res.latencyMs,
      ...(res.stopReason ? { stopReason: res.stopReason } : {}),
    };
    attempts.push(attempt);
    return { attempt, value, ok: problems.length === 0 };
  };

  const first = await round(1, req);
  if (first.ok) return { ok: true, value: first.value as T, attempts };

  const second = await round(2, { ...req, prompt: repairPrompt(req.prompt, first.attempt) });
  if (second.ok) return { ok: true, value: second.value as T, attempts };

  const shown = second.attempt.problems.slice(0, 3).join('; ');
  const more = second.attempt.problems.length > 3 ? ` (and ${second.attempt.problems.length - 3} more)` : '';
  return {
    ok: false,
    reason: `the ${req.schemaName} answer was still invalid after one repair round: ${shown}${more}`,
    attempts,
  };
}

/** The follow-up prompt: the original task, the previous answer, its problems, and the ask. */
export function repairPrompt(original: string, previous: Attempt): string {
  const quote =
    previous.raw.length > REPAIR_QUOTE_CHARS
      ? `${previous.raw.slice(0, REPAIR_QUOTE_CHARS)}\n[... ${previous.raw.length - REPAIR_QUOTE_CHARS} more characters cut]`
      : previous.raw;
  const listed = previous.problems.slice(0, REPAIR_MAX_PROBLEMS);
  const rest = previous.problems.length - listed.length;
  return [
    original,
    '',
    '---',
    'Your previous answer was:',
    '<previous_answer>',
    quote,
    '</previous_answer>',
    '',
    'It was rejected because of these problems:',
    ...listed.map((p) => `- ${p}`),
    ...(rest > 0 ? [`- ... and ${rest} more`] : []),
    '',
    'Answer again with a corrected object: one JSON object that matches the schema, with every problem above fixed.',
  ].join('\n');
}

/** `proposals[0].changes[1].kind: message` for each issue. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}
