import { describe, expect, it } from 'vitest';
import { proposal } from '../../test/helpers/target.js';
import { MAX_CONTENT_BYTES, Proposal, canonicalJson, fingerprint } from './proposal.js';

const KIB = 1024;

const write = (content: string) => ({
  kind: 'write',
  changes: [{ kind: 'write', path: 'notes.txt', content }],
});
const edit = (search: string, replace = 'x') => ({
  kind: 'edit',
  changes: [{ kind: 'edit', path: 'src/app.js', search, replace }],
});
const configSets = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ kind: 'config_set', path: 'config.json', key: `k${i}`, value: i }));

/** The issues of a failed parse as `path: message` lines. */
function problems(input: Record<string, unknown>): string[] {
  const r = Proposal.safeParse(input);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('Proposal schema', () => {
  it('accepts the fixture proposal and fills the defaults', () => {
    const p = Proposal.parse(proposal({ rollback: undefined }));
    expect(p).toEqual({
      title: 'Enable the cache',
      area: 'cache',
      kind: 'config_set',
      changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 }],
      hypothesis: 'Every request misses the empty cache; 200 entries hold the hot keys.',
      prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0.3, relative: true },
      risk: 'low',
      rollback: '',
      citesLessons: [],
      arguesAgainst: [],
    });
    expect(
      Proposal.parse(proposal({ kind: 'runbook', changes: [{ kind: 'runbook', action: 'restart_worker' }] }))
        .changes,
    ).toEqual([{ kind: 'runbook', action: 'restart_worker', params: {} }]);
  });

  // Each bound just inside (accepted) and just outside (refused with the message a person reads).
  it.each<[string, Record<string, unknown>, Record<string, unknown>, string]>([
    [
      'title',
      { title: 't'.repeat(200) },
      { title: 't'.repeat(201) },
      'title: Too big: expected string to have <=200 characters',
    ],
    [
      'empty title',
      { title: 't' },
      { title: '' },
      'title: Too small: expected string to have >=1 characters',
    ],
    [
      '20 changes',
      { changes: configSets(20) },
      { changes: configSets(21) },
      'changes: at most 20 changes in one proposal',
    ],
    ['no change', { changes: configSets(1) }, { changes: [] }, 'changes: expected at least one change'],
    [
      '256 KiB of content',
      write('a'.repeat(MAX_CONTENT_BYTES)),
      write('a'.repeat(MAX_CONTENT_BYTES + 1)),
      'changes.0.content: longer than 262144 characters',
    ],
    [
      '256 KiB of content in bytes, not characters',
      write('é'.repeat(MAX_CONTENT_BYTES / 2)),
      write('é'.repeat(MAX_CONTENT_BYTES / 2 + 1)),
      'changes.0.content: larger than 262144 bytes of UTF-8',
    ],
    [
      'a NUL byte in content',
      write('text'),
      write('te\u0000xt'),
      'changes.0.content: binary content (a NUL byte) is not allowed: changes must be text',
    ],
    [
      'a NUL byte in search',
      edit('retries = 3'),
      edit('retries\u0000= 3'),
      'changes.0.search: binary content (a NUL byte) is not allowed: changes must be text',
    ],
    [
      'a NUL byte in replace',
      edit('retries = 3', 'retries = 4'),
      edit('retries = 3', '\u0000'),
      'changes.0.replace: binary content (a NUL byte) is not allowed: changes must be text',
    ],
    ['empty search', edit('r'), edit(''), 'changes.0.search: search text is empty'],
    [
      '64 KiB of search',
      edit('s'.repeat(64 * KIB)),
      edit('s'.repeat(64 * KIB + 1)),
      'changes.0.search: longer than 65536 characters',
    ],
    [
      'path length',
      { changes: [{ kind: 'config_set', path: 'p'.repeat(1024), key: 'a', value: 1 }] },
      { changes: [{ kind: 'config_set', path: 'p'.repeat(1025), key: 'a', value: 1 }] },
      'changes.0.path: path is longer than 1024 characters',
    ],
    [
      'empty path',
      { changes: [{ kind: 'config_set', path: 'p', key: 'a', value: 1 }] },
      { changes: [{ kind: 'config_set', path: '', key: 'a', value: 1 }] },
      'changes.0.path: expected a path inside the target repository',
    ],
    [
      'config key',
      { changes: [{ kind: 'config_set', path: 'c.yaml', key: 'pools[0].size', value: 1 }] },
      { changes: [{ kind: 'config_set', path: 'c.yaml', key: 'pools..size', value: 1 }] },
      'changes.0.key: expected a dotted key path such as "worker.interval_ms"',
    ],
    [
      'area',
      { area: 'a'.repeat(64) },
      { area: 'Cache' },
      'area: expected an area name of lower-case letters, digits, "_" or "-"',
    ],
    [
      'hypothesis',
      { hypothesis: 'h'.repeat(4000) },
      { hypothesis: 'h'.repeat(4001) },
      'hypothesis: Too big: expected string to have <=4000 characters',
    ],
    [
      'rollback',
      { rollback: 'r'.repeat(1000) },
      { rollback: 'r'.repeat(1001) },
      'rollback: Too big: expected string to have <=1000 characters',
    ],
    [
      'backup',
      { backup: 'b'.repeat(1000) },
      { backup: 'b'.repeat(1001) },
      'backup: Too big: expected string to have <=1000 characters',
    ],
    [
      'trigger',
      { trigger: 't'.repeat(500) },
      { trigger: 't'.repeat(501) },
      'trigger: Too big: expected string to have <=500 characters',
    ],
    [
      'cited lessons',
      { citesLessons: Array.from({ length: 50 }, (_, i) => `L${i}`) },
      { citesLessons: Array.from({ length: 51 }, (_, i) => `L${i}`) },
      'citesLessons: Too big: expected array to have <=50 items',
    ],
    [
      'runbook',
      { kind: 'runbook', changes: [{ kind: 'runbook', action: 'a' }] },
      {
        kind: 'runbook',
        changes: [
          { kind: 'runbook', action: 'a' },
          { kind: 'runbook', action: 'b' },
        ],
      },
      'changes: a runbook proposal carries exactly one action',
    ],
    [
      'change kind',
      { changes: configSets(1) },
      { changes: [{ kind: 'delete', path: 'x' }] },
      'changes.0.kind: expected change kind to be one of "edit", "write", "config_set", "runbook"',
    ],
    [
      'change kind matches the proposal',
      { changes: configSets(1) },
      { changes: [...configSets(1), { kind: 'edit', path: 'a', search: 'b', replace: 'c' }] },
      `changes.1.kind: is "edit" but the proposal's kind is "config_set"`,
    ],
    [
      'magnitude',
      { prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0.001 } },
      { prediction: { signal: 'latency_ms', direction: 'down', magnitude: 0 } },
      'prediction.magnitude: Too small: expected number to be >0',
    ],
    [
      'validation window',
      { validationWindow: '30m' },
      { validationWindow: 'soon' },
      'validationWindow: expected a duration such as "30s", "5m", "2h" or "14d", got "soon"',
    ],
    ['unknown field', { title: 'x' }, { confidence: 'very' }, ': Unrecognized key: "confidence"'],
  ])('%s: the bound holds, and beyond it the message says why', (_name, inside, outside, message) => {
    expect(problems(proposal(inside))).toEqual([]);
    expect(problems(proposal(outside))).toEqual([message]);
  });

  it('reports an oversized content once, not once per unit', () => {
    expect(problems(proposal(write('é'.repeat(MAX_CONTENT_BYTES + 1))))).toEqual([
      'changes.0.content: longer than 262144 characters',
    ]);
  });
});

