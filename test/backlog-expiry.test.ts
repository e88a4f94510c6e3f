import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { backlogItems, expireBacklog } from '../src/loop/backlog.js';
import { approve, submitProposal } from '../src/loop/submit.js';
import { proposal, targetFixture } from './helpers/target.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const runtimes: Runtime[] = [];
afterEach(() => {
  for (const rt of runtimes.splice(0)) rt.close();
});

async function waitingProposal(policy?: string) {
  const fx = await targetFixture();
  if (policy) {
    writeFileSync(path.join(fx.dir, 'policy.yaml'), policy);
  }
  const clock = new SimulatedClock('2026-11-02T09:00:00Z');
  const rt = fx.runtime(clock);
  runtimes.push(rt);
  if (policy) rt.config.guard.policy = path.join(fx.dir, 'policy.yaml');
  const medium = proposal({
    title: 'Bigger cache',
    risk: 'medium',
    changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 500 }],
  });
  const r = await submitProposal(rt, { target: 'app', proposal: medium, origin: 'a person', actor: 'ana' });
  expect(r.intervention.state).toBe('backlog');
  return { fx, rt, clock, id: r.intervention.id };
}

describe('backlog expiry', () => {
  it('rejects, as kaizen, a proposal that waited 14 days without a decision, saying how long and why', async () => {
    const { rt, clock, id } = await waitingProposal();
    expect(backlogItems(rt)[0]!.expiresAt).toBe(clock.now() + 14 * DAY);

    await clock.advance(14 * DAY - 1);
    expect(expireBacklog(rt)).toEqual([]);
    expect(rt.store.interventions.get(id).state).toBe('backlog');

    await clock.advance(1);
    const expired = expireBacklog(rt);
    expect(expired.map((iv) => [iv.id, iv.state])).toEqual([[id, 'rejected']]);
    const last = rt.store.interventions.history(id).at(-1)!;
    expect(last.actor).toBe('kaizen');
    expect(last.reason).toMatch(
      /^expired: waited 14d in the backlog without a decision \(canary: blocked on missing canary: medium risk .*\); propose it again if it still matters$/,
    );
    expect(rt.store.events.list({ kind: 'proposal_expired' })).toHaveLength(1);
    expect(backlogItems(rt)).toEqual([]);
  });

  it('restarts the wait when an approval defers it again, and follows a policy override', async () => {
    const { rt, clock, id } = await waitingProposal('backlogExpiry: 2d\n');
    await clock.advance(DAY + HOUR);
    // Approving re-guards it; still no canary, so it waits again, from now.
    const again = await approve(rt, id, 'bo');
    expect(again.intervention.state).toBe('backlog');
    await clock.advance(DAY + HOUR);
    expect(expireBacklog(rt)).toEqual([]);
    await clock.advance(DAY);
    expect(expireBacklog(rt).map((iv) => iv.id)).toEqual([id]);
  });
});
