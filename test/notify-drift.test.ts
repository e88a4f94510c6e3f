import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { submitProposal } from '../src/loop/submit.js';
import { driftScan, type DriftScanResult } from '../src/notify/drift.js';
import { createNotifier } from '../src/notify/notifier.js';
import { GIT_ENV, git } from './helpers/git.js';
import { proposal, targetFixture, type TargetFixture } from './helpers/target.js';
import { tempDir } from './helpers/temp.js';
import { drive, receiver, type Receiver } from './notify-receiver.js';

const runtimes: Runtime[] = [];
afterEach(() => {
  for (const rt of runtimes.splice(0)) rt.close();
});

interface Scene {
  fx: TargetFixture;
  rt: Runtime;
  clock: SimulatedClock;
  rx: Receiver;
  /** One scan of the only target. */
  scan(): Promise<DriftScanResult>;
}

async function scene(): Promise<Scene> {
  const rx = await receiver();
  const fx = await targetFixture({ config: { notifications: { webhooks: [{ url: rx.url }] } } });
  const clock = new SimulatedClock();
  const rt = fx.runtime(clock);
  runtimes.push(rt);
  return { fx, rt, clock, rx, scan: async () => (await driftScan(rt))[0]! };
}

const findings = (r: DriftScanResult) =>
  r.outcome === 'scanned' ? r.findings.map((f) => f.kind) : r.outcome;
const driftEvents = (rt: Runtime) => rt.store.events.list({ kind: 'drift', limit: 1000 }).reverse();
const titles = (rx: Receiver) => (rx.delivered() as { title: string }[]).map((b) => b.title);

