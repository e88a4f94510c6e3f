import { describe, expect, it } from 'vitest';
import { buildContext, type ContextInput } from './builder.js';
import { HOUR, NOW, digest, intervention, lesson, signal, target } from './test-fixtures.js';
import { estimateTokens } from './tokens.js';

const FAKE_KEY = 'sk-ant-api03-PLANTEDfakeKEY0123456789abcdefXYZ';
const ENV_SECRET = 'hunter2-env-value';

function input(over: Partial<ContextInput> = {}): ContextInput {
  return {
    target: target({
      runbooks: {
        restart_worker: { command: ['x'], inverse: ['y'], timeoutMs: 1000 },
      } as unknown as ContextInput['target']['runbooks'],
    }),
    digest: digest([
      signal({ name: 'queue_depth', unit: 'count', role: 'productivity', alert: { state: 'no_threshold' } }),
      signal({
        name: 'p95_ms',
        area: 'api',
        last: { value: 812.345, t: NOW - 120_000, ageMs: 120_000 },
        alert: { state: 'alert', threshold: '> 500', since: NOW - 2.25 * HOUR, heldMs: 2.25 * HOUR },
        trendPerHour: 12.5,
      }),
      signal({
        name: 'errors',
        unit: 'ratio',
        stale: true,
        errorStreak: 3,
        lastError: { message: `fetch failed: 401 with key ${FAKE_KEY}`, t: NOW - 60_000 },
      }),
    ]),
    lessons: [
      lesson({ id: 'L0001', scope: 'shop' }),
      lesson({ id: 'L0002', scope: 'other', signals: ['p95_ms'], calibrated_for: '10 rps' }),
      lesson({ id: 'L0003', scope: 'other', scan: { pattern: 'pool', files: 'config/*.yaml' } }),
      lesson({ id: 'L0004', scope: 'api', status: 'retired' }),
    ],
    interventions: [
      intervention({ id: 'K0001', state: 'validated', createdAt: NOW - 3 * HOUR }),
      intervention(
        {
          id: 'K0002',
          state: 'reverted',
          createdAt: NOW - 30 * HOUR,
          verdict: {
            outcome: 'reverted',
            rule: 'opposite_effect',
            reason: 'p95_ms rose 12% (significant)',
            actual: { magnitude: 0.12, direction: 'up', better: false },
          },
        },
        { title: 'Shrink the cache', citesLessons: ['L0001'] },
      ),
      intervention({ id: 'K0003', state: 'proposed', createdAt: NOW - HOUR }),
    ],
    frozenAreas: [{ area: 'db', until: NOW + 10 * HOUR, interventions: ['K0007', 'K0006', 'K0005'] }],
    budget: { used: 2, limit: 5 },
    findings: [
      { lesson: 'L0003', file: 'config/db.yaml', line: 3, text: '  pool: 1' },
      { lesson: 'L0003', file: '.env', line: 1, text: `ANTHROPIC_API_KEY=${FAKE_KEY}` },
    ],
    files: [
      { path: 'src/app.ts', excerpt: 'export const x = 1;' },
      {
        path: 'config/db.yaml',
        excerpt: `db:\n  pool: 1\n  password: ${ENV_SECRET}\n  api_key: ${FAKE_KEY}\n`,
      },
      { path: '.env', excerpt: `ANTHROPIC_API_KEY=${FAKE_KEY}` },
      { path: 'secrets/prod.json' },
      { path: '../outside.txt' },
      { path: 'README.md' },
    ],
    blockedPaths: ['**/.env', '**/secrets/**'],
    tokenBudget: 16000,
    now: NOW,
    env: { DB_PASSWORD: ENV_SECRET },
    ...over,
  };
}

