import { readFileSync } from 'node:fs';
import type { Runtime } from '../compose.js';
import type { TargetConfig } from '../config/schema.js';
import type { Freeze } from '../guard/freeze.js';
import { loadPolicy } from '../guard/policy.js';
import { needsAttention } from '../loop/attention.js';
import { ACTIVE_STATES, type State } from '../loop/states.js';
import { buildDigest, type SignalDigest } from '../observe/digest.js';
import type { BreakerSnapshot } from '../propose/breaker.js';
import { selectProvider, type ProviderEnv } from '../propose/providers/index.js';
import { formatDuration } from '../util/duration.js';
import { formatLocal } from '../util/time.js';
import { readJobs, type JobState } from './jobs.js';
import { frozenAreas, targetBudget, type TargetBudget } from './target-state.js';

/** The daemon's circuit breakers by name (one per provider); the server only reads their state. */
export type BreakerMap = ReadonlyMap<string, { snapshot(): BreakerSnapshot }>;

/** What the server may ask the scheduler that runs in the same process. */
export interface SchedulerView {
  /** Its lifecycle state (for example running or draining), reported as is. */
  state(): string;
}

export interface HealthDeps {
  breakers?: BreakerMap | undefined;
  scheduler?: SchedulerView | undefined;
  /** Where provider keys are looked up (to say which proposer is in use); never echoed. */
  env: ProviderEnv;
  /** When this server started (ms since epoch, from the runtime's clock). */
  startedAt: number;
}

export interface SignalHealth {
  name: string;
  unit: string;
  role: SignalDigest['role'];
  last: SignalDigest['last'];
  lastError: SignalDigest['lastError'];
  errorStreak: number;
  stale: boolean;
  alert: SignalDigest['alert'];
}

export interface ActiveIntervention {
  id: string;
  state: State;
  area: string;
  title: string;
  commitSha: string | null;
  appliedAt: number | null;
  updatedAt: number;
}

export interface TargetHealth {
  name: string;
  activeInterventions: ActiveIntervention[];
  /** Proposals waiting for a person (or for their blocker to clear). */
  backlog: number;
  frozenAreas: Freeze[];
  /** Null when the guard policy cannot be read; `problem` says why. */
  budget: TargetBudget | null;
  problem?: string;
  signals: SignalHealth[];
}

export interface Alert {
  target: string;
  signal: string;
  threshold: string;
  value: number;
  since: number | undefined;
  heldMs: number | undefined;
}

export interface HealthSnapshot {
  /** `attention` when anything below needs a person; the reasons are in `attention`. */
  status: 'ok' | 'attention';
  attention: string[];
  /** When the snapshot was taken (ms since epoch). Every time in it is ms since epoch. */
  at: number;
  kaizen: {
    version: string;
    pid: number;
    startedAt: number;
    uptimeMs: number;
    timeZone: string;
    shadow: boolean;
    proposer: { id: string | null; why: string };
  };
  scheduler: {
    /** Null when no scheduler runs in this process (the jobs table is still reported). */
    state: string | null;
    jobs: (JobState & { overdueMs: number | null })[];
  };
  breakers: ({ name: string } & BreakerSnapshot)[];
  alerts: Alert[];
  targets: TargetHealth[];
}

/** A job this late past its next run time, with a scheduler running, needs a look. */
const OVERDUE_AFTER_MS = 5 * 60_000;
/** Error samples in a row before a failing source is worth a person's attention. */
const ERROR_STREAK_ATTENTION = 3;

/**
 * One JSON snapshot of kaizen and its targets: what `GET /health` answers. It always answers:
 * a part that cannot be read (a broken policy file, an unusable provider setting) is reported in
 * the document, never thrown.
 */
