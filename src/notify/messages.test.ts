import { describe, expect, it } from 'vitest';
import type { EventRow } from '../store/events.js';
import { driftMessage, freezeMessage, rollbackMessage, type MessageContext } from './messages.js';

const ctx: MessageContext = { timeZone: 'Europe/Berlin', dashboardUrl: undefined };
const AT = Date.UTC(2026, 0, 5, 12, 0, 0);

const event = (
  kind: string,
  data: Record<string, unknown>,
  interventionId: string | null = 'K0009',
): EventRow => ({
  id: 7,
  t: AT,
  kind,
  target: 'app',
  interventionId,
  data,
});

describe('messages from events', () => {
  it('still says something useful about a rollback event with no data and no intervention left', () => {
    const draft = rollbackMessage(event('rolled_back', {}), undefined, ctx);

    expect(draft.title).toBe('[app] Rolled back K0009 "K0009": rollback');
    expect(draft.severity).toBe('critical');
    expect(draft.summary).toBe(
      'rollback. kaizen rolled it back. The target is STILL UNHEALTHY after the rollback: a person is needed.',
    );
    expect(draft.incident).toMatchObject({
      commitSha: null,
      rolledBackTo: null,
      timeToDetectMs: null,
      timeToRollbackMs: null,
      probe: [],
    });
    expect(draft.facts).toContainEqual({ label: 'Time to detect', value: 'unknown' });
  });

  it('ignores fields of the wrong type instead of failing', () => {
    const draft = rollbackMessage(
      event('rolled_back', { failure: 42, healthyAfter: 'yes', probe: 'none', timeToDetectMs: 1500 }),
      undefined,
      ctx,
    );

    expect(draft.incident).toMatchObject({
      failure: 'rollback',
      healthyAfter: false,
      probe: [],
      timeToDetectMs: 1500,
    });
    expect(draft.facts).toContainEqual({ label: 'Time to detect', value: '1.5s' });
  });

  it('shows times in the configured time zone', () => {
    const until = AT + 24 * 3_600_000;
    const draft = freezeMessage(
      event('area_frozen', { area: 'cache', interventions: ['K0009', 'K0008', 'K0007'], since: AT, until }),
      ctx,
    );

    expect(draft.title).toBe('[app] Area "cache" frozen until 2026-01-06 13:00 Europe/Berlin');
    expect(draft.next).toBe('kaizen show K0009');
  });

  it('lists the commits of a bypass finding and says how many more there were', () => {
    const draft = driftMessage(
      event(
        'drift',
        {
          source: 'scan',
          finding: 'bypass',
          summary: '203 commits on main …',
          commits: [{ sha: 'a'.repeat(40), subject: 'one' }],
          more: 202,
        },
        null,
      ),
      undefined,
    );

    expect(draft.title).toBe('[app] Drift: commits that bypassed kaizen');
    expect(draft.output).toEqual([
      { label: 'Commits without a Kaizen-Intervention trailer', text: 'aaaaaaa one\n… and 202 more' },
    ]);
  });
});
