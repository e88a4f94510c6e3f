#!/usr/bin/env node
// demo-target: a small, dependency-free HTTP service whose behaviour is driven by config.json.
// It is the "target" kaizen watches in its demo: it generates its own internal traffic, exposes
// /health (JSON) and /metrics (Prometheus text), writes logs/app.log, run/demo.pid, run/port (the
// port it listens on, kept after exit so deploy.mjs can restart it on the same port) and a worker
// heartbeat file run/worker.lock. Only node: built-ins are used so it runs with `node server.mjs`.
//
// Exit codes: 0 = clean shutdown (SIGTERM/SIGINT), 1 = cannot listen, 2 = invalid config
// (at start or on SIGHUP reload).

import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const CONFIG_PATH = resolve(process.env.DEMO_CONFIG || join(HERE, 'config.json'));
const CONFIG_NAME = basename(CONFIG_PATH);
const RUN_DIR = join(HERE, 'run');
const LOG_DIR = join(HERE, 'logs');
const PID_FILE = join(RUN_DIR, 'demo.pid');
const PORT_FILE = join(RUN_DIR, 'port');
const LOCK_FILE = join(RUN_DIR, 'worker.lock');
const LOG_FILE = join(LOG_DIR, 'app.log');

const MIB = 1024 * 1024;
const TRAFFIC_TICK_MS = 100; // one simulated internal request every ~100 ms
const MAX_IN_FLIGHT = 200;
const LEAK_TICK_MS = 500;
const LEAK_CAP_BYTES = 512 * MIB;
const CACHE_KEY_SPACE = 200; // simulated distinct keys; skewed access (hot keys are low numbers)
const STATS_LOG_EVERY_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Config: defaults + strict validation
// ---------------------------------------------------------------------------------------------

const DEFAULTS = Object.freeze({
  port: 0,
  latencyMs: 20,
  latencyJitterMs: 5,
  errorRate: 0,
  memoryGrowthMbPerMin: 0,
  cacheSize: 0,
  // Rolling window of the latency quantiles and error rate in /health and /metrics.
  statsWindowMs: 60000,
  worker: Object.freeze({ enabled: true, intervalMs: 1000, hang: false }),
  logLevel: 'info',
});

class ConfigError extends Error {}

function show(value) {
  let s;
  try {
    s = JSON.stringify(value);
  } catch {
    s = String(value);
  }
  if (s === undefined) s = String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function num(obj, key, path, min, max, { integer = false } = {}) {
  const v = obj[key];
  const ok =
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));
  if (!ok) {
    throw new ConfigError(
      `${path} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got ${show(v)}`,
    );
  }
  return v;
}

function bool(obj, key, path) {
  const v = obj[key];
  if (typeof v !== 'boolean')
    throw new ConfigError(`${path} must be a boolean (true or false), got ${show(v)}`);
  return v;
}

function isPlainObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj, allowed, prefix) {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(
        `unknown key ${show(prefix + key)} (allowed: ${allowed.map((k) => prefix + k).join(', ')})`,
      );
    }
  }
}

/** Validates parsed JSON and returns a complete config (defaults filled in). Throws ConfigError. */
function validateConfig(raw) {
  if (!isPlainObject(raw)) throw new ConfigError(`top level must be a JSON object, got ${show(raw)}`);
  checkKeys(raw, Object.keys(DEFAULTS), '');
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const cfg = { ...DEFAULTS, worker: { ...DEFAULTS.worker } };
  if (has(raw, 'port')) cfg.port = num(raw, 'port', 'port', 0, 65535, { integer: true });
  if (has(raw, 'latencyMs')) cfg.latencyMs = num(raw, 'latencyMs', 'latencyMs', 0, 60000);
  if (has(raw, 'latencyJitterMs'))
    cfg.latencyJitterMs = num(raw, 'latencyJitterMs', 'latencyJitterMs', 0, 60000);
  if (has(raw, 'errorRate')) cfg.errorRate = num(raw, 'errorRate', 'errorRate', 0, 1);
  if (has(raw, 'memoryGrowthMbPerMin')) {
    cfg.memoryGrowthMbPerMin = num(raw, 'memoryGrowthMbPerMin', 'memoryGrowthMbPerMin', 0, 512);
  }
  if (has(raw, 'statsWindowMs')) cfg.statsWindowMs = num(raw, 'statsWindowMs', 'statsWindowMs', 1000, 3600000);
  if (has(raw, 'cacheSize')) cfg.cacheSize = num(raw, 'cacheSize', 'cacheSize', 0, 100000, { integer: true });
  if (has(raw, 'worker')) {
    const w = raw.worker;
    if (!isPlainObject(w)) throw new ConfigError(`worker must be an object, got ${show(w)}`);
    checkKeys(w, Object.keys(DEFAULTS.worker), 'worker.');
    if (has(w, 'enabled')) cfg.worker.enabled = bool(w, 'enabled', 'worker.enabled');
    if (has(w, 'intervalMs')) cfg.worker.intervalMs = num(w, 'intervalMs', 'worker.intervalMs', 10, 3600000);
    if (has(w, 'hang')) cfg.worker.hang = bool(w, 'hang', 'worker.hang');
  }
  if (has(raw, 'logLevel')) {
    const v = raw.logLevel;
    if (v !== 'info' && v !== 'debug')
      throw new ConfigError(`logLevel must be "info" or "debug", got ${show(v)}`);
    cfg.logLevel = v;
  }
  return cfg;
}

