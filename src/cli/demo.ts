import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clockFromEnv } from '../clock.js';
import { compose, type Runtime } from '../compose.js';
import { loadConfig } from '../config/load.js';
import { runDaemon, type RunningDaemon } from '../daemon/daemon.js';
import { EmbeddedScheduler, type JobDone } from '../daemon/scheduler.js';
import { demoConfig, demoSchedule } from '../demo/demo-config.js';
import { elapsed, Narrator, TOLD_JOB_KINDS } from '../demo/narrator.js';
import { makeScratchTarget } from '../demo/scratch.js';
import { KaizenError, UsageError } from '../errors.js';
import type { DistillSummary } from '../learn/distill/run.js';
import { createLogger } from '../logger.js';
import { runDoctor } from '../loop/doctor.js';
import { submitProposal } from '../loop/submit.js';
import { buildDigest } from '../observe/digest.js';
import { cacheRule } from '../propose/rules/demo-rules.js';
import { weekContaining } from '../report/week.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { runProcess } from '../util/process.js';
import { describe as describeDistill } from './distill.js';
import type { Io } from './io.js';
import { renderSubmit } from './render.js';
import { renderStatus } from './status.js';

export interface DemoOptions {
  dir?: string;
  timeScale: string;
  window: string;
  port?: string;
  keep?: boolean;
  exit?: boolean;
}

/** The change the demo submits by hand: it breaks the target. */
const BAD_CHANGE = {
  title: 'Make requests fast',
  area: 'latency',
  kind: 'config_set',
  changes: [{ kind: 'config_set', path: 'config.json', key: 'latencyMs', value: 'fast' }],
  hypothesis: 'A careless change: latencyMs must be a number, so the service will refuse this config.',
  prediction: { signal: 'latency_p50_ms', direction: 'down', magnitude: 0.5 },
  risk: 'low',
  rollback: 'git revert of the commit, then deploy',
  trigger: 'demo: a change that breaks the target',
};

/** Dense sampling faster than this (real time) asks more than a real target answers reliably. */
const MIN_REAL_DENSE_MS = 50;
/** How often the demo looks at the store to tell what the daemon did (real time). */
const POLL_MS = 100;

const FINISHED = ['validated', 'no_effect', 'reverted', 'rolled_back', 'failed', 'rejected'];

/**
 * The demo: a scratch copy of the demo target as a git repo, deployed as a real process, and
 * `kaizen run` in this process on a compressed clock. The daemon observes, proposes, applies and
 * validates on its own schedule; the demo then submits a change that breaks the target (the daemon
 * rolls it back), asks the scheduler for the nightly distill, writes the week's report, and leaves
 * the dashboard up until Ctrl-C.
 */
