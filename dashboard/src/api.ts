import { credentials } from './session.js';

/*
 * The kaizen JSON API as the dashboard reads it. The types name only the fields the pages use:
 * the bundle must not pull in server modules, and test/dashboard.test.ts drives these pages
 * against the real server, which pins the contract.
 */

export type State =
  | 'proposed'
  | 'rejected'
  | 'backlog'
  | 'applying'
  | 'failed'
  | 'rolled_back'
  | 'applied'
  | 'validated'
  | 'no_effect'
  | 'reverted'
  | 'inconclusive';

/** Every state, in the order the state machine reaches them. */
export const STATES: readonly State[] = [
  'proposed',
  'backlog',
  'applying',
  'applied',
  'validated',
  'no_effect',
  'inconclusive',
  'reverted',
  'rolled_back',
  'failed',
  'rejected',
];

/** States from which a person may still revert the commit. */
export const REVERTIBLE: readonly State[] = ['applied', 'validated', 'no_effect', 'inconclusive'];
/** States that undid the change. */
export const UNDONE: readonly State[] = ['reverted', 'rolled_back'];

export interface InterventionSummary {
  id: string;
  target: string;
  area: string;
  kind: string;
  state: State;
  risk: string;
  title: string;
  origin: string;
  createdAt: number;
  updatedAt: number;
  appliedAt: number | null;
  commitSha: string | null;
  revertSha: string | null;
  waitingReason: string | null;
  verdict: string | null;
}

export interface Prediction {
  signal: string;
  direction: 'up' | 'down';
  magnitude: number;
  relative: boolean;
}

/** One change of a proposal; the fields beyond `kind` depend on it. */
export interface Change {
  kind: 'edit' | 'write' | 'config_set' | 'runbook';
  path?: string;
  search?: string;
  replace?: string;
  content?: string;
  key?: string;
  value?: unknown;
  action?: string;
  params?: Record<string, string>;
}

export interface CheckResult {
  check: string;
  decision: string;
  reason: string;
}

export interface Transition {
  from: State | null;
  to: State;
  at: number;
  actor: string;
  reason: string;
}

export interface EventRow {
  id: number;
  t: number;
  kind: string;
  data: Record<string, unknown>;
}

export interface Intervention extends Omit<InterventionSummary, 'title' | 'verdict'> {
  preApplySha: string | null;
  baseSha: string | null;
  proposal: {
    title: string;
    hypothesis: string;
    changes: Change[];
    prediction: Prediction;
    rollback: string;
    trigger?: string;
  };
  guard: { decision?: string; reasons?: string[]; checks?: CheckResult[] } | null;
}

export interface InterventionDetail {
  intervention: Intervention;
  history: Transition[];
  events: EventRow[];
  chain: {
    trigger: string | null;
    diagnosis: string;
    action: {
      title: string;
      kind: string;
      area: string;
      changes: number;
      guard: string | null;
      commitSha: string | null;
      revertSha: string | null;
    };
    prediction: Prediction;
    outcome: { state: State; verdict: string | null; reason: string | null };
    lessons: { cited: string[]; arguedAgainst: { lesson: string; why: string }[]; learned: string[] };
  };
}

export interface BacklogItem {
  id: string;
  target: string;
  area: string;
  title: string;
  risk: string;
  waitingSince: number;
  expiresAt: number;
  expired: boolean;
  why: string;
}

/**
 * What approve, reject and revert answer: the intervention now; approve adds the guard's second
 * look and the apply, if it ran.
 */
export interface ActionResult {
  intervention: Intervention;
  guard?: { decision: string; reasons?: string[] };
  apply?: { outcome: string; reason?: string };
}

export interface Lesson {
  id: string;
  scope: string;
  when: string;
  prefer: string;
  because: string;
  falsifiable: string;
  retired_when?: string;
  calibrated_for?: string;
  source: string;
  evidence: string[];
  status: 'active' | 'retired';
  created_at: string;
  retired_at?: string;
  retired_why?: string;
  areas?: string[];
  signals?: string[];
  file: string;
  origin: string;
}

export interface LessonDetail extends Lesson {
  citations: { intervention: string; state: string; how: 'cited' | 'argued_against'; why?: string }[];
}

export interface SignalDigest {
  target: string;
  name: string;
  unit: string;
  direction: string;
  role: string;
  last: { value: number; t: number; ageMs: number } | null;
  lastError: { message: string; t: number } | null;
  errorStreak: number;
  stale: boolean;
  trendPerHour: number | null;
  alert: { state: string; threshold?: string };
}

export interface SignalSeries {
  target: string;
  signal: string;
  unit: string;
  since: number;
  points: { t: number; value: number | null; error: string | null }[];
}

/** An error answer of the API, with the server's message (written for people) and its code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Call the API: GET, or POST `post` as JSON. The token goes with decisions, and with reads once the
 * server has asked for it (beyond loopback). On a 401 the caller shows the server's message, then
 * calls `tokenRefused` so the form asks again.
 */
export async function api<T>(path: string, post?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const { token, readsNeedToken } = credentials();
  if (token && (post !== undefined || readsNeedToken)) headers.authorization = `Bearer ${token}`;
  if (post !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: post === undefined ? 'GET' : 'POST',
      headers,
      ...(post !== undefined ? { body: JSON.stringify(post) } : {}),
    });
  } catch (err) {
    throw new ApiError(0, 'network', `kaizen did not answer (${String(err)}): is the daemon running?`);
  }
  const body = (await res.json().catch(() => undefined)) as
    { error?: { code?: string; message?: string } } | undefined;
  if (!res.ok) {
    throw new ApiError(
      res.status,
      body?.error?.code ?? 'unknown',
      body?.error?.message ?? `${res.status} ${res.statusText} from ${path}`,
    );
  }
  return body as T;
}

/** `/api/interventions/K0007`: path segments are encoded, whatever the id holds. */
export const apiPath = (...segments: string[]): string =>
  `/api/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