/** Reads + validates the config file; on any problem prints one clear line to stderr and exits 2. */
function loadConfigOrExit(phase) {
  let text;
  try {
    text = readFileSync(CONFIG_PATH, 'utf8');
  } catch (err) {
    fatalConfig(`cannot read ${CONFIG_NAME}: ${err.code || err.message}`, phase);
  }
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fatalConfig(`invalid ${CONFIG_NAME}: not valid JSON (${err.message})`, phase);
  }
  try {
    const config = validateConfig(raw);
    const version = createHash('sha1').update(text).digest('hex').slice(0, 12);
    return { config, version };
  } catch (err) {
    if (err instanceof ConfigError) fatalConfig(`invalid ${CONFIG_NAME}: ${err.message}`, phase);
    throw err;
  }
}

function fatalConfig(message, phase) {
  process.stderr.write(`demo-target: ${message}\n`);
  try {
    log('FATAL', `${message} (${phase}); exiting with code 2`);
  } catch {
    // best effort only
  }
  process.exit(2);
}

function portFromEnv() {
  const v = process.env.PORT;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n > 65535) {
    process.stderr.write(
      `demo-target: invalid PORT environment variable: must be an integer between 0 and 65535, got ${show(v)}\n`,
    );
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Logging (append-only text lines; re-opened on every write so external rotation just works)
// ---------------------------------------------------------------------------------------------

let logDirReady = false;
function log(level, message) {
  if (level === 'DEBUG' && state.config?.logLevel !== 'debug') return;
  if (!logDirReady) {
    mkdirSync(LOG_DIR, { recursive: true });
    logDirReady = true;
  }
  appendFileSync(LOG_FILE, `${new Date(Date.now()).toISOString()} ${level} ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Runtime state
// ---------------------------------------------------------------------------------------------

const state = {
  config: undefined,
  version: '',
  startedAt: Date.now(),
  requests: { ok: 0, failed: 0, inFlight: 0, latencySumMs: 0 },
  window: [], // { t, latencyMs, ok } for requests completed within config.statsWindowMs
  cache: new Map(), // key -> true; Map insertion order gives LRU eviction
  cacheHits: 0,
  cacheMisses: 0,
  leaked: [],
  leakedBytes: 0,
  leakCarry: 0,
  worker: { processed: 0, lastProgressAt: Date.now(), timer: undefined, running: false },
  timers: [],
  shuttingDown: false,
};

// ---- simulated internal traffic ----

function pickKey() {
  // Skewed popularity: P(key < k) = (k / KEY_SPACE)^(1/10). More than half the requests go to the
  // hottest key and two thirds to the 3 hottest, so a cache warms within a few requests and a
  // bigger cache shows in the median latency at once; 200 entries serve all of them once warm.
  return Math.floor(CACHE_KEY_SPACE * Math.random() ** 10);
}

function cacheLookup(key) {
  const size = state.config.cacheSize;
  if (size <= 0) {
    if (state.cache.size > 0) state.cache.clear();
    state.cacheMisses++;
    return false;
  }
  if (state.cache.has(key)) {
    state.cache.delete(key);
    state.cache.set(key, true);
    state.cacheHits++;
    return true;
  }
  state.cacheMisses++;
  state.cache.set(key, true);
  while (state.cache.size > size) state.cache.delete(state.cache.keys().next().value);
  return false;
}

async function simulateRequest() {
  const cfg = state.config;
  state.requests.inFlight++;
  const started = performance.now();
  try {
    const jitter = (Math.random() * 2 - 1) * cfg.latencyJitterMs;
    let delay = Math.max(0, cfg.latencyMs + jitter);
    const hit = cacheLookup(pickKey());
    if (!hit) delay += cfg.latencyMs; // a cache miss pays the backend cost once more
    await sleep(delay);
    const failed = Math.random() < cfg.errorRate;
    const latencyMs = performance.now() - started;
    record(latencyMs, !failed);
    if (failed) {
      log('ERROR', `request failed: simulated error (errorRate=${cfg.errorRate})`);
    } else {
      log('DEBUG', `request ok in ${latencyMs.toFixed(1)} ms (cache ${hit ? 'hit' : 'miss'})`);
    }
  } finally {
    state.requests.inFlight--;
  }
}

function record(latencyMs, ok) {
  const now = Date.now();
  if (ok) state.requests.ok++;
  else state.requests.failed++;
  state.requests.latencySumMs += latencyMs;
  state.window.push({ t: now, latencyMs, ok });
  pruneWindow(now);
}

function pruneWindow(now) {
  const cutoff = now - state.config.statsWindowMs;
  let drop = 0;
  while (drop < state.window.length && state.window[drop].t < cutoff) drop++;
  if (drop > 0) state.window.splice(0, drop);
}

function trafficTick() {
  if (state.shuttingDown || state.requests.inFlight >= MAX_IN_FLIGHT) return;
  simulateRequest().catch((err) => log('ERROR', `internal request crashed: ${err.message}`));
}

function windowStats() {
  pruneWindow(Date.now());
  const n = state.window.length;
  if (n === 0) return { count: 0, p50: null, p95: null, errorRate: null };
  const sorted = state.window.map((r) => r.latencyMs).sort((a, b) => a - b);
  const q = (p) => round1(sorted[Math.max(0, Math.ceil(p * n) - 1)]);
  const failed = state.window.reduce((acc, r) => acc + (r.ok ? 0 : 1), 0);
  return { count: n, p50: q(0.5), p95: q(0.95), errorRate: Math.round((failed / n) * 10000) / 10000 };
}

// ---- memory leak ----

function leakTick() {
  const perTick = (state.config.memoryGrowthMbPerMin * MIB * LEAK_TICK_MS) / 60_000;
  if (perTick <= 0) return;
  state.leakCarry += perTick;
  let bytes = Math.floor(state.leakCarry);
  bytes = Math.min(bytes, LEAK_CAP_BYTES - state.leakedBytes);
  if (bytes <= 0) return;
  state.leakCarry -= bytes;
  // allocUnsafe + fill touches every page, so the leak shows up in RSS, not just in virtual size.
  const chunk = Buffer.allocUnsafe(bytes).fill(0x6b);
  state.leaked.push(chunk);
  state.leakedBytes += bytes;
  if (state.leakedBytes >= LEAK_CAP_BYTES)
    log('INFO', `memory leak reached its cap of ${LEAK_CAP_BYTES / MIB} MiB`);
}

// ---- background worker ----

function touchLock() {
  mkdirSync(RUN_DIR, { recursive: true });
  writeFileSync(
    LOCK_FILE,
    `${process.pid} ${new Date(Date.now()).toISOString()} jobs=${state.worker.processed}\n`,
  );
}

function stopWorker() {
  if (state.worker.timer) clearTimeout(state.worker.timer);
  state.worker.timer = undefined;
  state.worker.running = false;
}

function startWorker() {
  stopWorker();
  const w = state.config.worker;
  if (!w.enabled) return;
  state.worker.running = true;
  state.worker.lastProgressAt = Date.now();
  touchLock(); // acquire: the lock exists from the moment the worker starts
  if (w.hang) {
    log('INFO', 'worker started but is hung (worker.hang=true): no jobs will be processed');
    return; // stuck forever: no more jobs, no more heartbeats, process stays alive
  }
  const step = () => {
    state.worker.timer = setTimeout(() => {
      state.worker.processed++;
      state.worker.lastProgressAt = Date.now();
      touchLock();
      log('DEBUG', `worker processed job #${state.worker.processed}`);
      step();
    }, w.intervalMs);
  };
  step();
}

