import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KaizenError } from '../errors.js';
import { PromptRenderError, loadPrompt, parsePrompt } from './prompt.js';

describe('loadPrompt', () => {
  it('loads the shipped proposer template at its highest version', () => {
    const p = loadPrompt('proposer');
    expect(p.version).toBe('proposer.v1');
    expect(p.name).toBe('proposer');
    expect(p.variables).toEqual(['context']);
    expect(p.system).toContain('citesLessons');
    expect(p.system).toContain('arguesAgainst');
    expect(p.system).not.toContain('{{');
    const out = p.render({ context: '## Alerts\n- none' });
    expect(out).toContain('## Alerts\n- none');
    expect(out).not.toContain('{{');
  });

  it('picks the highest version, or the one asked for', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kaizen-prompts-'));
    writeFileSync(path.join(dir, 'demo.v1.md'), 'one\n<!-- user -->\n{{a}}');
    writeFileSync(path.join(dir, 'demo.v10.md'), 'ten\n<!-- user -->\n{{a}} {{ b }}');
    writeFileSync(path.join(dir, 'demo.v2.md'), 'two\n<!-- user -->\n{{a}}');
    writeFileSync(path.join(dir, 'other.v99.md'), 'x\n<!-- user -->\n');
    expect(loadPrompt('demo', undefined, dir).version).toBe('demo.v10');
    expect(loadPrompt('demo', 2, dir).system).toBe('two');
    expect(loadPrompt('demo', undefined, dir).render({ a: '1', b: '2' })).toBe('1 2');
  });

  it('refuses a missing template or a path-like name', () => {
    expect(() => loadPrompt('nope')).toThrow(KaizenError);
    expect(() => loadPrompt('proposer', 99)).toThrow(/no prompt template proposer\.v99/);
    expect(() => loadPrompt('../package')).toThrow(KaizenError);
  });
});

describe('render', () => {
  const p = parsePrompt('t', 1, 'System.\n<!-- user -->\nA {{context}} B {{extra}}');

  it('fails on a variable left without a value', () => {
    expect(() => p.render({ context: 'x' })).toThrow(PromptRenderError);
    expect(() => p.render({ context: 'x' })).toThrow('prompt t.v1 has no value for {{extra}}');
  });

  it('does not expand placeholders inside values', () => {
    expect(p.render({ context: '{{extra}}', extra: 'e' })).toBe('A {{extra}} B e');
  });

  it('refuses a template without the user marker or with variables in the system part', () => {
    expect(() => parsePrompt('t', 1, 'no marker {{x}}')).toThrow(/<!-- user -->/);
    expect(() => parsePrompt('t', 1, '{{x}}\n<!-- user -->\n')).toThrow(/system part/);
  });
});