describe('fingerprint', () => {
  const fp = (overrides: Record<string, unknown>) => fingerprint(Proposal.parse(proposal(overrides)));
  const base = fp({});

  it('is 16 hex digits and stable', () => {
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(fp({})).toBe(base);
  });

  it.each<[string, Record<string, unknown>]>([
    ['another title', { title: 'Warm the cache' }],
    ['another hypothesis', { hypothesis: 'The cache is cold.' }],
    [
      'another prediction',
      { prediction: { signal: 'error_rate', direction: 'up', magnitude: 2, relative: false } },
    ],
    ['another declared risk', { risk: 'high' }],
    ['another rollback and backup', { rollback: 'set it back to 0', backup: 'none' }],
    [
      'the change with its keys in another order',
      { changes: [{ value: 200, key: 'cacheSize', path: 'config.json', kind: 'config_set' }] },
    ],
  ])('is the same with %s', (_name, overrides) => {
    expect(fp(overrides)).toBe(base);
  });

  it.each<[string, Record<string, unknown>]>([
    [
      'another value',
      { changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 201 }] },
    ],
    [
      'the value as a string',
      { changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: '200' }] },
    ],
    [
      'another key',
      { changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheLimit', value: 200 }] },
    ],
    [
      'another file',
      { changes: [{ kind: 'config_set', path: 'app/config.json', key: 'cacheSize', value: 200 }] },
    ],
    [
      'an extra change',
      {
        changes: [
          ...configSets(1),
          { kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 200 },
        ],
      },
    ],
  ])('differs with %s', (_name, overrides) => {
    expect(fp(overrides)).not.toBe(base);
  });

  it('does not depend on key order inside a value or on the order of the changes', () => {
    const a = {
      kind: 'config_set',
      path: 'c.json',
      key: 'pool',
      value: { size: 4, opts: { b: 1, a: [1, 2] } },
    };
    const b = { kind: 'config_set', path: 'c.json', key: 'limit', value: 3 };
    const reordered = {
      value: { opts: { a: [1, 2], b: 1 }, size: 4 },
      key: 'pool',
      kind: 'config_set',
      path: 'c.json',
    };
    expect(fp({ changes: [a, b] })).toBe(fp({ changes: [b, reordered] }));
    // …but order inside a list is meaning.
    expect(fp({ changes: [a, b] })).not.toBe(
      fp({ changes: [{ ...a, value: { size: 4, opts: { b: 1, a: [2, 1] } } }, b] }),
    );
  });
});