function workerStatus() {
  const w = state.config.worker;
  const ageMs = Date.now() - state.worker.lastProgressAt;
  return {
    enabled: w.enabled,
    processed_total: state.worker.processed,
    last_job_age_s: w.enabled ? round1(ageMs / 1000) : null,
    // Watchdog view: no progress for 3 intervals (at least 1 s) while enabled means hung.
    hung: w.enabled && ageMs > Math.max(3 * w.intervalMs, 1000),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

function round1(x) {
  return Math.round(x * 10) / 10;
}

function healthBody() {
  const stats = windowStats();
  const degraded = state.config.errorRate >= 0.5;
  const lookups = state.cacheHits + state.cacheMisses;
  return {
    code: degraded ? 503 : 200,
    body: {
      status: degraded ? 'degraded' : 'ok',
      uptime_s: round1((Date.now() - state.startedAt) / 1000),
      pid: process.pid,
      config_version: state.version,
      latency_ms: { p50: stats.p50, p95: stats.p95 },
      error_rate: stats.errorRate,
      memory: {
        rss_mb: round1(process.memoryUsage.rss() / MIB),
        leaked_mb: round1(state.leakedBytes / MIB),
      },
      worker: workerStatus(),
      requests: { total: state.requests.ok + state.requests.failed, failed: state.requests.failed },
      cache: {
        size: state.config.cacheSize,
        entries: state.cache.size,
        hit_rate: lookups === 0 ? null : Math.round((state.cacheHits / lookups) * 10000) / 10000,
      },
    },
  };
}

function promNumber(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return 'NaN';
  return String(x);
}

function metricsText() {
  const stats = windowStats();
  const w = workerStatus();
  const lookups = state.cacheHits + state.cacheMisses;
  const lines = [
    '# HELP demo_up 1 while the demo target is running.',
    '# TYPE demo_up gauge',
    'demo_up 1',
    '# HELP demo_requests_total Internal simulated requests completed, by outcome.',
    '# TYPE demo_requests_total counter',
    `demo_requests_total{status="ok"} ${state.requests.ok}`,
    `demo_requests_total{status="error"} ${state.requests.failed}`,
    '# HELP demo_request_latency_ms Request latency quantiles over the last 60 s, in milliseconds.',
    '# TYPE demo_request_latency_ms summary',
    `demo_request_latency_ms{quantile="0.5"} ${promNumber(stats.p50)}`,
    `demo_request_latency_ms{quantile="0.95"} ${promNumber(stats.p95)}`,
    `demo_request_latency_ms_sum ${round1(state.requests.latencySumMs)}`,
    `demo_request_latency_ms_count ${state.requests.ok + state.requests.failed}`,
    '# HELP demo_error_ratio Fraction of internal requests that failed over the last 60 s.',
    '# TYPE demo_error_ratio gauge',
    `demo_error_ratio ${promNumber(stats.errorRate)}`,
    '# HELP demo_memory_rss_bytes Resident set size of the process.',
    '# TYPE demo_memory_rss_bytes gauge',
    `demo_memory_rss_bytes ${process.memoryUsage.rss()}`,
    '# HELP demo_leaked_bytes Bytes deliberately leaked (memoryGrowthMbPerMin).',
    '# TYPE demo_leaked_bytes gauge',
    `demo_leaked_bytes ${state.leakedBytes}`,
    '# HELP demo_jobs_processed_total Jobs processed by the background worker.',
    '# TYPE demo_jobs_processed_total counter',
    `demo_jobs_processed_total ${state.worker.processed}`,
    '# HELP demo_worker_hung 1 when the enabled worker made no progress for 3 intervals (min 1 s).',
    '# TYPE demo_worker_hung gauge',
    `demo_worker_hung ${w.hung ? 1 : 0}`,
    '# HELP demo_worker_last_job_age_seconds Seconds since the worker last processed a job (or started).',
    '# TYPE demo_worker_last_job_age_seconds gauge',
    `demo_worker_last_job_age_seconds ${promNumber(w.last_job_age_s)}`,
    '# HELP demo_cache_hit_ratio Fraction of cache lookups that hit since start.',
    '# TYPE demo_cache_hit_ratio gauge',
    `demo_cache_hit_ratio ${lookups === 0 ? 'NaN' : state.cacheHits / lookups}`,
    '# HELP demo_uptime_seconds Seconds since the process started.',
    '# TYPE demo_uptime_seconds gauge',
    `demo_uptime_seconds ${round1((Date.now() - state.startedAt) / 1000)}`,
    '# HELP demo_config_info Version (short sha1) of the loaded config file.',
    '# TYPE demo_config_info gauge',
    `demo_config_info{version="${state.version}"} 1`,
  ];
  return `${lines.join('\n')}\n`;
}

const INDEX_TEXT = `demo-target: a small service for the kaizen demo

Endpoints:
  GET /health   JSON status (503 + status "degraded" when errorRate >= 0.5)
  GET /metrics  Prometheus text exposition format 0.0.4
  GET /         this page

Config: config.json (reload with SIGHUP, or restart). See README.md.
`;

function sendJson(res, code, body) {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

function handle(req, res) {
  const url = new URL(req.url || '/', 'http://127.0.0.1');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'method not allowed', method: req.method });
    return;
  }
  switch (url.pathname) {
    case '/health': {
      const { code, body } = healthBody();
      sendJson(res, code, body);
      return;
    }
    case '/metrics':
      res.writeHead(200, {
        'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
        'Cache-Control': 'no-store',
      });
      res.end(metricsText());
      return;
    case '/':
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(INDEX_TEXT);
      return;
    default:
      sendJson(res, 404, { error: 'not found', path: url.pathname });
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------

function applyConfig(loaded, phase) {
  const previous = state.config;
  state.config = loaded.config;
  state.version = loaded.version;
  if (phase === 'reload') {
    if (previous && previous.port !== loaded.config.port) {
      log('INFO', `config port changed to ${loaded.config.port}; a restart is needed for it to take effect`);
    }
    if (!previous || JSON.stringify(previous.worker) !== JSON.stringify(loaded.config.worker)) startWorker();
  }
}

function reload() {
  if (state.shuttingDown) return;
  const loaded = loadConfigOrExit('reload'); // exits 2 on an invalid config
  const changed = loaded.version !== state.version;
  applyConfig(loaded, 'reload');
  log('INFO', `config reloaded on SIGHUP: config_version=${state.version}${changed ? '' : ' (unchanged)'}`);
  process.stdout.write(`demo-target reloaded config ${state.version}\n`);
}

function shutdown(signal) {
  if (state.shuttingDown) return;
  state.shuttingDown = true;
  for (const t of state.timers) clearInterval(t);
  stopWorker();
  try {
    if (existsSync(PID_FILE) && readFileSync(PID_FILE, 'utf8').trim() === String(process.pid))
      unlinkSync(PID_FILE);
  } catch {
    // nothing useful to do
  }
  log('INFO', `received ${signal}; shutting down`);
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}

const envPort = portFromEnv();
applyConfig(loadConfigOrExit('start'), 'start');
mkdirSync(RUN_DIR, { recursive: true });
log(
  'INFO',
  `demo-target starting: pid=${process.pid} config_version=${state.version} node=${process.version}`,
);

const server = createServer(handle);
server.on('error', (err) => {
  process.stderr.write(`demo-target: cannot listen: ${err.message}\n`);
  log('FATAL', `cannot listen: ${err.message}`);
  process.exit(1);
});

process.on('SIGHUP', reload);
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
// Written only once the signal handlers are in place: whoever reads the pid file may SIGHUP it.
writeFileSync(PID_FILE, `${process.pid}\n`);

startWorker();
state.timers.push(setInterval(trafficTick, TRAFFIC_TICK_MS));
state.timers.push(setInterval(leakTick, LEAK_TICK_MS));
state.timers.push(
  setInterval(() => {
    const s = windowStats();
    log(
      'INFO',
      `stats: requests_total=${state.requests.ok + state.requests.failed} failed_total=${state.requests.failed} ` +
        `p50_ms=${s.p50} p95_ms=${s.p95} error_rate_60s=${s.errorRate} jobs=${state.worker.processed} ` +
        `leaked_mb=${round1(state.leakedBytes / MIB)}`,
    );
  }, STATS_LOG_EVERY_MS),
);

server.listen(envPort ?? state.config.port, '127.0.0.1', () => {
  const { port } = server.address();
  // Kept after exit (unlike the pid file): deploy.mjs restarts the service on this same port.
  writeFileSync(PORT_FILE, `${port}\n`);
  log('INFO', `listening on http://127.0.0.1:${port}`);
  process.stdout.write(`demo-target listening on http://127.0.0.1:${port} pid ${process.pid}\n`);
});
