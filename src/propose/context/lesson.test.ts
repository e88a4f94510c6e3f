import { describe, expect, it } from 'vitest';
import { Lesson, lessonPointsAt, matchLessons, type MatchSituation } from './lesson.js';
import { lesson } from './test-fixtures.js';

const situation: MatchSituation = {
  target: 'shop',
  alertingSignals: ['p95_ms'],
  signals: ['p95_ms', 'rss_mib', 'queue_depth'],
  areas: ['api', 'worker'],
  findingLessons: ['L0005'],
};

describe('Lesson schema', () => {
  it('parses the DESIGN.md shape and normalises a YAML date', () => {
    const l = Lesson.parse({
      id: 'L0007',
      scope: 'supervisor_rules',
      when: 'scanner thread RSS exceeds 2x baseline for more than 10 minutes',
      prefer: 'SIGTERM, wait 60 s, then SIGKILL',
      because: 'an immediate kill leaves shared mmap segments open',
      falsifiable: 'true iff RSS returns to baseline within 5 minutes after the restart',
      retired_when: 'the scanner stops using mmap',
      calibrated_for: 'knowledge graph of about 10k nodes',
      source: 'human',
      evidence: ['K0003'],
      status: 'active',
      created_at: new Date('2026-05-30T00:00:00Z'),
      scan: { pattern: 'kill\\(.*SIGKILL', files: 'src/**/*.ts' },
    });
    expect(l.created_at).toBe('2026-05-30');
    expect(l.evidence).toEqual(['K0003']);
  });

  it('refuses unknown fields, a bad status and an invalid scan regex', () => {
    expect(Lesson.safeParse({ ...lesson({ id: 'L1' }), extra: 1 }).success).toBe(false);
    expect(Lesson.safeParse({ ...lesson({ id: 'L1' }), status: 'maybe' }).success).toBe(false);
    expect(Lesson.safeParse({ ...lesson({ id: 'L1' }), scan: { pattern: '(', files: '**' } }).success).toBe(
      false,
    );
  });

  it('refuses a scan rule the linear-time engine cannot run, naming the lesson and what is unsupported', () => {
    const r = Lesson.safeParse({
      ...lesson({ id: 'L0042' }),
      scan: { pattern: 'timeout(?!=)', unless: '(\\w)\\1', files: '**/*.py' },
    });

    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      `scan.pattern: lesson L0042: the pattern uses a lookahead "(?!" at character 8, which kaizen's linear-time regex engine (RE2) does not support: write what a matching line must not contain as the scan rule's "unless" pattern (a line that matches it is not a finding)`,
      `scan.unless: lesson L0042: the "unless" pattern uses a backreference "\\1" at character 5, which kaizen's linear-time regex engine (RE2) does not support: spell out the repeated text, or drop the scan rule`,
    ]);
    expect(
      Lesson.safeParse({ ...lesson({ id: 'L1' }), scan: { pattern: '(a+)+$', unless: 'b', files: '**' } })
        .success,
    ).toBe(true);
  });
});

describe('matchLessons', () => {
  it('ranks an alerting signal over a finding over an area over a scope, and skips retired lessons', () => {
    const lessons = [
      lesson({ id: 'L0001', scope: 'shop' }),
      lesson({ id: 'L0002', scope: 'billing', areas: ['api'] }),
      lesson({ id: 'L0003', scope: 'billing', signals: ['p95_ms'] }),
      lesson({ id: 'L0004', scope: 'billing' }),
      lesson({ id: 'L0005', scope: 'billing' }),
      lesson({ id: 'L0006', scope: 'api', signals: ['p95_ms'], status: 'retired' }),
      lesson({ id: 'L0008', scope: 'billing', signals: ['rss_mib'] }),
    ];
    const ranked = matchLessons(lessons, situation);
    expect(ranked.map((m) => [m.lesson.id, m.tier])).toEqual([
      ['L0003', 4],
      ['L0005', 3],
      ['L0002', 2],
      ['L0008', 2],
      ['L0001', 1],
    ]);
    expect(ranked[0]!.reasons).toEqual(['alerting signal p95_ms']);
    expect(ranked[3]!.reasons).toEqual(['signal rss_mib']);
    expect(ranked[4]!.reasons).toEqual(['scope target shop']);
  });

  it('prefers more reasons within a tier, then the id, whatever the input order', () => {
    const a = lesson({ id: 'L0020', scope: 'api', areas: ['api'] });
    const b = lesson({ id: 'L0010', scope: 'billing', areas: ['worker'] });
    const c = lesson({ id: 'L0030', scope: 'billing', areas: ['api'] });
    const ids = (ls: Lesson[]) => matchLessons(ls, situation).map((m) => m.lesson.id);
    expect(ids([a, b, c])).toEqual(['L0020', 'L0010', 'L0030']);
    expect(ids([c, b, a])).toEqual(['L0020', 'L0010', 'L0030']);
  });

  it('matches a wildcard scope and a scope naming a signal', () => {
    const ranked = matchLessons(
      [
        lesson({ id: 'L1', scope: '*' }),
        lesson({ id: 'L2', scope: 'queue_depth' }),
        lesson({ id: 'L3', scope: 'x' }),
      ],
      situation,
    );
    expect(ranked.map((m) => m.lesson.id)).toEqual(['L1', 'L2']);
  });

  it('tells which files a scan rule points at', () => {
    const l = lesson({ id: 'L1', scan: { pattern: 'pool', files: 'config/**/*.yaml' } });
    expect(lessonPointsAt(l, 'config/db.yaml')).toBe(true);
    expect(lessonPointsAt(l, 'src/db.ts')).toBe(false);
    expect(lessonPointsAt(lesson({ id: 'L2' }), 'config/db.yaml')).toBe(false);
  });
});
