import { copyFileSync, readFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SystemClock } from '../clock.js';
import { compose, type Runtime } from '../compose.js';
import { loadConfig } from '../config/load.js';
import { demoConfig } from '../demo/demo-config.js';
import { createLogger } from '../logger.js';
import { makeScratchTarget } from '../demo/scratch.js';
import { KaizenError, UsageError } from '../errors.js';
import { distill } from '../learn/distill/run.js';
import { runDoctor } from '../loop/doctor.js';
import { weekContaining } from '../report/week.js';
import { writeWeeklyReport } from '../report/weekly.js';
import { submitProposal } from '../loop/submit.js';
import { proposeCycle } from '../propose/cycle.js';
import { buildDigest } from '../observe/digest.js';
import { sampleTarget } from '../observe/sampler.js';
import { observeTick } from '../observe/tick.js';
import { parseDuration } from '../util/duration.js';
import { runProcess } from '../util/process.js';
import { denseTick } from '../validate/dense.js';
import { validateIntervention } from '../validate/validate-intervention.js';
import type { Io } from './io.js';
import { renderOutcomes } from './observe.js';
import { describe as describeDistill } from './distill.js';
import { renderSubmit } from './render.js';
import { renderStatus } from './status.js';

export interface DemoOptions {
  dir?: string;
  ticks: string;
  interval: string;
  window: string;
  keep?: boolean;
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

/**
 * The demo: a scratch copy of the demo target as a git repo, deployed as a real process and
 * watched through every source kind; then one good change (applied, validated) and one that
 * breaks the target (auto-reverted), and the timeline of it all.
 */
export async function run(opts: DemoOptions, io: Io): Promise<void> {
  const ticks = Number(opts.ticks);
  if (!Number.isInteger(ticks) || ticks < 1 || ticks > 1000)
    throw new UsageError(`--ticks ${opts.ticks}: expected a whole number from 1 to 1000`);
  const intervalMs = parseDuration(opts.interval);
  if (intervalMs === undefined)
    throw new UsageError(
      `--interval ${JSON.stringify(opts.interval)}: expected a duration such as 1s or 500ms`,
    );
  const windowMs = parseDuration(opts.window);
  if (windowMs === undefined || windowMs < 3000 || windowMs > 600_000) {
    throw new UsageError(
      `--window ${JSON.stringify(opts.window)}: expected a duration from 3s to 10m, such as 10s`,
    );
  }

  const dir = path.resolve(opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'kaizen-demo-')));
  mkdirSync(dir, { recursive: true });
  // A short stats window, so the target's latency answers a change within seconds; no simulated
  // errors, so error_rate (alert above 0.05) stays clear and only the changes move the signals.
  const repo = makeScratchTarget(dir, { statsWindowMs: 2000, errorRate: 0 });
  io.out(`kaizen demo: scratch target in ${repo} (a git repo on branch main)`);
  const clock = new SystemClock();
  const deployed = await runProcess([process.execPath, 'deploy.mjs'], {
    cwd: repo,
    env: { ...process.env, PORT: '0' },
    timeoutMs: 30_000,
    clock,
  });
  if (deployed.exitCode !== 0)
    throw new KaizenError('DEMO_FAILED', `the demo target did not start: ${deployed.output.trim()}`);
  const port = readFileSync(path.join(repo, 'run', 'port'), 'utf8').trim();
  io.out(`kaizen demo: ${deployed.stdout.trim()}`);
  const configPath = path.join(dir, 'kaizen.yaml');
  writeFileSync(
    configPath,
    demoConfig({ baseUrl: `http://127.0.0.1:${port}`, dataDir: './.kaizen', repo: './target', windowMs }),
  );
  io.out(`kaizen demo: wrote ${configPath}\n`);

  // The story is printed; the structured log would only repeat it on stderr.
  const rt = compose(loadConfig(configPath), { clock, logger: createLogger('error') });
  let learnt: Awaited<ReturnType<typeof story>> | undefined;
  try {
    learnt = await story(rt, io, { ticks, intervalMs, windowMs });
  } finally {
    rt.close();
    if (learnt) {
      // The scratch folder goes away; what the demo wrote for a person to open stays.
      const keep = opts.keep || opts.dir;
      const out = keep
        ? path.dirname(learnt.reportFiles[0]!)
        : mkdtempSync(path.join(os.tmpdir(), 'kaizen-demo-report-'));
      const files = learnt.reportFiles.map((f) => {
        if (keep) return f;
        copyFileSync(f, path.join(out, path.basename(f)));
        return path.join(out, path.basename(f));
      });
      io.out(`\n== Written for you to open\n  weekly report: ${files[0]}\n  in Markdown:   ${files[1]}`);
      io.out(
        keep
          ? `  lessons:       ${learnt.lessonsDir}`
          : `  (the lessons stay in the scratch folder only with --keep or --dir)`,
      );
    }
    if (opts.keep) {
      io.out(`\nkept: the demo target is still running; its folder is ${dir}`);
      io.out(`try: kaizen status --config ${configPath}   and   kaizen show K0001 --config ${configPath}`);
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

async function story(
  rt: Runtime,
  io: Io,
  o: { ticks: number; intervalMs: number; windowMs: number },
): Promise<{ lessonsDir: string; reportFiles: string[] }> {
  const target = rt.config.targets[0]!;
  const started = rt.clock.now();
  const dense = rt.config.validation.denseIntervalMs;

  io.out('== Observe: every signal sampled from the live target, errors stored as errors, never as numbers');
  for (let i = 1; i <= o.ticks; i++) {
    const { outcomes } = await observeTick(rt, target);
    io.out(`\n-- tick ${i} of ${o.ticks}`);
    io.out(renderOutcomes(outcomes));
    if (i < o.ticks) await rt.clock.sleep(o.intervalMs);
  }
  io.out('\n== Status (what the proposer will read): last value, age, 24 h trend, alert state');
  io.out(
    renderStatus(
      buildDigest(rt, target, { staleAfterMs: 3 * rt.config.schedule.observeMs + o.intervalMs }).signals,
    ),
  );

  // Fixed-rate, not fixed-delay: on a busy machine a slow tick must not cost the rank test its
  // points. The baseline also goes on until it has enough of them, however long that takes.
  const minTicks = Math.ceil(o.windowMs / dense) - 2;
  const sampleDensely = async (ms: number, only?: string[]) => {
    const start = rt.clock.now();
    for (let tick = 1; rt.clock.now() < start + ms || (only && tick <= minTicks); tick++) {
      // Before the apply there is no open window yet: the baseline samples the predicted signal.
      if (only) await sampleTarget(rt, target, { concurrency: 4, only });
      else await denseTick(rt);
      await rt.clock.sleep(Math.max(0, start + tick * dense - rt.clock.now()));
    }
  };

  io.out(
    `\n== Baseline: sampling latency every ${dense} ms for ${o.windowMs / 1000} s, so the rank test has enough points`,
  );
  await sampleDensely(o.windowMs, ['latency_p50_ms', 'latency_p95_ms', 'error_rate']);

  io.out('\n== Propose: the offline rules engine reads the samples; a rule whose condition held fires');
  const cycle = await proposeCycle(rt, target);
  for (const n of cycle.notes) io.out(`  ${n}`);
  const good = cycle.submitted[0];
  if (!good)
    throw new KaizenError('DEMO_FAILED', `the rules engine proposed nothing: ${cycle.notes.join('; ')}`);
  io.out('\n== Its proposal through the guard gate, applied as a git commit, deployed and probed');
  io.out(renderSubmit(good));

  if (good.intervention.state === 'applied') {
    io.out(
      `\n== Validate: sampling the predicted signal through the ${o.windowMs / 1000} s window, then Mann–Whitney U`,
    );
    await sampleDensely(o.windowMs + dense);
    const { verdict, intervention } = await validateIntervention(rt, good.intervention.id);
    io.out(`${intervention.id} ${verdict.outcome}: ${verdict.reason}`);
  }

  io.out(
    '\n== A change that breaks the target: the deploy fails, kaizen reverts the commit, redeploys and probes again',
  );
  const bad = await submitProposal(rt, {
    target: target.name,
    proposal: BAD_CHANGE,
    origin: 'demo',
    actor: 'kaizen',
  });
  io.out(renderSubmit(bad));

  io.out('\n== Timeline');
  const events = rt.store.events.list({ since: started, limit: 1000 }).reverse();
  const history = [good.intervention.id, bad.intervention.id].flatMap((id) =>
    rt.store.interventions
      .history(id)
      .map((h) => ({ t: h.at, line: `${id} ${h.from ?? '-'} → ${h.to} (${h.actor}): ${h.reason}` })),
  );
  const lines = [
    ...history,
    ...events
      .filter((e) => !e.kind.startsWith('verdict_'))
      .map((e) => ({ t: e.t, line: `${e.interventionId ?? ''} event ${e.kind}` })),
  ].sort((a, b) => a.t - b.t);
  for (const l of lines) io.out(`  +${((l.t - started) / 1000).toFixed(1).padStart(5)} s  ${l.line}`);

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

  io.out('\n== Learn: the nightly distiller, run now, turns the outcomes into lessons');
  const learnt = await distill(rt);
  io.out(describeDistill(learnt, rt.config.timeZone));

  io.out('\n== The weekly meta-review, written now for this week (it runs every Monday)');
  const week = weekContaining(rt.clock.now(), rt.config.timeZone).label;
  const report = await writeWeeklyReport(rt, { week, provider: null });
  io.out(`  ${report.nextMoves.note}`);
  return { lessonsDir: rt.config.lessonsDir, reportFiles: [report.html, report.markdown, ...report.charts] };
}
