import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SystemClock } from '../clock.js';
import { compose } from '../compose.js';
import { loadConfig } from '../config/load.js';
import { demoConfig } from '../demo/demo-config.js';
import { makeScratchTarget } from '../demo/scratch.js';
import { startDemoTarget } from '../demo/target-process.js';
import { UsageError } from '../errors.js';
import { buildDigest } from '../observe/digest.js';
import { observeTick } from '../observe/tick.js';
import { parseDuration } from '../util/duration.js';
import type { Io } from './io.js';
import { renderOutcomes } from './observe.js';
import { renderStatus } from './status.js';

export interface DemoOptions {
  dir?: string;
  ticks: string;
  interval: string;
  keep?: boolean;
}

/**
 * The demo: a scratch copy of the demo target as a git repo, started as a real process, watched
 * by kaizen through every source kind. Each later stage of the loop extends this story.
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

  const dir = path.resolve(opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'kaizen-demo-')));
  mkdirSync(dir, { recursive: true });
  const repo = makeScratchTarget(dir);
  io.out(`kaizen demo: scratch target in ${repo} (a git repo on branch main)`);

  const target = await startDemoTarget(repo);
  io.out(`kaizen demo: demo target started, pid ${target.pid}, ${target.baseUrl}`);
  const configPath = path.join(dir, 'kaizen.yaml');
  writeFileSync(configPath, demoConfig({ baseUrl: target.baseUrl, dataDir: './.kaizen', repo: './target' }));
  io.out(`kaizen demo: wrote ${configPath}\n`);

  const clock = new SystemClock();
  const rt = compose(loadConfig(configPath), { clock });
  try {
    const demoTarget = rt.config.targets[0]!;
    io.out(
      '== Observe: every signal sampled from the live target, errors stored as errors, never as numbers',
    );
    for (let i = 1; i <= ticks; i++) {
      const { outcomes } = await observeTick(rt, demoTarget);
      io.out(`\n-- tick ${i} of ${ticks}`);
      io.out(renderOutcomes(outcomes));
      if (i < ticks) await clock.sleep(intervalMs);
    }
    io.out('\n== Status (what the proposer will read): last value, age, 24 h trend, alert state');
    io.out(
      renderStatus(
        buildDigest(rt, demoTarget, { staleAfterMs: 3 * rt.config.schedule.observeMs + intervalMs }).signals,
      ),
    );
    io.out(
      '\nThe demo target ships with errorRate 0.08 in its config.json: error_rate is above its 0.05 alert threshold.' +
        '\nNext stages (proposing, guarding, applying and validating a fix) are being built; see README.md.',
    );
  } finally {
    rt.close();
    if (opts.keep) {
      io.out(`\nkept: the demo target is still running (pid ${target.pid}); its folder is ${dir}`);
      io.out(`try: kaizen status --config ${configPath}`);
      target.child.unref();
    } else {
      await target.stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
      io.out(
        '\nkaizen demo: demo target stopped' +
          (opts.dir ? `; files left in ${dir}` : ', scratch folder removed'),
      );
    }
  }
}