describe('buildContext', () => {
  it('renders every section in priority order', () => {
    const ctx = buildContext(input());
    expect(ctx.sections.map((s) => s.name)).toEqual([
      'alerts',
      'signals',
      'guards',
      'lessons',
      'interventions',
      'findings',
      'files',
    ]);
    expect(ctx.sections.every((s) => s.trimmed === 0)).toBe(true);
    expect(ctx.tokens).toBe(estimateTokens(ctx.text));
    expect(ctx.tokens).toBe(
      ctx.sections.reduce((a, s) => a + s.tokens, 0) + estimateTokens(ctx.text.split('\n')[0]! + '\n'),
    );
    expect(ctx.text).toMatchSnapshot();
  });

  it('shows alerts with how long they held, and signals alerting first', () => {
    const { text } = buildContext(input());
    expect(text).toContain(
      '- p95_ms = 812.3 ms, threshold > 500, held 2h15m (since 2026-01-05T11:45:00Z) [area api]',
    );
    const signals = text.slice(text.indexOf('## Signals'), text.indexOf('## Guards'));
    const order = [...signals.matchAll(/^- (\w+)/gm)].map((m) => m[1]);
    expect(order).toEqual(['p95_ms', 'errors', 'queue_depth']);
    expect(signals).toContain('ALERT > 500 for 2h15m');
    expect(signals).toContain('STALE | 3 errors in a row');
  });

  it('never lets a planted key, an env secret or a blocked file reach the text', () => {
    const { text } = buildContext(input());
    expect(text).not.toContain(FAKE_KEY);
    expect(text).not.toContain('PLANTEDfakeKEY');
    expect(text).not.toContain(ENV_SECRET);
    expect(text).not.toContain('.env');
    expect(text).not.toContain('secrets/prod.json');
    expect(text).not.toContain('outside.txt');
    expect(text).toContain('password: [REDACTED]');
  });

  it('ranks lessons, leaves retired ones out, and reports the kept ids', () => {
    const ctx = buildContext(input());
    expect(ctx.lessons).toEqual(['L0002', 'L0003', 'L0001']);
    expect(ctx.text).toContain('- L0002 (matched: alerting signal p95_ms) scope other, source human');
    expect(ctx.text).toContain('  calibrated for: 10 rps');
    expect(ctx.text).not.toContain('L0004');
  });

  it('lists failed interventions first, with predicted against actual', () => {
    const { text } = buildContext(input());
    const ids = [...text.matchAll(/^- (K\d+) /gm)].map((m) => m[1]);
    expect(ids).toEqual(['K0002', 'K0003', 'K0001']);
    expect(text).toContain(
      '- K0002 reverted (opposite_effect), 1d6h ago, area api, config_set: Shrink the cache',
    );
    expect(text).toContain('  predicted p95_ms down 30% → actual up 12% (worse)');
  });

  it('puts files that findings and lessons point at first', () => {
    const { text } = buildContext(input());
    const files = text.slice(text.indexOf('## Files'));
    expect([...files.matchAll(/^- (\S+)/gm)].map((m) => m[1])).toEqual([
      'config/db.yaml',
      'README.md',
      'src/app.ts',
    ]);
    expect(files).toContain('- config/db.yaml (finding L0003 line 3; lesson L0003)');
  });

  it('is deterministic whatever the input order', () => {
    const a = input();
    const b = input({
      lessons: [...a.lessons].reverse(),
      interventions: [...a.interventions].reverse(),
      findings: [...a.findings].reverse(),
      files: [...a.files].reverse(),
    });
    expect(buildContext(b).text).toBe(buildContext(a).text);
    expect(buildContext(a)).toEqual(buildContext(a));
  });

  it('drops whole items from the lowest-priority sections first when over budget', () => {
    const full = buildContext(input());
    const ctx = buildContext(input({ tokenBudget: full.tokens - 1 }));
    expect(ctx.tokens).toBeLessThanOrEqual(full.tokens - 1);
    const by = Object.fromEntries(ctx.sections.map((s) => [s.name, s]));
    expect(by.files).toMatchObject({ items: 2, trimmed: 1 });
    for (const s of ctx.sections.filter((s) => s.name !== 'files')) expect(s.trimmed).toBe(0);
    expect(ctx.text).toContain(
      '- README.md\n- (1 more lower-ranked item left out to fit the token budget)\n',
    );
    expect(ctx.text).not.toContain('src/app.ts');
  });

  it('with a tiny budget keeps only the highest-priority items, never cutting one', () => {
    const full = buildContext(input());
    const floor = buildContext(input({ tokenBudget: 1 })).tokens;
    const budget = floor + 60;
    const ctx = buildContext(input({ tokenBudget: budget }));
    expect(ctx.tokens).toBeLessThanOrEqual(budget);
    const by = Object.fromEntries(ctx.sections.map((s) => [s.name, s]));
    expect(by.alerts).toMatchObject({ items: 1, trimmed: 0 });
    for (const name of ['guards', 'lessons', 'interventions', 'findings', 'files']) {
      expect(by[name]!.items).toBe(0);
      expect(by[name]!.trimmed).toBeGreaterThan(0);
    }
    expect(ctx.lessons).toEqual([]);
    // Sections are emptied strictly from the bottom: below the first trimmed section, nothing is kept.
    const firstTrimmed = ctx.sections.findIndex((s) => s.trimmed > 0);
    expect(ctx.sections.slice(firstTrimmed + 1).every((s) => s.items === 0)).toBe(true);
    expect(ctx.sections.slice(0, firstTrimmed).every((s) => s.trimmed === 0)).toBe(true);
    // Every kept line is a line of the full context: nothing was cut mid-item.
    const fullLines = new Set(full.text.split('\n'));
    for (const line of ctx.text.split('\n')) {
      if (/left out to fit the token budget/.test(line)) continue;
      expect(fullLines.has(line)).toBe(true);
    }
    expect(ctx.text).toContain('- (3 items left out to fit the token budget)');
  });

  it('exceeds a budget smaller than the headings by their cost only', () => {
    const ctx = buildContext(input({ tokenBudget: 1 }));
    expect(ctx.sections.every((s) => s.items === 0)).toBe(true);
    expect(ctx.text.split('\n').filter((l) => l.startsWith('## '))).toHaveLength(7);
  });

  it('says "none" for an empty section', () => {
    const ctx = buildContext(input({ findings: [], interventions: [] }));
    expect(ctx.text).toContain('## Scan findings (lesson rule hits in the code)\n- none\n');
  });

  it('shortens a huge excerpt at a line boundary and fences backticks safely', () => {
    const excerpt = Array.from({ length: 500 }, (_, i) => `line ${i} \`\`\` code`).join('\n');
    const { text } = buildContext(input({ files: [{ path: 'big.md', excerpt }], findings: [] }));
    expect(text).toContain('more lines not shown)');
    expect(text).toContain('\n````\nline 0');
  });
});
