import { describe, expect, it } from 'vitest';
import { compileLinear, MAX_PATTERN_CHARS, MAX_PROGRAM_SIZE, unsupportedConstruct } from './linear-regex.js';

describe('compileLinear', () => {
  it('runs RE2 patterns with the meaning a flagless JavaScript RegExp gives them', () => {
    const c = compileLinear('^\\s*pool_size:\\s*1\\b');
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.regex.test('  pool_size: 1')).toBe(true);
    expect(c.regex.test('  pool_size: 10')).toBe(false);
    expect(c.regex.test('x pool_size: 1')).toBe(false);
  });

  it('answers a catastrophic pattern over a 5,000-character line (linear time)', () => {
    const c = compileLinear('(a+)+$');
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.regex.test(`${'a'.repeat(5000)}!`)).toBe(false);
    expect(c.regex.test('a'.repeat(5000))).toBe(true);
  });

  it.each([
    ['(?=x)y', 'uses a lookahead "(?=" at character 1'],
    ['a(?!b)', 'uses a lookahead "(?!" at character 2'],
    ['(?<=a)b', 'uses a lookbehind "(?<=" at character 1'],
    ['x(?<!a)b', 'uses a lookbehind "(?<!" at character 2'],
    ['(a)\\1', 'uses a backreference "\\1" at character 4'],
    ['(?<q>a)\\k<q>', 'uses a backreference "\\k<q>" at character 8'],
  ])('refuses %s, saying what RE2 lacks', (pattern, why) => {
    const c = compileLinear(pattern);

    expect(c).toMatchObject({ ok: false });
    expect(!c.ok && c.reason).toMatch(
      new RegExp(
        `^${why.replace(/[\\()?<=!"]/g, '\\$&')}, which kaizen's linear-time regex engine \\(RE2\\) does not support: `,
      ),
    );
  });

  it('refuses other invalid patterns with RE2’s words, and patterns too long or too large', () => {
    expect(compileLinear('(')).toEqual({
      ok: false,
      reason: "is not valid in kaizen's linear-time regex engine (RE2 syntax): missing closing ): `(`",
    });
    expect(compileLinear('a'.repeat(MAX_PATTERN_CHARS + 1))).toEqual({
      ok: false,
      reason: `is ${MAX_PATTERN_CHARS + 1} characters long, more than the ${MAX_PATTERN_CHARS} a scan pattern may have`,
    });
    const large = compileLinear('(a|b){1000}');
    expect(large.ok).toBe(false);
    expect(!large.ok && large.reason).toMatch(
      new RegExp(`^compiles to \\d+ instructions, more than the ${MAX_PROGRAM_SIZE} allowed`),
    );
  });
});

describe('unsupportedConstruct', () => {
  it('does not mistake escaped or bracketed characters for a construct', () => {
    expect(unsupportedConstruct('\\(?=x')).toBeUndefined();
    expect(unsupportedConstruct('[(?=]x')).toBeUndefined();
    expect(unsupportedConstruct('[\\]1(?!]')).toBeUndefined();
    expect(unsupportedConstruct('\\\\1')).toBeUndefined(); // an escaped backslash, then 1
    expect(unsupportedConstruct('[]1]\\1')).toMatchObject({ kind: 'backreference', index: 4 });
  });
});
