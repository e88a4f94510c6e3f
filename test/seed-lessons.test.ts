// The seed lessons kaizen ships (lessons/*.yaml): each one loads, and each scan rule finds its
// failure class in a small realistic file and stays quiet on the corrected one, run through the
// real scanner (src/propose/scan.ts) over a real temporary git repository. Their scopes and areas
// must not be names the test suite uses as areas, scopes or signals: the guard's lessons check
// refuses a proposal that ignores a lesson on its area, so a collision would change what the
// suite's own proposals are allowed to do.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SHIPPED_LESSONS_DIR, loadLessons, readLessonFile } from '../src/learn/lesson-files.js';
import { lessonPointsAt, type Lesson } from '../src/propose/context/lesson.js';
import { SimulatedClock } from '../src/clock.js';
import { globProblem } from '../src/propose/context/scan-rule.js';
import { scanRepo } from '../src/propose/scan.js';
import { compileLinear } from '../src/util/linear-regex.js';
import { gitRepo } from './helpers/git.js';
import { tempDir } from './helpers/temp.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The shipped guard policy's blockedPaths: the scan in a Propose cycle never opens those. */
const BLOCKED: string[] = (
  parse(readFileSync(path.join(ROOT, 'guards/default.yaml'), 'utf8')) as { blockedPaths: string[] }
).blockedPaths;

