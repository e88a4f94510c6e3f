import { describe, expect, it } from 'vitest';
import { SystemClock } from '../../clock.js';
import { KaizenError } from '../../errors.js';
import { createProvider, modelFor, selectProvider } from './index.js';

const ANT = 'sk-ant-secret-value';
const OAI = 'sk-openai-secret-value';

describe('selectProvider', () => {
  it('auto: anthropic when ANTHROPIC_API_KEY is set (even with OPENAI_API_KEY too)', () => {
    const s = selectProvider({ provider: 'auto' }, { ANTHROPIC_API_KEY: ANT, OPENAI_API_KEY: OAI });
    expect(s).toEqual({ id: 'anthropic', why: 'auto: ANTHROPIC_API_KEY is set, using anthropic' });
  });

  it('auto: openai when only OPENAI_API_KEY is set', () => {
    expect(selectProvider({ provider: 'auto' }, { OPENAI_API_KEY: OAI })).toEqual({
      id: 'openai',
      why: 'auto: OPENAI_API_KEY is set, using openai',
    });
  });

  it('auto: openai for a baseUrl (a local server) without any key', () => {
    const s = selectProvider({ provider: 'auto', baseUrl: 'http://localhost:11434/v1' }, {});
    expect(s.id).toBe('openai');
    expect(s.why).toBe(
      'auto: a baseUrl is set, using the OpenAI-compatible server at http://localhost:11434/v1 without a key',
    );
  });

  it('auto: a baseUrl wins over ANTHROPIC_API_KEY, so that key never goes to a local server', () => {
    const s = selectProvider(
      { provider: 'auto', baseUrl: 'http://127.0.0.1:8000/v1' },
      { ANTHROPIC_API_KEY: 'sk-ant-x' },
    );
    expect(s.id).toBe('openai');
  });

  it('auto: rules when nothing is set; empty and blank keys count as unset', () => {
    expect(selectProvider({ provider: 'auto' }, {}).id).toBe('rules');
    const s = selectProvider({ provider: 'auto' }, { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '  ' });
    expect(s.id).toBe('rules');
    expect(s.why).toMatch(/^auto: neither ANTHROPIC_API_KEY nor OPENAI_API_KEY is set/);
  });

  it('explicit choices', () => {
    expect(selectProvider({ provider: 'rules' }, { ANTHROPIC_API_KEY: ANT }).id).toBe('rules');
    expect(selectProvider({ provider: 'openai' }, { ANTHROPIC_API_KEY: ANT, OPENAI_API_KEY: OAI }).id).toBe(
      'openai',
    );
    expect(selectProvider({ provider: 'openai', baseUrl: 'http://127.0.0.1:8000/v1' }, {}).id).toBe('openai');
  });

  it('an explicit provider without its key is a config error, not a silent fall back', () => {
    const err = (() => {
      try {
        selectProvider({ provider: 'anthropic' }, { OPENAI_API_KEY: OAI });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(KaizenError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((err as Error).message).toMatch(/ANTHROPIC_API_KEY is not set/);
  });

  it('never puts a key in the why', () => {
    for (const provider of ['auto', 'anthropic', 'openai', 'rules'] as const) {
      const s = selectProvider({ provider }, { ANTHROPIC_API_KEY: ANT, OPENAI_API_KEY: OAI });
      expect(s.why).not.toContain(ANT);
      expect(s.why).not.toContain(OAI);
    }
  });
});

describe('createProvider', () => {
  it('builds the selected provider, none for rules', async () => {
    const clock = new SystemClock();
    expect(await createProvider({ id: 'rules', why: '' }, {}, { clock })).toBeUndefined();
    expect(
      (await createProvider({ id: 'anthropic', why: '' }, { ANTHROPIC_API_KEY: ANT }, { clock }))?.id,
    ).toBe('anthropic');
    expect(
      (await createProvider({ id: 'openai', why: '' }, {}, { clock, baseUrl: 'http://127.0.0.1:1/v1' }))?.id,
    ).toBe('openai');
  });
});

describe('modelFor', () => {
  it('uses the task’s own model, else the shared model, else the provider default', () => {
    const config = { model: 'shared', models: { distill: 'cheap' } };
    expect(modelFor(config, 'anthropic', 'distill')).toBe('cheap');
    expect(modelFor(config, 'anthropic', 'propose')).toBe('shared');
    expect(modelFor({}, 'anthropic', 'review')).toBe('claude-sonnet-5-5');
    expect(modelFor({ models: {} }, 'openai', 'propose')).toBe('gpt-4.1-mini');
  });
});