describe('the drift scan', () => {
  it('takes HEAD as the baseline on its first scan and reports nothing on a clean repo', async () => {
    const s = await scene();

    const first = await s.scan();
    const second = await s.scan();

    expect(first).toEqual({ target: 'app', outcome: 'scanned', findings: [], eventIds: [] });
    expect(second).toEqual(first);
    expect(driftEvents(s.rt)).toHaveLength(0);
  });

  it('reports uncommitted changes once, again when a new path appears, and never touches the repo', async () => {
    const s = await scene();
    await s.scan();
    s.fx.write('src/app.js', "export const greeting = 'hi';\n");
    s.fx.write('notes.txt', 'a person’s notes\n');
    const statusBefore = s.fx.git('status', '--porcelain');
    const index = path.join(s.fx.repo, '.git', 'index');
    const indexBefore = { mtime: statSync(index).mtimeMs, bytes: readFileSync(index) };

    const first = await s.scan();
    const again = await s.scan();
    s.fx.write('more.txt', 'x\n');
    const grown = await s.scan();

    expect([first, again, grown].map(findings)).toEqual([['dirty'], [], ['dirty']]);
    expect(first.outcome === 'scanned' && first.findings[0]).toEqual({
      kind: 'dirty',
      paths: ['src/app.js', 'notes.txt'],
      summary: `The work tree of ${s.fx.repo} has uncommitted changes in 2 paths (src/app.js, notes.txt). Someone changed files outside kaizen; while they stay, kaizen applies nothing there.`,
    });
    const events = driftEvents(s.rt);
    expect(events.map((e) => e.data.finding)).toEqual(['dirty', 'dirty']);
    expect(events[0]!.data).toMatchObject({ source: 'scan', paths: ['src/app.js', 'notes.txt'] });
    expect(statSync(index).mtimeMs).toBe(indexBefore.mtime);
    expect(readFileSync(index).equals(indexBefore.bytes)).toBe(true);
    expect(statusBefore).toBe('M src/app.js\n?? notes.txt');
    expect(s.fx.git('status', '--porcelain')).toBe('M src/app.js\n?? more.txt\n?? notes.txt');
    expect(s.fx.git('stash', 'list')).toBe('');

    await createNotifier(s.rt).runOnce();
    await createNotifier(s.rt).runOnce();

    expect(titles(s.rx)).toEqual([
      '[app] Drift: uncommitted changes in the work tree',
      '[app] Drift: uncommitted changes in the work tree',
    ]);
    const [body] = s.rx.delivered() as { text: string; next: string }[];
    expect(body!.text).toContain('Uncommitted paths:\n  src/app.js\n  notes.txt');
    expect(body!.next).toBe(
      'kaizen applies nothing on a dirty work tree: commit or remove the changes (it never stashes or discards them)',
    );
  });

  it('reports a commit without the Kaizen-Intervention trailer once, and not kaizen’s own commits', async () => {
    const s = await scene();
    await s.scan();
    const base = s.fx.git('rev-parse', 'HEAD');
    s.fx.write('src/app.js', "export const greeting = 'hotfix';\nexport const retries = 3;\n");
    s.fx.git('commit', '-q', '-am', 'hotfix straight to main');
    const hotfix = s.fx.git('rev-parse', 'HEAD');
    const { intervention: iv } = await submitProposal(s.rt, {
      target: 'app',
      proposal: proposal(),
      origin: 'test',
      actor: 'tester',
    });
    expect(iv.state).toBe('applied');

    const first = await s.scan();
    const again = await s.scan();

    expect([first, again].map(findings)).toEqual([['bypass'], []]);
    expect(first.outcome === 'scanned' && first.findings[0]).toEqual({
      kind: 'bypass',
      commits: [{ sha: hotfix, subject: 'hotfix straight to main' }],
      summary: `1 commit on main since ${base.slice(0, 7)} has no Kaizen-Intervention trailer: it bypassed kaizen’s pipeline (no guard, no recorded SHAs, no health check, no automatic rollback). Newest: ${hotfix.slice(0, 7)} hotfix straight to main`,
    });

    await createNotifier(s.rt).runOnce();

    expect(titles(s.rx)).toEqual(['[app] Drift: commits that bypassed kaizen']);
    const [body] = s.rx.delivered() as { text: string }[];
    expect(body!.text).toContain(
      `Commits without a Kaizen-Intervention trailer:\n  ${hotfix.slice(0, 7)} hotfix straight to main`,
    );
  });

  it('reports another branch checked out, once, and a history rewritten under it', async () => {
    const s = await scene();
    await s.scan();
    s.fx.git('checkout', '-q', '-b', 'hotfix');
    const onHotfix = await s.scan();
    const stillHotfix = await s.scan();
    s.fx.git('checkout', '-q', 'main');
    s.fx.write('x.txt', 'x\n');
    s.fx.git('add', 'x.txt');
    s.fx.git('commit', '-q', '-m', 'x');
    const withX = await s.scan();
    s.fx.git('reset', '-q', '--hard', 'HEAD~1');
    s.fx.git('reflog', 'expire', '--expire=now', '--all');
    s.fx.git('gc', '-q', '--prune=now');

    const rewritten = await s.scan();

    expect([onHotfix, stillHotfix, withX, rewritten].map(findings)).toEqual([
      ['branch'],
      [],
      ['bypass'],
      ['rewritten'],
    ]);
    expect(onHotfix.outcome === 'scanned' && onHotfix.findings[0]!.summary).toBe(
      `The repository ${s.fx.repo} is on branch hotfix, not main: kaizen applies nothing until main is checked out again.`,
    );
    expect(rewritten.outcome === 'scanned' && rewritten.findings[0]!.summary).toMatch(
      /^main no longer contains [0-9a-f]{7}, where the last scan saw it: its history was rewritten \(a reset, rebase or force push\) and is now at [0-9a-f]{7}\.$/,
    );
  });

  it('reports a push to the remote branch from outside kaizen, once', async () => {
    const s = await scene();
    await s.scan();
    const other = tempDir('kaizen-clone-');
    execFileSync('git', ['clone', '-q', s.fx.remote, other], { env: GIT_ENV });
    execFileSync('git', ['-C', other, 'commit', '-q', '--allow-empty', '-m', 'pushed around kaizen'], {
      env: GIT_ENV,
    });
    execFileSync('git', ['-C', other, 'push', '-q', 'origin', 'main'], { env: GIT_ENV });
    const pushed = git(other, 'rev-parse', 'HEAD');

    const first = await s.scan();
    const again = await s.scan();

    expect([first, again].map(findings)).toEqual([['remote'], []]);
    expect(first.outcome === 'scanned' && first.findings[0]).toEqual({
      kind: 'remote',
      remoteSha: pushed,
      summary: `origin/main is at ${pushed.slice(0, 7)}, a commit this repository does not have: someone pushed to it outside kaizen, and kaizen’s next push will be refused.`,
    });
    expect(s.fx.git('rev-parse', 'HEAD')).not.toBe(pushed); // the scan fetched nothing
  });

  it('skips a target while kaizen is applying there: its half-written change is not drift', async () => {
    const s = await scene();
    const { intervention } = await submitProposal(
      s.rt,
      { target: 'app', proposal: proposal(), origin: 'test', actor: 'tester' },
      { apply: false },
    );
    expect(intervention.state).toBe('applying');

    const result = await s.scan();

    expect(result).toEqual({
      target: 'app',
      outcome: 'skipped',
      reason: `${intervention.id} is being applied`,
    });
  });

  it('retries a failing scan with backoff in simulated time, never throws, and records the failure once', async () => {
    const s = await scene();
    rmSync(s.fx.repo, { recursive: true, force: true });
    const start = s.clock.now();

    const first = await drive(s.clock, s.scan());
    const elapsed = s.clock.now() - start;
    const second = await drive(s.clock, s.scan());

    expect(first).toEqual({
      target: 'app',
      outcome: 'failed',
      attempts: 3,
      error: `the target repository ${s.fx.repo} does not exist`,
    });
    expect(elapsed).toBe(6000); // 2 s, then 4 s
    expect(second.outcome).toBe('failed');
    const failures = s.rt.store.events.list({ kind: 'drift_scan_failed' });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.data).toEqual({
      error: `the target repository ${s.fx.repo} does not exist`,
      attempts: 3,
    });
  });

  it('announces the apply’s own refusal on drift too', async () => {
    const s = await scene();
    s.fx.write('src/app.js', 'work in progress\n');
    const { intervention: iv } = await submitProposal(s.rt, {
      target: 'app',
      proposal: proposal(),
      origin: 'test',
      actor: 'tester',
    });
    expect(iv.state).toBe('failed');

    await createNotifier(s.rt).runOnce();

    const [body] = s.rx.delivered() as { title: string; summary: string }[];
    expect(body!.title).toBe(`[app] Drift: ${iv.id} was not applied`);
    expect(body!.summary).toBe(
      `kaizen refused to apply ${iv.id} "Enable the cache": the work tree has uncommitted changes (src/app.js); kaizen never stashes or discards them: commit or remove them, then approve again.`,
    );
  });
});