export async function run(opts: DemoOptions, io: Io): Promise<void> {
  const scale = Number(opts.timeScale);
  if (!Number.isFinite(scale) || scale < 1 || scale > 100_000)
    throw new UsageError(
      `--time-scale ${JSON.stringify(opts.timeScale)}: expected a number from 1 to 100000`,
    );
  const windowMs = parseDuration(opts.window);
  if (windowMs === undefined || windowMs < 600_000 || windowMs > 86_400_000)
    throw new UsageError(
      `--window ${JSON.stringify(opts.window)}: expected a duration from 10m to 24h, such as 1h`,
    );
  const cadence = demoSchedule(windowMs);
  const realDenseMs = cadence.denseMs / scale;
  if (realDenseMs < MIN_REAL_DENSE_MS) {
    throw new UsageError(
      `--time-scale ${opts.timeScale} with --window ${opts.window}: the window would last ${formatDuration(windowMs / scale)} of real time and need a sample every ${Math.round(realDenseMs)} ms, faster than a real target answers reliably; lower --time-scale or lengthen --window (the window needs at least ${formatDuration(MIN_REAL_DENSE_MS * (windowMs / cadence.denseMs))} of real time)`,
    );
  }
  const port = opts.port === undefined ? 0 : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(
      `--port ${JSON.stringify(opts.port)}: expected a port number from 0 (any free one) to 65535`,
    );

  // Ctrl-C (or SIGTERM) at any point stops the daemon and the target and cleans up.
  const interrupt = new AbortController();
  const onSignal = () =>
    interrupt.abort(
      new KaizenError('INTERRUPTED', 'the demo was interrupted; the daemon and the demo target are stopped'),
    );
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const dir = path.resolve(opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'kaizen-demo-')));
  mkdirSync(dir, { recursive: true });
  // A short stats window, so the target's latency answers a change within seconds; no simulated
  // errors, so error_rate (alert above 0.05) stays clear and only the changes move the signals.
  const repo = makeScratchTarget(dir, { statsWindowMs: 2000, errorRate: 0 });
  io.out(`kaizen demo: scratch target in ${repo} (a git repo on branch main)`);
  const clock = clockFromEnv(process.env, scale);
  let rt: Runtime | undefined;
  let written: string[] | undefined;
  try {
    const deployed = await runProcess([process.execPath, 'deploy.mjs'], {
      cwd: repo,
      env: { ...process.env, PORT: '0' },
      timeoutMs: 30_000,
      clock,
    });
    if (deployed.exitCode !== 0)
      throw new KaizenError('DEMO_FAILED', `the demo target did not start: ${deployed.output.trim()}`);
    const targetPort = readFileSync(path.join(repo, 'run', 'port'), 'utf8').trim();
    io.out(`kaizen demo: ${deployed.stdout.trim()}`);
    const configPath = path.join(dir, 'kaizen.yaml');
    writeFileSync(
      configPath,
      demoConfig({
        baseUrl: `http://127.0.0.1:${targetPort}`,
        dataDir: './.kaizen',
        repo: './target',
        windowMs,
        port,
      }),
    );
    io.out(`kaizen demo: wrote ${configPath}\n`);

    // The story is printed; the structured log would only repeat it on stderr.
    rt = compose(loadConfig(configPath), { clock, logger: createLogger('error') });
    const own = process.env.KAIZEN_TOKEN;
    const token = own && own.length >= 16 ? own : randomBytes(18).toString('base64url');
    written = await withDaemon(rt, token, interrupt.signal, (daemon, jobs) =>
      story(rt!, io, {
        daemon,
        jobs,
        scale,
        windowMs,
        cadence,
        token,
        exit: opts.exit === true,
        interrupt: interrupt.signal,
      }),
    );
  } finally {
    rt?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (written) {
      // The scratch folder goes away; what the demo wrote for a person to open stays.
      const keep = opts.keep || opts.dir;
      const out = keep
        ? path.dirname(written[0]!)
        : mkdtempSync(path.join(os.tmpdir(), 'kaizen-demo-report-'));
      const files = written.map((f) => {
        if (keep) return f;
        copyFileSync(f, path.join(out, path.basename(f)));
        return path.join(out, path.basename(f));
      });
      io.out(`\n== Written for you to open\n  weekly report: ${files[0]}\n  in Markdown:   ${files[1]}`);
    }
    if (opts.keep) {
      const configPath = path.join(dir, 'kaizen.yaml');
      io.out(`\nkept: the demo target is still running; its folder is ${dir}`);
      io.out(`go on with: kaizen run --config ${configPath} --time-scale ${scale}`);
    } else {
      await runProcess([process.execPath, 'stop.mjs'], { cwd: repo, timeoutMs: 10_000, clock });
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
      io.out(
        '\nkaizen demo: demo target stopped' +
          (opts.dir ? `; files left in ${dir}` : ', scratch folder removed'),
      );
    }
  }
}

/** Jobs finished that the story waits on or tells (see withDaemon). */
type JobLog = JobDone[];

/**
 * Run the daemon around `fn`, exactly as `kaizen run` does (embedded scheduler, HTTP server),
 * and stop it cleanly when `fn` is done or fails.
 */
