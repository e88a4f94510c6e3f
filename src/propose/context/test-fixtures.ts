import type { TargetConfig } from '../../config/schema.js';
import type { SignalDigest, TargetDigest, WindowStats } from '../../observe/digest.js';
import { Proposal, type ProposalInput } from '../proposal.js';
import type { Intervention } from '../../store/interventions.js';
import { Lesson, type LessonInput } from './lesson.js';

/** Test fixtures shared by the context tests (not a test file itself). */

export const NOW = Date.UTC(2026, 0, 5, 14, 0, 0);
export const HOUR = 3_600_000;

export function lesson(over: Partial<LessonInput> & { id: string }): Lesson {
  return Lesson.parse({
    scope: 'api',
    when: 'p95 latency stays above 500 ms for more than 10 minutes',
    prefer: 'raise the connection pool before adding caches',
    because: 'the pool is the bottleneck under load',
    falsifiable: 'true iff p95 falls below 400 ms within 30 minutes',
    source: 'human',
    status: 'active',
    created_at: '2026-01-01',
    ...over,
  });
}

function win(mean: number | null): WindowStats {
  return mean === null
    ? { n: 0, mean: null, median: null, min: null, max: null }
    : { n: 10, mean, median: mean, min: mean, max: mean };
}

export function signal(over: Partial<SignalDigest> & { name: string }): SignalDigest {
  return {
    target: 'shop',
    unit: 'ms',
    direction: 'lower_is_better',
    role: 'performance',
    last: { value: 100, t: NOW - 60_000, ageMs: 60_000 },
    lastError: null,
    errorStreak: 0,
    stale: false,
    windows: { '1h': win(100), '24h': win(90), '7d': win(80) },
    trendPerHour: 0.5,
    alert: { state: 'ok', threshold: '> 500', since: NOW - 5 * HOUR, heldMs: 5 * HOUR },
    ...over,
  };
}

export function digest(signals: SignalDigest[]): TargetDigest {
  return { target: 'shop', at: NOW, signals };
}

export function target(over: Partial<TargetConfig> = {}): TargetConfig {
  return {
    name: 'shop',
    repo: '.',
    repoPath: '/srv/shop',
    branch: 'main',
    runbooks: {},
    signals: [
      {
        name: 'p95_ms',
        unit: 'ms',
        direction: 'lower_is_better',
        role: 'performance',
        area: 'api',
        source: { kind: 'command', command: ['true'] },
      },
    ],
    ...over,
  } as TargetConfig;
}

export function intervention(
  over: Partial<Intervention> & { id: string },
  proposal: Partial<ProposalInput> = {},
): Intervention {
  const p = Proposal.parse({
    title: 'Raise the pool size',
    area: 'api',
    kind: 'config_set',
    changes: [{ kind: 'config_set', path: 'config/db.yaml', key: 'pool.size', value: 20 }],
    hypothesis: 'the pool is saturated',
    prediction: { signal: 'p95_ms', direction: 'down', magnitude: 0.3 },
    risk: 'low',
    ...proposal,
  });
  return {
    target: 'shop',
    area: p.area,
    kind: p.kind,
    state: 'validated',
    risk: 'low',
    fingerprint: 'f',
    proposal: p,
    origin: 'llm',
    createdAt: NOW - 2 * 24 * HOUR,
    updatedAt: NOW - 24 * HOUR,
    baseSha: null,
    preApplySha: null,
    commitSha: null,
    revertSha: null,
    appliedAt: null,
    windowMs: null,
    guard: null,
    applyLog: null,
    verdict: null,
    waitingReason: null,
    ...over,
  };
}
