import { describe, expect, it, onTestFinished } from 'vitest';
import { writeConfig } from '../../test/helpers/config.js';
import { proposal } from '../../test/helpers/target.js';
import { Proposal, fingerprint } from '../propose/proposal.js';
import { openStore, type Store } from './index.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

/** A real store with interventions K0001 and K0002 to hang intents on. */
function setup(): { store: Store; dataDir: string } {
  const config = writeConfig();
  const store = openStore(config.dataDir, { now: T0 });
  onTestFinished(() => store.close());
  store.catalog.sync(config.targets[0]!, T0);
  const p = Proposal.parse(proposal());
  for (let i = 0; i < 2; i++) {
    store.interventions.create(
      {
        target: 'app',
        proposal: p,
        fingerprint: fingerprint(p),
        origin: 'rules',
        baseSha: null,
        actor: 'kaizen',
        reason: 'test',
      },
      T0,
    );
  }
  return { store, dataDir: config.dataDir };
}

describe('IntentStore', () => {
  it('begin writes an open intent; finish closes it and merges its data', () => {
    const { store } = setup();

    store.intents.begin('K0001', 'commit', T0 + 1, { preApplySha: 'aaa' });
    expect(store.intents.get('K0001', 'commit')).toEqual({
      step: 'commit',
      startedAt: T0 + 1,
      finishedAt: null,
      data: { preApplySha: 'aaa' },
    });

    store.intents.finish('K0001', 'commit', T0 + 2, { commitSha: 'bbb' });
    expect(store.intents.get('K0001', 'commit')).toEqual({
      step: 'commit',
      startedAt: T0 + 1,
      finishedAt: T0 + 2,
      data: { preApplySha: 'aaa', commitSha: 'bbb' },
    });
  });

  it('data defaults to an empty object', () => {
    const { store } = setup();
    store.intents.begin('K0001', 'deploy', T0);
    store.intents.finish('K0001', 'deploy', T0 + 5);
    expect(store.intents.get('K0001', 'deploy')).toEqual({
      step: 'deploy',
      startedAt: T0,
      finishedAt: T0 + 5,
      data: {},
    });
  });

  it('begin of a step already there merges the data, takes the new start and reopens it', () => {
    const { store } = setup();
    store.intents.begin('K0001', 'deploy', T0, {
      attempt: 1,
      command: ['node', 'deploy.js'],
      env: { A: '1', B: '2' },
    });
    store.intents.finish('K0001', 'deploy', T0 + 10, { exitCode: 1 });

    store.intents.begin('K0001', 'deploy', T0 + 20, { attempt: 2, env: { B: '3' }, exitCode: null });

    expect(store.intents.get('K0001', 'deploy')).toEqual({
      step: 'deploy',
      startedAt: T0 + 20,
      finishedAt: null,
      // JSON merge patch: new keys win, nested objects merge, null removes a key.
      data: { attempt: 2, command: ['node', 'deploy.js'], env: { A: '1', B: '3' } },
    });
    expect(store.intents.list('K0001')).toHaveLength(1);
  });

  it('lists an intervention’s steps in the order they started, and only its own', () => {
    const { store } = setup();
    store.intents.begin('K0001', 'write', T0 + 1);
    store.intents.begin('K0001', 'commit', T0 + 2);
    store.intents.begin('K0002', 'write', T0 + 3, { other: true });
    store.intents.begin('K0001', 'deploy', T0 + 2); // same start as commit: written later, listed later

    expect(store.intents.list('K0001').map((i) => i.step)).toEqual(['write', 'commit', 'deploy']);
    expect(store.intents.list('K0002')).toEqual([
      { step: 'write', startedAt: T0 + 3, finishedAt: null, data: { other: true } },
    ]);

    // Beginning a step again moves it to its new start.
    store.intents.begin('K0001', 'write', T0 + 9);
    expect(store.intents.list('K0001').map((i) => i.step)).toEqual(['commit', 'deploy', 'write']);
  });

  it('an unknown step or intervention has no intent', () => {
    const { store } = setup();
    store.intents.begin('K0001', 'write', T0);
    expect(store.intents.get('K0001', 'rollback')).toBeUndefined();
    expect(store.intents.get('K0002', 'write')).toBeUndefined();
    expect(store.intents.list('K0042')).toEqual([]);
  });

  it('refuses an intent for an intervention that does not exist', () => {
    const { store } = setup();
    expect(() => store.intents.begin('K0042', 'write', T0)).toThrow('FOREIGN KEY constraint failed');
  });

  it('survives reopening the file: a begun, unfinished step is still open', () => {
    const { store, dataDir } = setup();
    store.intents.begin('K0001', 'commit', T0, { preApplySha: 'aaa' });
    store.intents.begin('K0001', 'write', T0 - 1);
    store.intents.finish('K0001', 'write', T0 - 1 + 1);
    store.close();

    const again = openStore(dataDir);
    onTestFinished(() => again.close());
    expect(again.intents.list('K0001')).toEqual([
      { step: 'write', startedAt: T0 - 1, finishedAt: T0, data: {} },
      { step: 'commit', startedAt: T0, finishedAt: null, data: { preApplySha: 'aaa' } },
    ]);
  });
});
