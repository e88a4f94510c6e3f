import { describe, expect, it } from 'vitest';
import { estimateTokens } from './tokens.js';

describe('estimateTokens', () => {
  it('counts words, numbers and punctuation', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('hello world')).toBe(2);
    expect(estimateTokens('internationalisation')).toBe(5);
    expect(estimateTokens('1234567')).toBe(3);
    expect(estimateTokens('a, b.')).toBe(4);
    expect(estimateTokens('line\nline')).toBe(3);
  });

  it('is in the range of chars/4 for prose', () => {
    const prose =
      'The scanner thread leaks memory when the knowledge graph grows past ten thousand nodes; restart it gracefully.';
    const est = estimateTokens(prose);
    expect(est).toBeGreaterThan(prose.length / 6);
    expect(est).toBeLessThan(prose.length / 2.5);
  });

  it('is additive over lines', () => {
    const a = '- p95_ms [ms]: last 812 | trend +1.5/h';
    const b = '  when: RSS > 2x baseline';
    expect(estimateTokens(`${a}\n${b}\n`)).toBe(estimateTokens(`${a}\n`) + estimateTokens(`${b}\n`));
  });
});