describe('canonicalJson', () => {
  it.each<[string, unknown, string]>([
    [
      'nested keys sorted at every depth',
      { b: { d: 1, c: [{ f: 1, e: 2 }] }, a: null },
      '{"a":null,"b":{"c":[{"e":2,"f":1}],"d":1}}',
    ],
    ['array order kept', [3, 1, 2], '[3,1,2]'],
    ['undefined properties left out', { b: undefined, a: 1 }, '{"a":1}'],
    ['keys sorted by code unit, upper case first', { b: 1, B: 2, a: 3, _: 4 }, '{"B":2,"_":4,"a":3,"b":1}'],
    ['strings escaped as JSON', { 'k"ey': 'line\nbreak' }, '{"k\\"ey":"line\\nbreak"}'],
    ['scalars', 'x', '"x"'],
    ['numbers', 1.5, '1.5'],
    ['booleans', false, 'false'],
    ['null', null, 'null'],
    ['empty containers', { a: [], b: {} }, '{"a":[],"b":{}}'],
  ])('%s', (_name, value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it('gives equal text for equal values written in another key order', () => {
    const one = { z: { y: [1, { b: 2, a: 1 }], x: 'x' }, a: true };
    const two = { a: true, z: { x: 'x', y: [1, { a: 1, b: 2 }] } };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
    expect(JSON.parse(canonicalJson(one))).toEqual(one);
  });
});

describe('fingerprint and path spelling', () => {
  it('gives ./config.json, config.json and a\\..\\config.json one fingerprint, so dedup cannot be dodged', () => {
    const make = (path: string) =>
      fingerprint({
        kind: 'config_set',
        changes: [{ kind: 'config_set', path, key: 'cacheSize', value: 1 }],
      });

    expect(make('./config.json')).toBe(make('config.json'));
    expect(make('a\\..\\config.json')).toBe(make('config.json'));
    expect(make('other.json')).not.toBe(make('config.json'));
  });
});

describe('fingerprint and area', () => {
  it("is the same for the same change under another area: the area is the proposer's own label", () => {
    const fp = (overrides: Record<string, unknown>) => fingerprint(Proposal.parse(proposal(overrides)));
    expect(fp({ area: 'perf' })).toBe(fp({}));
  });
});
