import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SOURCE_KINDS } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import { SOURCES, sourceFor } from './index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Modules in this folder that are not sources themselves. */
const NOT_SOURCES = new Set(['index.ts', 'types.ts', 'prometheus-text.ts', 'support.ts']);

describe('source registry', () => {
  it('lists every source file in this folder, under the kind named like the file', () => {
    const files = fs
      .readdirSync(here)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_SOURCES.has(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect([...SOURCES.keys()].sort()).toEqual(files);
  });

  it('covers every kind the config schema accepts, each with a description', () => {
    expect([...SOURCES.keys()].sort()).toEqual([...SOURCE_KINDS].sort());
    for (const [kind, source] of SOURCES) {
      expect(source.kind).toBe(kind);
      expect(source.describe.length).toBeGreaterThan(10);
    }
  });

  it('finds a source by kind', () => {
    expect(sourceFor('log-count')).toBe(SOURCES.get('log-count'));
  });

  it('names the known kinds when the kind is unknown', () => {
    expect(() => sourceFor('nope')).toThrow(UsageError);
    expect(() => sourceFor('nope')).toThrow(
      'unknown source kind "nope"; known kinds: command, file-age, http-json, log-count, process, prometheus',
    );
  });
});
