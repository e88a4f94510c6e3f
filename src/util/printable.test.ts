import { describe, expect, it } from 'vitest';
import { controlCharacter, printable, printableLine } from './printable.js';

describe('printable', () => {
  it.each([
    [
      'an ANSI colour and an OSC title',
      'ok\u001b[31mred\u001b]0;pwned\u0007',
      'ok\\u001b[31mred\\u001b]0;pwned\\u0007',
    ],
    ['a carriage return that would overwrite the line', 'approve me\rrejected', 'approve me\\rrejected'],
    ['a C1 control (CSI) some terminals obey', 'a\u009b31mb', 'a\\u009b31mb'],
    ['a bidirectional override', 'admin\u202Enimda', 'admin\\u202enimda'],
    ['DEL and a backspace', 'x\u007fy\bz', 'x\\u007fy\\bz'],
  ])('shows %s as escapes', (_name, text, shown) => {
    expect(printable(text)).toBe(shown);
  });

  it('keeps tabs, newlines and ordinary text, accents and emoji included', () => {
    const text = 'line one\n\tcafé ✓ 🚀 naïve — “quoted”';
    expect(printable(text)).toBe(text);
  });

  it('keeps JSON valid, decoding to the same text', () => {
    const value = { title: 'a\u009b\u202Eb\r' };
    const line = printable(JSON.stringify(value));

    expect(line).not.toMatch(/[\u0080-\u009f\u202a-\u202e]/);
    expect(JSON.parse(line)).toEqual(value);
  });

  it('on one line, escapes tabs and newlines too', () => {
    expect(printableLine('a\tb\nc')).toBe('a\\tb\\nc');
  });

  it('finds the first control character and where it is', () => {
    expect(controlCharacter('fine\ttext\n')).toBeUndefined();
    expect(controlCharacter('fine\ttext', true)).toEqual({ char: '\t', at: 4 });
    expect(controlCharacter('ab\u001bc')).toEqual({ char: '\u001b', at: 2 });
  });
});
