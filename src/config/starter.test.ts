import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { SOURCE_KINDS } from './schema.js';
import { starterConfig } from './starter.js';

const CONFIG_PATH = path.resolve('/tmp/kaizen-starter/kaizen.yaml');
const text = starterConfig({ name: 'shop', repo: './shop', branch: 'main' });

/** The commented-out example signals: the `#  - name:` … lines that follow `signals: []`, up to the next blank line. */
function exampleSignalLines(): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf('signals: []');
  expect(start, 'the starter has a "signals: []" line followed by commented examples').toBeGreaterThan(0);
  const examples: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('#')) break;
    examples.push(line);
  }
  return examples;
}

/** Split the example lines into one block per `#  - name:` entry. */
function exampleSignals(): string[][] {
  const blocks: string[][] = [];
  for (const line of exampleSignalLines()) {
    if (/^# {1,2}- /.test(line)) blocks.push([line]);
    else blocks.at(-1)?.push(line);
  }
  return blocks;
}

/** `#  - name: x` → `  - name: x`: drop the leading `#` so the indentation under `signals:` is kept. */
const uncomment = (line: string) => line.replace(/^#/, ' ');

describe('starterConfig', () => {
  it('parses without error', () => {
    const config = parseConfig(text, CONFIG_PATH);
    expect(config.targets).toHaveLength(1);
    expect(config.targets[0]).toMatchObject({ name: 'shop', repo: './shop', branch: 'main', signals: [] });
    expect(config.targets[0]?.repoPath).toBe(path.resolve('/tmp/kaizen-starter/shop'));
    expect(config.server.host).toBe('127.0.0.1');
  });

  it('has commented example signals covering every source kind', () => {
    const kinds = exampleSignals().map((block) => /kind: ([a-z-]+)/.exec(block.join('\n'))?.[1]);
    expect(new Set(kinds)).toEqual(new Set(SOURCE_KINDS));
  });

  it('validates with all example signals uncommented', () => {
    const withExamples = text.replace(
      ['signals: []', ...exampleSignalLines()].join('\n'),
      ['signals:', ...exampleSignalLines().map(uncomment)].join('\n'),
    );
    expect(withExamples).not.toBe(text);
    const config = parseConfig(withExamples, CONFIG_PATH);
    const signals = config.targets[0]?.signals ?? [];
    expect(signals.map((s) => s.name)).toEqual(
      exampleSignals().map((b) => /name: (\w+)/.exec(b[0] ?? '')?.[1]),
    );
    expect(signals.length).toBe(exampleSignals().length);
  });

  it.each(exampleSignals().map((block) => ({ name: /name: (\w+)/.exec(block[0] ?? '')?.[1] ?? '?', block })))(
    'validates example signal $name on its own',
    ({ name, block }) => {
      const one = text.replace(/^signals: \[\]$/m, ['signals:', ...block.map(uncomment)].join('\n'));
      const config = parseConfig(one, CONFIG_PATH);
      expect(config.targets[0]?.signals.map((s) => s.name)).toEqual([name]);
    },
  );

  it('validates with the commented target settings uncommented', () => {
    const lines = text.split('\n');
    const start = lines.indexOf('target:');
    const end = lines.indexOf('', start);
    const target = lines.slice(start, end).map((l) => l.replace(/^( {2,})# /, '$1'));
    const config = parseConfig(
      [...lines.slice(0, start), ...target, ...lines.slice(end)].join('\n'),
      CONFIG_PATH,
    );
    expect(config.targets[0]).toMatchObject({ remote: 'origin', deploy: { command: ['./deploy.sh'] } });
    expect(config.targets[0]?.health).toMatchObject({
      url: 'http://127.0.0.1:8080/health',
      expectJson: { status: 'ok' },
      attempts: 3,
    });
  });

  it('keeps its target name, repo and branch as given', () => {
    const config = parseConfig(
      starterConfig({ name: 'my_api', repo: '../api', branch: 'trunk' }),
      CONFIG_PATH,
    );
    expect(config.targets[0]).toMatchObject({ name: 'my_api', repo: '../api', branch: 'trunk' });
  });
});