const yamlFiles = () =>
  readdirSync(SHIPPED_LESSONS_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();

function shipped(): Lesson[] {
  // An empty local folder: only the shipped lessons are read.
  const loaded = loadLessons({ lessonsDir: tempDir('kaizen-no-lessons-') });
  expect(loaded.problems).toEqual([]);
  return loaded.lessons;
}

/** Findings of one lesson's scan over a git repository holding `files`. */
function scanFiles(lesson: Lesson, files: Record<string, string>) {
  const repo = gitRepo(files);
  const result = scanRepo(repo, [{ lesson: lesson.id, ...lesson.scan! }], {
    blockedGlobs: BLOCKED,
    clock: new SimulatedClock(),
  });
  expect(result.notes).toEqual([]);
  return result.findings;
}

interface ScanCase {
  /** Files with the failure class, and a piece of the line each must be found on. */
  positive: { path: string; text: string; hit: string }[];
  /** The corrected files: nothing found. */
  negative: { path: string; text: string }[];
}

const lines = (...xs: string[]) => xs.join('\n') + '\n';

const CASES: Record<string, ScanCase> = {
  L0001: {
    positive: [
      {
        path: 'ops/monitor.py',
        text: lines(
          'import os, time',
          '',
          'HEARTBEAT_FILE = "/var/run/worker.heartbeat"',
          '',
          'def worker_is_healthy(max_age=60):',
          '    age = time.time() - os.path.getmtime(HEARTBEAT_FILE)',
          '    return age < max_age',
        ),
        hit: 'os.path.getmtime(HEARTBEAT_FILE)',
      },
      {
        path: 'src/watchdog.ts',
        text: lines(
          "import { statSync } from 'node:fs';",
          'export const alive = () => Date.now() - statSync(heartbeatPath).mtimeMs < 60_000;',
        ),
        hit: 'statSync(heartbeatPath).mtimeMs',
      },
    ],
    negative: [
      {
        path: 'ops/monitor.py',
        text: lines(
          'import time',
          '',
          'def worker_is_productive(store, max_idle=600):',
          '    last_done = store.last_completed_at()',
          '    return time.time() - last_done < max_idle',
        ),
      },
    ],
  },
  L0002: {
    positive: [
      {
        path: 'src/consumer.ts',
        text: lines(
          "queue.on('message', (raw: Buffer) => {",
          '  const job = JSON.parse(raw.toString()) as ResizeJob;',
          '  resize(job.imageId, job.width);',
          '});',
        ),
        hit: 'JSON.parse(raw.toString()) as ResizeJob',
      },
      {
        path: 'worker/handler.py',
        text: lines('def handle(body):', '    width = json.loads(body)["width"]', '    resize(width)'),
        hit: 'json.loads(body)["width"]',
      },
    ],
    negative: [
      {
        path: 'src/consumer.ts',
        text: lines(
          "queue.on('message', (raw: Buffer) => {",
          '  const parsed = ResizeJob.safeParse(JSON.parse(raw.toString()));',
          '  if (!parsed.success) return deadLetter(raw, parsed.error.message);',
          '  resize(parsed.data.imageId, parsed.data.width);',
          '});',
        ),
      },
      {
        path: 'worker/handler.py',
        text: lines(
          'def handle(body):',
          '    job = ResizeJob.model_validate_json(body)',
          '    resize(job.width)',
        ),
      },
    ],
  },
  L0004: {
    positive: [
      {
        path: 'app/circuit_breaker.py',
        text: lines(
          'class CircuitBreaker:',
          '    def record_success(self):',
          '        self.failures = 0',
          '        self.state = "closed"',
        ),
        hit: 'self.failures = 0',
      },
    ],
    negative: [
      {
        path: 'app/circuit_breaker.py',
        text: lines(
          'class CircuitBreaker:',
          '    def __init__(self, window_s=60.0):',
          '        self.window_s = window_s',
          '        self.failures = deque()',
          '        self.state = CLOSED',
          '',
          '    def record_failure(self, now):',
          '        self.failures.append(now)',
          '        while self.failures and now - self.failures[0] > self.window_s:',
          '            self.failures.popleft()',
          '',
          '    def record_success(self):',
          '        if self.state == HALF_OPEN:',
          '            self.state = CLOSED',
          '            self.failures.clear()',
        ),
      },
    ],
  },
  L0005: {
    positive: [
      {
        path: 'mylib/client.py',
        text: lines(
          'import logging',
          '',
          'logging.basicConfig(level=logging.DEBUG)',
          'log = logging.getLogger(__name__)',
        ),
        hit: 'logging.basicConfig(level=logging.DEBUG)',
      },
      {
        path: 'mylib/setup_logs.py',
        text: lines('import logging', 'logging.getLogger().addHandler(logging.FileHandler("worker.log"))'),
        hit: 'logging.getLogger().addHandler',
      },
    ],
    negative: [
      {
        path: 'mylib/client.py',
        text: lines(
          'import logging',
          '',
          'log = logging.getLogger(__name__)',
          'log.addHandler(logging.NullHandler())',
        ),
      },
    ],
  },
  L0006: {
    positive: [
      {
        path: 'jobs/nightly.py',
        text: lines(
          'LOCK_FILE = "/tmp/nightly.lock"',
          'if os.path.exists(LOCK_FILE):',
          '    sys.exit("already running")',
          'open(LOCK_FILE, "w").close()',
        ),
        hit: 'os.path.exists(LOCK_FILE)',
      },
      {
        path: 'bin/sync.mjs',
        text: lines("const lockPath = '/var/run/sync.lock';", 'if (existsSync(lockPath)) process.exit(0);'),
        hit: 'existsSync(lockPath)',
      },
    ],
    negative: [
      {
        path: 'jobs/nightly.py',
        text: lines(
          'LOCK_FILE = "/tmp/nightly.lock"',
          'sweep_stale_lock(LOCK_FILE)  # removes it only when its pid is dead on this host',
          'fd = os.open(LOCK_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY)',
          'os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.time()}".encode())',
        ),
      },
    ],
  },
  L0008: {
    positive: [
      {
        path: 'sync/push.py',
        text: lines('@retry(stop=stop_after_attempt(10))', 'def push(batch):', '    client.send(batch)'),
        hit: '@retry(stop=stop_after_attempt(10))',
      },
      {
        path: 'sync/session.py',
        text: lines('session.mount("https://", HTTPAdapter(max_retries=Retry(total=5)))'),
        hit: 'Retry(total=5)',
      },
      {
        path: 'sync/loop.py',
        text: lines(
          'while True:',
          '    try:',
          '        send(batch)',
          '        break',
          '    except Exception: continue',
        ),
        hit: 'except Exception: continue',
      },
    ],
    negative: [
      {
        path: 'sync/push.py',
        text: lines(
          '@retry(stop=stop_after_attempt(5), wait=wait_random_exponential(multiplier=0.1, max=30))',
          'def push(batch):',
          '    client.send(batch)',
        ),
      },
      {
        path: 'sync/session.py',
        text: lines(
          'retries = Retry(total=5, backoff_factor=0.5, status_forcelist=[429, 503])',
          'session.mount("https://", HTTPAdapter(max_retries=retries))',
        ),
      },
    ],
  },
  L0009: {
    positive: [
      {
        path: 'client/jobs.py',
        text: lines(
          'def queued():',
          '    resp = requests.get(f"{BASE}/jobs", params={"state": "queued"})',
          '    return resp.json()',
        ),
        hit: 'requests.get(f"{BASE}/jobs"',
      },
      {
        path: 'client/fetch.py',
        text: lines('with urllib.request.urlopen(url) as resp:', '    body = resp.read()'),
        hit: 'urllib.request.urlopen(url)',
      },
    ],
    negative: [
      {
        path: 'client/jobs.py',
        text: lines(
          'def queued():',
          '    # requests.get() has no default timeout',
          '    resp = requests.get(f"{BASE}/jobs", params={"state": "queued"}, timeout=(3.05, 10))',
          '    return resp.json()',
        ),
      },
      {
        path: 'client/fetch.py',
        text: lines('with urllib.request.urlopen(url, timeout=5) as resp:', '    body = resp.read()'),
      },
    ],
  },
  L0010: {
    positive: [
      {
        path: 'src/users.ts',
        text: lines(
          'const userCache = new Map<string, User>();',
          'export async function getUser(id: string): Promise<User> {',
          '  const hit = userCache.get(id);',
          '  if (hit) return hit;',
          '  const user = await db.user(id);',
          '  userCache.set(id, user);',
          '  return user;',
          '}',
        ),
        hit: 'const userCache = new Map<string, User>();',
      },
      {
        path: 'web/render.py',
        text: lines('@functools.lru_cache(maxsize=None)', 'def render(template_name, user_id):', '    ...'),
        hit: '@functools.lru_cache(maxsize=None)',
      },
      {
        path: 'web/sessions.py',
        text: lines(
          '_session_cache = {}',
          '',
          'def session(token):',
          '    return _session_cache.setdefault(token, load(token))',
        ),
        hit: '_session_cache = {}',
      },
    ],
    negative: [
      {
        path: 'src/users.ts',
        text: lines(
          "import { LRUCache } from 'lru-cache';",
          'const userCache = new LRUCache<string, User>({ max: 10_000, ttl: 60_000 });',
          "metrics.gauge('user_cache_entries', () => userCache.size);",
        ),
      },
      {
        path: 'web/render.py',
        text: lines('@functools.lru_cache(maxsize=4096)', 'def render(template_name, user_id):', '    ...'),
      },
    ],
  },
  L0011: {
    positive: [
      {
        path: 'deploy/restart.sh',
        text: lines('#!/bin/sh', 'kill -9 "$(cat /var/run/worker.pid)"', 'exec /usr/bin/worker'),
        hit: 'kill -9',
      },
      {
        path: 'server.mjs',
        text: lines("process.on('SIGTERM', () => process.exit(0));", 'server.listen(8080);'),
        hit: "process.on('SIGTERM', () => process.exit(0));",
      },
      {
        path: 'worker/main.py',
        text: lines('signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))', 'run_forever()'),
        hit: 'signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))',
      },
    ],
    negative: [
      {
        path: 'deploy/restart.sh',
        text: lines(
          '#!/bin/sh',
          'pid="$(cat /var/run/worker.pid)"',
          'kill -TERM "$pid"',
          '# systemd escalates to SIGKILL after TimeoutStopSec',
          'timeout 30 tail --pid="$pid" -f /dev/null',
        ),
      },
      {
        path: 'server.mjs',
        text: lines(
          "process.on('SIGTERM', () => {",
          '  stopAcceptingJobs();',
          '  server.close(() => process.exit(0));',
          '  setTimeout(() => process.exit(1), 25_000).unref();',
          '});',
        ),
      },
      {
        path: 'worker/main.py',
        text: lines(
          'signal.signal(signal.SIGTERM, lambda *_: stop.set())',
          'run_until(stop, drain_timeout=25)',
        ),
      },
    ],
  },
  L0013: {
    positive: [
      {
        path: 'deploy/worker.service',
        text: lines('[Service]', 'ExecStart=/usr/bin/worker', 'Restart=always'),
        hit: 'Restart=always',
      },
      {
        path: 'docker-compose.yml',
        text: lines('services:', '  worker:', '    image: acme/worker:1.4', '    restart: always'),
        hit: 'restart: always',
      },
    ],
    negative: [
      {
        path: 'deploy/worker.service',
        text: lines(
          '[Unit]',
          'StartLimitIntervalSec=600',
          'StartLimitBurst=5',
          'OnFailure=notify-oncall@%n.service',
          '[Service]',
          'ExecStart=/usr/bin/worker',
          'Restart=on-failure',
          'RestartSec=10',
        ),
      },
      {
        path: 'docker-compose.yml',
        text: lines('services:', '  worker:', '    image: acme/worker:1.4', '    restart: on-failure:5'),
      },
    ],
  },
  L0014: {
    positive: [
      {
        path: 'jobs/scheduler.py',
        text: lines('def tick():', '    if datetime.now().hour == 2:', '        run_nightly()'),
        hit: 'datetime.now().hour == 2',
      },
      {
        path: 'src/scheduler.ts',
        text: lines('if (new Date().getHours() === 2) runNightly();'),
        hit: 'new Date().getHours()',
      },
    ],
    negative: [
      {
        path: 'jobs/scheduler.py',
        text: lines(
          'def tick(cfg):',
          '    now = datetime.now(ZoneInfo(cfg.time_zone))',
          '    if now.hour == 2:',
          '        run_nightly()',
        ),
      },
      {
        path: 'src/scheduler.ts',
        text: lines('if (DateTime.now().setZone(config.timeZone).hour === 2) runNightly();'),
      },
    ],
  },
};

/**
 * Every name the test suite, the sources and the demo use as an area, a scope, a signal or a
 * target/signal name: a seed lesson on one of them would start speaking to those tests' proposals.
 */
function namesInUse(): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /\b(?:area|scope|signal|target)["']?\s*[:=]\s*["']([\w*.-]+)["']/g,
    /\b(?:area|scope|signal)["']?\s*:\s*([A-Za-z_*][\w-]*)/g,
    /\bname["']?\s*:\s*["']([a-z_][a-z0-9_]*)["']/g,
    /\b(?:areas|signals)["']?\s*:\s*\[([^\]]*)\]/g,
  ];
  const self = fileURLToPath(import.meta.url);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      const abs = path.join(dir, entry);
      if (statSync(abs).isDirectory()) walk(abs);
      else if (/\.(ts|mts|js|mjs|json|ya?ml|snap)$/.test(entry) && abs !== self) {
        const text = readFileSync(abs, 'utf8');
        for (const re of patterns) {
          for (const m of text.matchAll(re)) {
            for (const n of m[1]!.split(',')) {
              const name = n.trim().replace(/^["']|["']$/g, '');
              if (name) names.add(name.toLowerCase());
            }
          }
        }
      }
    }
  };
  for (const dir of ['test', 'src', 'examples']) walk(path.join(ROOT, dir));
  return names;
}

describe('the shipped seed lessons', () => {
  it('all load, with no problem, and their ids are unique and name their files', () => {
    const files = yamlFiles();
    for (const f of files) {
      const read = readLessonFile(path.join(SHIPPED_LESSONS_DIR, f));
      expect(read, f).not.toHaveProperty('problem');
      if ('lesson' in read) expect(`${read.lesson.id}.yaml`).toBe(f);
    }
    const lessons = shipped();
    expect(lessons.map((l) => `${l.id}.yaml`)).toEqual(files);
    expect(new Set(lessons.map((l) => l.id)).size).toBe(lessons.length);
    expect(lessons.length).toBeGreaterThanOrEqual(10);
    expect(lessons.length).toBeLessThanOrEqual(15);
  });

  it('are active, written by people, scoped to a failure class (never everywhere), and carry no actions or signals', () => {
    for (const l of shipped()) {
      expect(l.status, l.id).toBe('active');
      expect(l.source, l.id).toBe('human');
      expect(l.evidence, l.id).toEqual([]);
      expect(l.created_at, l.id).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(['*', 'all', 'any', 'global'], l.id).not.toContain(l.scope);
      expect(l.areas, l.id).toContain(l.scope);
      expect(l.action, l.id).toBeUndefined();
      expect(l.signals, l.id).toBeUndefined();
      expect(l.falsifiable, l.id).toMatch(/^true iff\b/);
      expect(l.retired_when, l.id).toBeTruthy();
    }
  });

  it('use no scope or area that the tests, sources or demo use as an area, scope, signal or name', () => {
    const inUse = namesInUse();
    // The scan of the suite itself works: names the suite is known to use are found.
    for (const known of ['cache', 'worker', 'latency_ms', 'health']) expect(inUse).toContain(known);
    for (const l of shipped()) {
      for (const name of new Set([l.scope, ...(l.areas ?? [])])) {
        expect(inUse.has(name.toLowerCase()), `${l.id}: ${name} is used by the suite`).toBe(false);
      }
    }
  });

  it("have scan rules that kaizen's linear-time engine (RE2) runs: no lookaround, no backreferences", () => {
    for (const l of shipped().filter((x) => x.scan)) {
      expect(compileLinear(l.scan!.pattern), `${l.id} pattern`).toMatchObject({ ok: true });
      if (l.scan!.unless) expect(compileLinear(l.scan!.unless), `${l.id} unless`).toMatchObject({ ok: true });
      expect(globProblem(l.scan!.files), `${l.id} files`).toBeUndefined();
    }
  });

  it('at least 8 have a scan rule, and every scan rule has a positive and a corrected example here', () => {
    const scanned = shipped().filter((l) => l.scan);
    expect(scanned.length).toBeGreaterThanOrEqual(8);
    expect(scanned.map((l) => l.id).sort()).toEqual(Object.keys(CASES).sort());
  });

  describe.each(Object.keys(CASES))('scan rule of %s', (id) => {
    const lesson = () => {
      const l = shipped().find((x) => x.id === id);
      expect(l, `${id} is shipped`).toBeDefined();
      return l!;
    };

    it('names the example files and finds the failure class in each positive one, on the expected line', () => {
      const l = lesson();
      for (const p of CASES[id]!.positive) {
        expect(lessonPointsAt(l, p.path), `${id} glob ${l.scan!.files} names ${p.path}`).toBe(true);
        const findings = scanFiles(l, { [p.path]: p.text });
        expect(findings.length, `${id} finds something in ${p.path}`).toBeGreaterThanOrEqual(1);
        expect(findings.every((f) => f.lesson === id && f.file === p.path)).toBe(true);
        expect(findings.map((f) => f.text)).toContainEqual(expect.stringContaining(p.hit));
      }
    });

    it('finds nothing in the corrected files', () => {
      const l = lesson();
      for (const n of CASES[id]!.negative) {
        expect(lessonPointsAt(l, n.path), `${id} glob ${l.scan!.files} names ${n.path}`).toBe(true);
        expect(scanFiles(l, { [n.path]: n.text }), `${id} in ${n.path}`).toEqual([]);
      }
    });
  });
});