async function withDaemon<T>(
  rt: Runtime,
  token: string,
  interrupt: AbortSignal,
  fn: (daemon: RunningDaemon, jobs: JobLog) => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  const jobs: JobLog = [];
  let ready!: (d: RunningDaemon) => void;
  const up = new Promise<RunningDaemon>((r) => (ready = r));
  // The demo's own data folder and scheduler: a Redis URL in the environment is not for it.
  const { KAIZEN_REDIS_URL: _redis, ...env } = process.env;
  const exited = runDaemon(rt, {
    env: { ...env, KAIZEN_TOKEN: token },
    signal: stop.signal,
    portSetting: '--port',
    onReady: (d) => ready(d),
    // What the story waits on or tells: failures, the first observe, the nightly and weekly jobs.
    // Not every run: a demo left serving its dashboard for hours would keep them all.
    onJobDone: (done) => {
      const first = done.kind === 'observe' && !jobs.some((j) => j.kind === 'observe');
      if (!done.ok || first || TOLD_JOB_KINDS.has(done.kind)) jobs.push(done);
    },
  });
  try {
    const daemon = await Promise.race([
      up,
      exited.then(() =>
        Promise.reject(new KaizenError('DEMO_FAILED', 'the daemon stopped before it was ready')),
      ),
      aborted(interrupt),
    ]);
    return await fn(daemon, jobs);
  } finally {
    stop.abort();
    await exited;
  }
}

const aborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

interface StoryContext {
  daemon: RunningDaemon;
  jobs: JobLog;
  scale: number;
  windowMs: number;
  cadence: ReturnType<typeof demoSchedule>;
  token: string;
  exit: boolean;
  interrupt: AbortSignal;
}

