import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWeeklyReport } from '../src/report/weekly.js';
import { reply, startFakeLlm, type FakeLlm } from './helpers/fake-llm.js';
import { buildHistory, type History } from './report-history.js';

/*
 * The next moves from a model: a real local HTTP server speaking the Anthropic wire format answers
 * the meta-review call. Its text is untrusted and must come out escaped; a failed or invalid answer
 * falls back to the deterministic ranking, and the report says why.
 */

let llm: FakeLlm;
let h: History;
const env = { ANTHROPIC_API_KEY: 'sk-ant-test-key' };

beforeAll(async () => {
  llm = await startFakeLlm();
  h = await buildHistory({
    config: {
      proposer: { provider: 'anthropic', baseUrl: llm.url, models: { review: 'claude-review-test' } },
    },
  });
}, 60_000);
afterAll(async () => {
  h?.close();
  await llm?.close();
});
afterEach(() => void llm.requests.splice(0));

const reviewCalls = () =>
  h.rt.store.db
    .prepare(
      `SELECT task, provider, model, prompt_version AS prompt, outcome FROM llm_calls WHERE task = 'meta-review' ORDER BY id`,
    )
    .all() as { task: string; provider: string; model: string; prompt: string; outcome: string }[];

describe('the weekly report with a model configured', () => {
  it('shows the model’s narrative and ranking, escaped, and records the call', async () => {
    llm.queue(
      reply.tool({
        narrative: 'Worker changes failed three times <script>alert(1)</script> and calibration drifted.',
        nextMoves: [
          { title: 'Thaw <b>worker</b> carefully', why: 'K0021, K0022 and K0023 rolled back' },
          { title: 'Watch disk_free_gb', why: 'it alerted twice with no proposal' },
        ],
      }),
    );
    const before = reviewCalls().length;

    const report = await buildWeeklyReport(h.rt, { env });

    expect(report.narrative).toMatchObject({
      mode: 'model',
      provider: 'anthropic',
      model: 'claude-review-test',
    });
    expect(report.narrative.note).toBe(
      'narrative and ranking by anthropic claude-review-test (prompt meta-review.v1)',
    );
    expect(report.html).toContain(
      'Worker changes failed three times &#60;script&#62;alert(1)&#60;/script&#62; and calibration drifted.',
    );
    expect(report.html).toContain(
      '<li><strong>Thaw &#60;b&#62;worker&#60;/b&#62; carefully</strong> — K0021, K0022 and K0023 rolled back</li>',
    );
    expect(report.html).not.toMatch(/<script|<b>worker/);
    expect(report.markdown).toContain(
      '> Worker changes failed three times &lt;script&gt;alert(1)&lt;/script&gt; and calibration drifted.',
    );
    expect(report.markdown).toContain(
      '1. **Thaw &lt;b&gt;worker&lt;/b&gt; carefully**: K0021, K0022 and K0023 rolled back',
    );
    const body = llm.requests[0]!.body as { model: string; messages: { content: string }[] };
    expect(body.model).toBe('claude-review-test');
    expect(JSON.stringify(body.messages)).toContain('K0023');
    expect(reviewCalls().slice(before)).toEqual([
      {
        task: 'meta-review',
        provider: 'anthropic',
        model: 'claude-review-test',
        prompt: 'meta-review.v1',
        outcome: 'ok',
      },
    ]);
  });

  it('falls back to the deterministic ranking when the answer is invalid twice, and says why', async () => {
    llm.queue(reply.malformed(), reply.tool({ narrative: 'no moves' }));
    const before = reviewCalls().length;

    const report = await buildWeeklyReport(h.rt, { env });

    expect(report.narrative.mode).toBe('ranking');
    expect(report.narrative.note).toMatch(
      /^deterministic ranking: the weekly_review answer was still invalid after one repair round: nextMoves: /,
    );
    expect(report.narrative.moves[0]).toMatchObject({ kind: 'escalation' });
    expect(
      reviewCalls()
        .slice(before)
        .map((c) => c.outcome),
    ).toEqual(['invalid', 'invalid']);
  });

  it('falls back to the deterministic ranking when the model cannot be reached', async () => {
    llm.queue({ type: 'error', status: 400, errorType: 'invalid_request_error', message: 'model not found' });
    const before = reviewCalls().length;

    const report = await buildWeeklyReport(h.rt, { env });

    expect(report.narrative.mode).toBe('ranking');
    expect(report.narrative.note).toMatch(
      /^deterministic ranking: the model call failed \(.*model not found.*\)$/,
    );
    expect(report.html).toContain('<p class="note">deterministic ranking: the model call failed (');
    expect(
      reviewCalls()
        .slice(before)
        .map((c) => c.outcome),
    ).toEqual(['error']);
  });
});
