import { describe, expect, it } from 'vitest';
import { submitProposal } from '../src/loop/submit.js';
import { proposal, targetFixture } from './helpers/target.js';

describe('the target fixture, end to end', () => {
  it('applies a good change as one commit pushed to the remote, and rolls back a change that breaks health', async () => {
    const fx = await targetFixture();
    const rt = fx.runtime();

    const good = await submitProposal(rt, {
      target: 'app',
      proposal: proposal(),
      origin: 'test',
      actor: 'test',
    });
    // Judged, as the validate job would judge it: one change at a time on config.json (overlap).
    rt.store.interventions.transition(
      good.intervention.id,
      'validated',
      rt.clock.now(),
      'kaizen',
      'validated',
    );
    const bad = await submitProposal(rt, {
      target: 'app',
      proposal: proposal({
        title: 'Break it',
        area: 'health',
        changes: [{ kind: 'config_set', path: 'config.json', key: 'healthy', value: false }],
      }),
      origin: 'test',
      actor: 'test',
    });

    expect(good.intervention.state).toBe('applied');
    expect(fx.git('log', '-1', '--format=%B', good.intervention.commitSha!)).toContain(
      `Kaizen-Intervention: ${good.intervention.id}`,
    );
    expect(bad.intervention.state).toBe('rolled_back');
    expect(bad.intervention.revertSha).toBe(fx.git('rev-parse', 'HEAD'));
    expect(fx.git('ls-remote', 'origin', 'main').split('\t')[0]).toBe(bad.intervention.revertSha);
    expect(JSON.parse(fx.read('config.json'))).toMatchObject({ cacheSize: 200, healthy: true });
    expect(fx.git('status', '--porcelain')).toBe('');
    rt.close();
  });
});
