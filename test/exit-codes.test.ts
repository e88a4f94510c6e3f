import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/errors.js';

describe('exit codes', () => {
  it('are documented in the README exactly as EXIT defines them, each code once', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('**Exit codes**'));
    const documented = [...table.matchAll(/^\|\s*(\d+)\s*\|/gm)].map((m) => Number(m[1]));

    const codes = Object.values(EXIT);

    expect(new Set(codes).size).toBe(codes.length);
    expect(documented).toEqual([...codes].sort((a, b) => a - b));
  });
});
