import { describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.js';
import type { LlmCall } from '../src/store/usage.js';
import { SimulatedClock } from '../src/clock.js';
import { runCli, runCliAt } from './helpers/cli.js';
import { writeConfig } from './helpers/config.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

const call = (t: number, extra: Partial<LlmCall> = {}): LlmCall => ({
  t,
  target: 'app',
  task: 'proposer',
  provider: 'anthropic',
  model: 'claude-x',
  promptVersion: 'proposer.v1',
  inputTokens: 1000,
  outputTokens: 200,
  latencyMs: 1500,
  outcome: 'ok',
  ...extra,
});

describe('model usage', () => {
  it('sums tokens per target since a time, for the daily token budget', () => {
    const config = writeConfig();
    const store = openStore(config.dataDir);
    store.usage.record(call(T0 - DAY));
    store.usage.record(call(T0));
    store.usage.record(call(T0 + 1000, { target: 'other' }));

    expect(store.usage.tokensSince('app', T0)).toBe(1200);
    expect(store.usage.tokensSince('app', T0 - DAY)).toBe(2400);
    expect(store.usage.tokensSince('nobody', 0)).toBe(0);
    store.close();
  });

  it('kaizen usage prints calls, failures and tokens per day, provider and model', async () => {
    const config = writeConfig();
    const store = openStore(config.dataDir);
    const now = T0;
    store.usage.record(call(now - 1000));
    store.usage.record(
      call(now - 500, {
        outcome: 'invalid',
        raw: '{"not":"a proposal"}',
        detail: 'proposals: expected a list',
      }),
    );
    store.usage.record(
      call(now - 400, { provider: 'openai', model: 'gpt-x', inputTokens: 10, outputTokens: 5 }),
    );
    store.close();

    const clock = new SimulatedClock(T0);
    const table = await runCliAt(clock, 'usage', '--config', config.configPath);
    const json = await runCliAt(clock, 'usage', '--config', config.configPath, '--json');

    expect(table.code).toBe(0);
    expect(table.out).toMatch(/anthropic\s+claude-x\s+2\s+1\s+2000\s+400/);
    expect(table.out).toMatch(/openai\s+gpt-x\s+1\s+0\s+10\s+5/);
    expect(JSON.parse(json.out)).toHaveLength(2);
  });

  it('says so when there were no model calls, and refuses a bad --since', async () => {
    const config = writeConfig();

    const empty = await runCli('usage', '--config', config.configPath);
    const bad = await runCli('usage', '--since', 'forever', '--config', config.configPath);

    expect(empty.out).toBe('no model calls in the last 7d (the offline rules engine makes none)\n');
    expect(bad.code).toBe(64);
    expect(bad.err).toBe('kaizen: --since "forever": expected a duration such as 7d or 30d\n');
  });
});
