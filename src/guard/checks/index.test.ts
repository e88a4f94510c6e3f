import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GuardCheck } from '../types.js';
import { CHECKS } from './index.js';

const DIR = import.meta.dirname;
/** Every check module: each .ts in this folder but the registry and tests. */
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.endsWith('.test.ts'))
  .sort();

const isCheck = (v: unknown): v is GuardCheck =>
  typeof v === 'object' &&
  v !== null &&
  'id' in v &&
  'describe' in v &&
  typeof (v as GuardCheck).check === 'function';

describe('the check registry', () => {
  it('lists one check per module in src/guard/checks', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(10);
    expect(CHECKS.map((c) => `${c.id}.ts`).sort()).toEqual(FILES);
  });

  it.each(FILES.map((f) => [f]))(
    '%s exports exactly one check, and it is the registered one',
    async (file) => {
      const mod = (await import(path.join(DIR, file))) as Record<string, unknown>;
      const exported = Object.values(mod).filter(isCheck);
      expect(exported).toHaveLength(1);
      expect(CHECKS).toContain(exported[0]);
      expect(exported[0]!.id).toBe(path.basename(file, '.ts'));
    },
  );

  it('ids are unique', () => {
    expect(new Set(CHECKS.map((c) => c.id)).size).toBe(CHECKS.length);
  });

  it.each(CHECKS.map((c) => [c.id, c]))('%s describes itself in one line', (_id, check) => {
    expect(check.id).toMatch(/^[a-z]+$/);
    expect(check.describe).toBe(check.describe.trim());
    expect(check.describe.length).toBeGreaterThan(20);
    expect(check.describe).not.toMatch(/\n/);
  });

  it('runs the checks that can reject before those that only defer, and path before applies', () => {
    const rejects = (c: GuardCheck) =>
      readFileSync(path.join(DIR, `${c.id}.ts`), 'utf8').includes("decision: 'reject'");
    const kinds = CHECKS.map(rejects);
    expect(kinds.indexOf(false)).toBeGreaterThan(0);
    expect(kinds.lastIndexOf(true)).toBeLessThan(kinds.indexOf(false));
    // applies reads the files; path must have vetted them first.
    expect(CHECKS.findIndex((c) => c.id === 'path')).toBeLessThan(
      CHECKS.findIndex((c) => c.id === 'applies'),
    );
    expect(CHECKS.map((c) => c.id)).toEqual([
      'path',
      'kind',
      'rollback',
      'applies',
      'git',
      'lessons',
      'repeat',
      'dedup',
      'freeze',
      'canary',
      'approval',
      'budget',
      'concurrency',
      'overlap',
    ]);
  });
});