export function healthSnapshot(
  rt: Pick<Runtime, 'config' | 'store' | 'clock'>,
  deps: HealthDeps,
): HealthSnapshot {
  const now = rt.clock.now();
  const tz = rt.config.timeZone;
  const attention: string[] = [];

  const proposer = describeProposer(rt, deps.env);
  if (proposer.id === null) attention.push(`proposer: ${proposer.why}`);

  const schedulerState = deps.scheduler?.state() ?? null;
  const jobs = readJobs(rt.store.db).map((j) => {
    const late = now - j.nextRunAt;
    const overdueMs =
      schedulerState !== null && j.runningSince === null && late > OVERDUE_AFTER_MS ? late : null;
    if (overdueMs !== null) attention.push(`job ${j.key} is overdue by ${formatDuration(overdueMs)}`);
    if (j.lastStatus === 'failed' || j.lastStatus === 'interrupted') {
      attention.push(
        `job ${j.key} ${j.lastStatus} at ${formatLocal(j.lastRunAt ?? now, tz)}${j.lastError ? `: ${j.lastError}` : ''}`,
      );
    }
    return { ...j, overdueMs };
  });

  const breakers = [...(deps.breakers ?? new Map<string, { snapshot(): BreakerSnapshot }>())].map(
    ([name, b]) => ({ name, ...b.snapshot() }),
  );
  for (const b of breakers) {
    if (b.state === 'open')
      attention.push(
        `circuit breaker ${b.name} is open until ${formatLocal(b.openUntil ?? now, tz)}: the offline rules propose meanwhile`,
      );
  }

  const alerts: Alert[] = [];
  const targets = rt.config.targets.map((t) => targetHealth(rt, t, now, alerts, attention));
  // kaizen's own record: an escalation not yet resolved, a revert not on the remote, an apply
  // whose process is gone, a proposal never guarded.
  for (const item of needsAttention(rt)) attention.push(item.text);

  return {
    status: attention.length ? 'attention' : 'ok',
    attention,
    at: now,
    kaizen: {
      version: packageVersion(),
      pid: process.pid,
      startedAt: deps.startedAt,
      uptimeMs: now - deps.startedAt,
      timeZone: tz,
      shadow: rt.config.guard.shadow,
      proposer,
    },
    scheduler: { state: schedulerState, jobs },
    breakers,
    alerts,
    targets,
  };
}

function targetHealth(
  rt: Pick<Runtime, 'config' | 'store' | 'clock'>,
  target: TargetConfig,
  now: number,
  alerts: Alert[],
  attention: string[],
): TargetHealth {
  const tz = rt.config.timeZone;
  const digest = buildDigest(rt, target, { staleAfterMs: 3 * rt.config.schedule.observeMs });
  const signals = digest.signals.map((s) => {
    if (s.alert.state === 'alert' && s.last) {
      alerts.push({
        target: target.name,
        signal: s.name,
        threshold: s.alert.threshold ?? '',
        value: s.last.value,
        since: s.alert.since,
        heldMs: s.alert.heldMs,
      });
      attention.push(
        `${target.name}/${s.name} is alerting: ${s.last.value} ${s.unit} (${s.alert.threshold}) for ${formatDuration(s.alert.heldMs ?? 0)}`,
      );
    }
    if (s.errorStreak >= ERROR_STREAK_ATTENTION) {
      attention.push(
        `${target.name}/${s.name} failed ${s.errorStreak} samples in a row: ${s.lastError?.message ?? 'no message'}`,
      );
    }
    return {
      name: s.name,
      unit: s.unit,
      role: s.role,
      last: s.last,
      lastError: s.lastError,
      errorStreak: s.errorStreak,
      stale: s.stale,
      alert: s.alert,
    };
  });

  const activeInterventions = rt.store.interventions
    .list({ target: target.name, states: ACTIVE_STATES })
    .map((iv) => ({
      id: iv.id,
      state: iv.state,
      area: iv.area,
      title: iv.proposal.title,
      commitSha: iv.commitSha,
      appliedAt: iv.appliedAt,
      updatedAt: iv.updatedAt,
    }));
  const backlog = rt.store.db
    .prepare(
      `SELECT COUNT(*) FROM interventions i JOIN targets t ON t.id = i.target_id WHERE t.name = ? AND i.state = 'backlog'`,
    )
    .pluck()
    .get(target.name) as number;

  const health: TargetHealth = {
    name: target.name,
    activeInterventions,
    backlog,
    frozenAreas: [],
    budget: null,
    signals,
  };
  try {
    const policy = loadPolicy(rt.config, target);
    health.frozenAreas = frozenAreas(rt, target, policy, now);
    health.budget = targetBudget(rt, target, policy, now);
  } catch (err) {
    health.problem = `the guard policy cannot be read: ${err instanceof Error ? err.message : String(err)}`;
    attention.push(`${target.name}: ${health.problem}`);
    return health;
  }
  for (const f of health.frozenAreas) {
    attention.push(
      `${target.name}: area ${f.area} is frozen until ${formatLocal(f.until, tz)} after ${f.interventions.length} rollbacks in a row (${f.interventions.join(', ')})`,
    );
  }
  // A spent budget is a rail doing its job, not a fault: it shows in `budget`, not in `attention`.
  return health;
}

/** Which proposer runs, and why; an unusable setting is described, not thrown. */
function describeProposer(rt: Pick<Runtime, 'config'>, env: ProviderEnv): { id: string | null; why: string } {
  try {
    const s = selectProvider(rt.config.proposer, env);
    return { id: s.id, why: s.why };
  } catch (err) {
    return { id: null, why: err instanceof Error ? err.message : String(err) };
  }
}

let version: string | undefined;
/** src/server and dist/server both sit two levels below the package root. */
function packageVersion(): string {
  version ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return version;
}
