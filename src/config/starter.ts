/** The commented starter config `kaizen init` writes. It must always pass validation (a test checks). */
export function starterConfig(opts: { name: string; repo: string; branch: string }): string {
  return `# kaizen.yaml: what kaizen watches and how it may act.
# Durations are written like 30s, 5m, 2h, 14d. Relative paths are relative to this file.
# Full reference: README.md, "Config reference". Check this file with: kaizen config check

dataDir: .kaizen          # SQLite store, reports
timeZone: UTC             # calendar days for budgets; nightly and weekly jobs

target:
  name: ${opts.name}
  repo: ${opts.repo}
  branch: ${opts.branch}
  # remote: origin        # push and verify each change there (omit for local commits only)
  # deploy:
  #   command: ["./deploy.sh"]
  #   timeout: 5m
  #   stabilisation: 30s
  # health:
  #   url: http://127.0.0.1:8080/health
  #   expectStatus: 200
  #   expectJson: { status: ok }
  #   attempts: 3         # this many failed probes in a row fail the deploy and revert it

# Signals: one number each, sampled every schedule.observe. A sample that cannot be taken is
# stored as an error, never as a number. Uncomment and adapt the ones your system has.
signals: []
#  - name: latency_p95_ms
#    source: { kind: http-json, url: "http://127.0.0.1:8080/health", path: latency_ms.p95 }
#    unit: ms
#    direction: lower_is_better
#    alert: { above: 500 }
#    role: performance
#  - name: errors_per_s
#    source: { kind: prometheus, url: "http://127.0.0.1:8080/metrics", metric: 'http_requests_total{status=~"5.."}', mode: rate }
#    unit: 1/s
#    direction: lower_is_better
#    alert: { above: 1 }
#  - name: error_lines
#    source: { kind: log-count, file: logs/app.log, pattern: " ERROR ", window: 5m }
#    unit: lines
#    direction: lower_is_better
#  - name: worker_lock_age_s
#    source: { kind: file-age, path: run/worker.lock }
#    unit: s
#    direction: lower_is_better
#    alert: { above: 120 }
#    role: productivity
#  - name: rss_mb
#    source: { kind: process, pidFile: run/app.pid, metric: rss_mb }
#    unit: MiB
#    direction: lower_is_better
#    role: resource
#  - name: queue_depth
#    source: { kind: command, command: ["./scripts/queue-depth.sh"], timeout: 10s }
#    unit: jobs
#    direction: lower_is_better

schedule:
  observe: 5m             # sample every signal
  propose: 1h             # and at once on an alert
  distill: "0 3 * * *"    # nightly, cron in timeZone
  metaReview: "0 6 * * 1" # weekly

retention:
  rawSamples: 14d         # then only hourly rollups remain
  rollups: 365d

guard:
  # policy: my-guards.yaml  # keys here override the shipped guards/default.yaml
  shadow: false           # true: run the whole loop except Apply

proposer:
  provider: auto          # anthropic with ANTHROPIC_API_KEY, else openai with OPENAI_API_KEY, else offline rules

validation:
  window: 60m

server:
  host: 127.0.0.1         # loopback only unless you say otherwise
  port: 7878
`;
}