/** The story, told while the daemon lives it. Returns the files of the weekly report. */
async function story(rt: Runtime, io: Io, c: StoryContext): Promise<string[]> {
  const { daemon, jobs } = c;
  const scheduler = daemon.scheduler;
  if (!(scheduler instanceof EmbeddedScheduler))
    throw new KaizenError('DEMO_FAILED', 'the demo runs on the embedded scheduler');
  const target = rt.config.targets[0]!;
  const started = daemon.startedAt;
  const narrator = new Narrator(rt, io.out, started);
  const { cadence } = c;
  const dashboard = `${daemon.server!.url}/`;
  const realSeconds = (simMs: number) => `${(simMs / c.scale / 1000).toFixed(1)} s here`;

  /** Wait (telling the story meanwhile) until `done` holds, or fail after `limitMs` of the daemon's time. */
  const until = async <T>(what: string, limitMs: number, done: () => T | undefined): Promise<T> => {
    const deadline = rt.clock.now() + limitMs;
    for (;;) {
      c.interrupt.throwIfAborted();
      narrator.catchUp(jobs);
      const value = done();
      if (value !== undefined) return value;
      const failed = jobs.find((j) => !j.ok);
      if (failed) throw new KaizenError('DEMO_FAILED', `the ${failed.key} job failed: ${failed.error}`);
      if (rt.clock.now() > deadline)
        throw new KaizenError(
          'DEMO_FAILED',
          `${what} did not happen within ${formatDuration(limitMs)} of the daemon's time`,
        );
      await rt.clock.world.sleep(POLL_MS, c.interrupt).catch(() => undefined);
    }
  };
  const jobDone = (key: string, after: number) => () =>
    jobs.find((j) => j.key === key && j.startedAt >= after);

  io.out(
    `== kaizen run, in this process: the embedded scheduler on a clock ${c.scale}× faster than real time\n` +
      `   (one second here is ${formatDuration(c.scale * 1000)} of kaizen's time; the target still lives in real time)`,
  );
  io.out(
    `   observe every ${formatDuration(cadence.observeMs)}; a propose cycle every ${formatDuration(cadence.proposeMs)} (sooner on an alert); ` +
      `validation windows of ${formatDuration(c.windowMs)}, sampled every ${formatDuration(cadence.denseMs)}`,
  );
  io.out(`   dashboard, live while the demo runs: ${dashboard}`);

  await until('the first observe job', c.windowMs, jobDone(`observe:${target.name}`, started));
  io.out(
    '\n== Observe: every signal sampled from the live target (errors are stored as errors, never as numbers)',
  );
  io.out(renderStatus(buildDigest(rt, target).signals));

  io.out(
    `\n== Propose, guard, apply, validate: all on the daemon's schedule. Rule ${cacheRule.name} proposes a cache once\n` +
      `   latency_p50_ms has held above 30 ms through most of its ${formatDuration(cadence.cacheRuleForMs)} window (${realSeconds(cadence.cacheRuleForMs)}); then the validation window runs.`,
  );
  const good = await until(
    'a validated (or otherwise judged) proposal',
    cadence.cacheRuleForMs + 3 * c.windowMs,
    () => rt.store.interventions.list({ since: started }).find((iv) => FINISHED.includes(iv.state)),
  );
  narrator.catchUp(jobs);

  io.out(
    '\n== A change that breaks the target, submitted while the daemon runs (it waits its turn: one repo-changing job at a time).\n' +
      '   The guard passes it (it looks harmless); the deploy fails; kaizen reverts the commit, redeploys and probes again.',
  );
  const bad = await scheduler.runExclusive(() =>
    submitProposal(rt, { target: target.name, proposal: BAD_CHANGE, origin: 'demo', actor: 'kaizen' }),
  );
  narrator.catchUp(jobs);
  io.out(renderSubmit(bad));

  io.out(
    '\n== Learn: the scheduler runs the nightly distiller now (its time is 03:00), turning the outcomes into lessons',
  );
  const asked = rt.clock.now();
  scheduler.runSoon('distill');
  await until('the distill job', 6 * 3_600_000, jobDone('distill', asked));
  const summary = rt.store.distill.lastFinished()?.summary as DistillSummary | undefined;
  if (summary) io.out(describeDistill(summary, rt.config.timeZone));

  io.out(
    '\n== The weekly meta-review, written now for this week (the daemon writes last week’s every Monday)',
  );
  const { writeWeeklyReport } = await import('../report/weekly.js');
  const week = weekContaining(rt.clock.now(), rt.config.timeZone).label;
  const report = await writeWeeklyReport(rt, { week, provider: null });
  io.out(`  ${report.nextMoves.note}`);

  io.out('\n== Git log of the target');
  const log = await runProcess(['git', 'log', '--format=  %h %s'], {
    cwd: target.repoPath,
    timeoutMs: 10_000,
    clock: rt.clock,
  });
  io.out(log.stdout.trimEnd());
  const doctor = await runDoctor(rt);
  io.out(
    `\n== kaizen doctor: ${doctor.problems.length === 0 ? `all invariants hold over ${doctor.checked} intervention(s)` : doctor.problems.map((p) => p.problem).join('; ')}`,
  );
  const behind = scheduler.jobsBehind();
  if (behind.length)
    io.out(
      `   note: ${behind.join(', ')} could not keep up at ${c.scale}×; a lower --time-scale gives them room`,
    );

  io.out(
    `\n== Dashboard: ${dashboard}\n` +
      `   the backlog, ${good.id} and ${bad.intervention.id} with their decision chains and SHAs, the lessons, the signal charts\n` +
      `   with the apply and revert marked, and this week's report. Approve and reject ask for the token: ${c.token}`,
  );
  if (!c.exit) {
    io.out(
      `\nkaizen is still running (${elapsed(rt.clock.now() - started)} of its time so far); press Ctrl-C to stop the demo.`,
    );
    await aborted(c.interrupt).catch(() => undefined);
    narrator.catchUp(jobs);
  }
  return [report.html, report.markdown, ...report.charts];
}
