import type { Db } from './db.js';

export interface LlmCall {
  t: number;
  target: string | null;
  task: string;
  provider: string;
  model: string;
  promptVersion: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  outcome: 'ok' | 'invalid' | 'error';
  detail?: string;
  raw?: string;
}

export interface UsageRow {
  day: string;
  provider: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  failed: number;
}

/** Model calls: recorded one by one, summed per day for `kaizen usage` and the token budget. */
export class UsageStore {
  constructor(private readonly db: Db) {}

  record(call: LlmCall): void {
    this.db
      .prepare(
        `INSERT INTO llm_calls (t, target, task, provider, model, prompt_version, input_tokens, output_tokens, latency_ms, outcome, detail, raw)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        call.t,
        call.target,
        call.task,
        call.provider,
        call.model,
        call.promptVersion,
        call.inputTokens,
        call.outputTokens,
        Math.round(call.latencyMs),
        call.outcome,
        call.detail ?? null,
        call.raw ?? null,
      );
  }

  /** Tokens (in + out) a target's calls used at or after `since`. */
  tokensSince(target: string, since: number): number {
    return this.db
      .prepare(
        'SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM llm_calls WHERE target = ? AND t >= ?',
      )
      .pluck()
      .get(target, since) as number;
  }

  /** Calls and tokens per day (UTC date of `t` shifted by `offsetMs`), provider and model, newest first. */
  perDay(since: number, dayOf: (t: number) => string): UsageRow[] {
    const rows = this.db
      .prepare(
        'SELECT t, provider, model, input_tokens AS i, output_tokens AS o, outcome FROM llm_calls WHERE t >= ? ORDER BY t',
      )
      .all(since) as { t: number; provider: string; model: string; i: number; o: number; outcome: string }[];
    const byKey = new Map<string, UsageRow>();
    for (const r of rows) {
      const day = dayOf(r.t);
      const key = `${day}\u0000${r.provider}\u0000${r.model}`;
      const row = byKey.get(key) ?? {
        day,
        provider: r.provider,
        model: r.model,
        calls: 0,
        inputTokens: 0,
        outputTokens: 0,
        failed: 0,
      };
      row.calls++;
      row.inputTokens += r.i;
      row.outputTokens += r.o;
      if (r.outcome !== 'ok') row.failed++;
      byKey.set(key, row);
    }
    return [...byKey.values()].sort((a, b) =>
      a.day === b.day ? a.provider.localeCompare(b.provider) : b.day.localeCompare(a.day),
    );
  }
}
