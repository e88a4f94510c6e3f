import { stringify } from 'yaml';
import { DEMO_RULES, cacheRule } from '../propose/rules/demo-rules.js';

/** The demo's cadence, all derived from its validation window (clock time: see `kaizen demo`). */
export function demoSchedule(windowMs: number) {
  return {
    // 60 samples a window from observing alone; dense sampling doubles that while a window is open.
    observeMs: windowMs / 60,
    denseMs: windowMs / 120,
    proposeMs: windowMs / 12,
    // Above its value for a window and a quarter: by the time the rule fires (once its samples span
    // 80 % of that), the hour before the apply holds a full window of baseline points.
    cacheRuleForMs: windowMs * 1.25,
  };
}

/**
 * The kaizen.yaml the demo writes for its scratch target: one signal of every source kind, so the
 * demo shows each of them working against a real process, and the HTTP server on for the dashboard.
 */
export function demoConfig(opts: {
  baseUrl: string;
  dataDir: string;
  repo: string;
  windowMs: number;
  /** The dashboard's port (0: any free one). */
  port?: number;
}): string {
  const u = opts.baseUrl;
  const cadence = demoSchedule(opts.windowMs);
  const demoRules = DEMO_RULES.map((r) =>
    r.name === cacheRule.name ? { ...r, when: { ...r.when, for: `${cadence.cacheRuleForMs}ms` } } : r,
  );
  const rules = stringify(demoRules, { indent: 2 })
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  return `# Written by "kaizen demo" for a scratch copy of examples/demo-target.
dataDir: ${opts.dataDir}
timeZone: UTC

target:
  name: demo
  repo: ${opts.repo}
  branch: main
  # deploy.mjs reloads the running service (SIGHUP) or starts it; it fails when the service
  # will not run with the committed config.json.
  deploy: { command: ["node", "deploy.mjs"], timeout: 30s, stabilisation: 0s }
  health:
    url: ${u}/health
    expectJson: { status: ok }
    attempts: 3
    interval: 200ms
    timeout: 1s
  # Self-heal rules for the offline rules engine: a condition held for a while → a proposal.
  rules:
${rules}

signals:
  - name: latency_p50_ms
    description: median latency of the target's requests over its stats window
    source: { kind: http-json, url: "${u}/health", path: latency_ms.p50 }
    unit: ms
    direction: lower_is_better
    role: performance
  - name: latency_p95_ms
    description: 95th percentile latency of the target's requests over the last minute
    source: { kind: http-json, url: "${u}/health", path: latency_ms.p95 }
    unit: ms
    direction: lower_is_better
    alert: { above: 250 }
    role: performance
  - name: error_rate
    description: share of failed requests over the last minute
    source: { kind: http-json, url: "${u}/health", path: error_rate }
    unit: ratio
    direction: lower_is_better
    alert: { above: 0.05 }
    role: performance
  - name: errors_per_s
    source: { kind: prometheus, url: "${u}/metrics", metric: 'demo_requests_total{status="error"}', mode: rate }
    unit: 1/s
    direction: lower_is_better
  - name: jobs_per_s
    description: productivity of the background worker (alive is not the same as working)
    source: { kind: prometheus, url: "${u}/metrics", metric: demo_jobs_processed_total, mode: rate }
    unit: 1/s
    direction: higher_is_better
    role: productivity
  - name: error_log_lines
    source: { kind: log-count, file: logs/app.log, pattern: " ERROR ", window: 5m, fromStart: true }
    unit: lines
    direction: lower_is_better
  - name: worker_lock_age_s
    description: seconds since the worker last touched its lock; grows when it hangs
    source: { kind: file-age, path: run/worker.lock }
    unit: s
    direction: lower_is_better
    alert: { above: 30 }
    role: productivity
  - name: rss_mb
    source: { kind: process, pidFile: run/demo.pid, metric: rss_mb }
    unit: MiB
    direction: lower_is_better
    alert: { above: 400 }
    role: resource
  - name: commits
    description: commits on the target branch (kaizen's changes land as commits)
    source: { kind: command, command: ["git", "rev-list", "--count", "HEAD"] }
    unit: count
    direction: higher_is_better

schedule:
  observe: ${cadence.observeMs}ms
  propose: ${cadence.proposeMs}ms

# The demo shows the offline rules engine (no API key needed, none used).
proposer:
  provider: rules

validation:
  window: ${opts.windowMs}ms
  denseInterval: ${cadence.denseMs}ms

# The dashboard, on loopback; approve and reject need the token in KAIZEN_TOKEN.
server:
  port: ${opts.port ?? 0}
`;
}
