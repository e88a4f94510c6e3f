import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { KaizenConfig } from '../../src/config/schema.js';
import { tempDir } from './temp.js';

/**
 * A real config file in a temp folder, loaded through the real loader. `overrides` are merged at
 * the top level; the single target is named `app` with repo `repo` unless given.
 */
export function writeConfig(overrides: Record<string, unknown> = {}, dir = tempDir()): KaizenConfig {
  const doc = {
    dataDir: 'data',
    target: { name: 'app', repo: '.' },
    signals: [],
    ...overrides,
  };
  const file = path.join(dir, 'kaizen.yaml');
  writeFileSync(file, stringify(doc));
  return loadConfig(file);
}

/** A signal definition reading a file-age (the cheapest real source); override any field. */
export function signal(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    source: { kind: 'file-age', path: `${name}.lock`, ifMissing: 'zero' },
    unit: 's',
    direction: 'lower_is_better',
    ...extra,
  };
}
