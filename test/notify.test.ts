import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApplyLog } from '../src/apply/apply-intervention.js';
import { SimulatedClock, SystemClock } from '../src/clock.js';
import type { Runtime } from '../src/compose.js';
import { approve, reject, submitProposal } from '../src/loop/submit.js';
import type { Incident } from '../src/notify/notification.js';
import { createNotifier, type NotifyPassResult } from '../src/notify/notifier.js';
import { validateIntervention } from '../src/validate/validate-intervention.js';
import { drive, receiver, type Receiver } from './notify-receiver.js';
import { proposal, targetFixture, type FixtureOptions, type TargetFixture } from './helpers/target.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

const runtimes: Runtime[] = [];
afterEach(() => {
  for (const rt of runtimes.splice(0)) rt.close();
});

interface GenericBody {
  kind: string;
  severity: string;
  title: string;
  summary: string;
  text: string;
  target: string;
  interventionId: string | null;
  eventId: number;
  link: string | null;
  next: string | null;
  incident: Incident | null;
}

type Hook = { url: string; format?: 'generic' | 'slack' | 'discord'; timeout?: string; attempts?: number };

interface Scene {
  fx: TargetFixture;
  rt: Runtime;
  /** Log lines written by the runtime's logger. */
  logs: string[];
  open(): Runtime;
}

/** A target whose kaizen.yaml sends notifications to `hooks`; the runtime logs into `logs`. */
async function scene(
  hooks: Hook[],
  clock: SimulatedClock | SystemClock = new SimulatedClock(),
  extra: { notifications?: Record<string, unknown> } & FixtureOptions = {},
): Promise<Scene> {
  const { notifications, ...fixture } = extra;
  const fx = await targetFixture({
    ...fixture,
    config: { ...fixture.config, notifications: { webhooks: hooks, ...notifications } },
  });
  const logs: string[] = [];
  const open = () => {
    const rt = fx.runtime(clock);
    rt.logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
    runtimes.push(rt);
    return rt;
  };
  return { fx, rt: open(), logs, open };
}

const submit = (rt: Runtime, overrides: Record<string, unknown> = {}) =>
  submitProposal(rt, { target: 'app', proposal: proposal(overrides), origin: 'test', actor: 'tester' });

/** A change that makes the deployed service answer 503, varied by `n` so dedup lets it through. */
const breaking = (n: number) => ({
  title: `Break health #${n}`,
  area: 'health',
  hypothesis: `Turning health off #${n} tests the rollback.`,
  changes: [
    { kind: 'config_set', path: 'config.json', key: 'healthy', value: false },
    { kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 1000 + n },
  ],
});

const generic = (rx: Receiver) => rx.delivered() as GenericBody[];
const eventsOf = (rt: Runtime, kind: string) => rt.store.events.list({ kind, limit: 1000 });
const empty: NotifyPassResult = { examined: 0, planned: 0, sent: 0, failed: 0, pending: 0 };

describe('a rollback through the real apply path', () => {
  it('sends one incident a person can act on, in each format, and nothing on the next pass', async () => {
    const [plain, slack, discord] = [await receiver(), await receiver(), await receiver()];
    const s = await scene(
      [{ url: plain.url }, { url: slack.url, format: 'slack' }, { url: discord.url, format: 'discord' }],
      new SystemClock(),
    );
    const before = s.fx.git('rev-parse', 'HEAD');
    const { intervention: iv } = await submit(s.rt, breaking(1));
    expect(iv.state).toBe('rolled_back');

    const first = await createNotifier(s.rt).runOnce();
    const second = await createNotifier(s.rt).runOnce();

    expect(first).toMatchObject({ planned: 1, sent: 3, failed: 0, pending: 0 });
    expect(second).toEqual(empty);
    const [body] = generic(plain);
    expect(generic(plain)).toHaveLength(1);
    expect(body).toMatchObject({
      kind: 'rollback',
      severity: 'warning',
      target: 'app',
      interventionId: iv.id,
      title: `[app] Rolled back ${iv.id} "Break health #1": health check failed`,
      next: `kaizen show ${iv.id}`,
    });
    const incident = body!.incident!;
    const log = iv.applyLog as ApplyLog;
    expect(incident).toMatchObject({
      interventionId: iv.id,
      title: 'Break health #1',
      hypothesis: 'Turning health off #1 tests the rollback.',
      commitSha: iv.commitSha,
      rolledBackTo: before,
      revertSha: iv.revertSha,
      failure:
        'health check failed: 3 of 3 probes failed; last: status 503, expected 200; status: "down", expected "ok"',
      healthyAfter: true,
      remoteError: null,
      by: 'kaizen',
      detectedAt: log.rollback!.detectedAt,
      finishedAt: log.rollback!.finishedAt,
    });
    expect(incident.probe.map((p) => p.failure)).toEqual(
      Array(3).fill('status 503, expected 200; status: "down", expected "ok"'),
    );
    expect(incident.healthAfter.map((p) => p.ok)).toEqual([true]);
    expect(incident.deployOutput).toContain('deploy: shipped config');
    expect(incident.timeToDetectMs).toBeGreaterThan(0);
    expect(incident.timeToRollbackMs).toBeGreaterThan(0);
    expect(incident.startedAt! + incident.timeToDetectMs!).toBe(incident.detectedAt);
    expect(body!.summary).toBe(
      `health check failed: 3 of 3 probes failed; last: status 503, expected 200; status: "down", expected "ok". kaizen reverted commit ${iv.commitSha!.slice(0, 7)} (revert ${iv.revertSha!.slice(0, 7)}), redeployed and rolled back to ${before.slice(0, 7)}. The target probes healthy again.`,
    );
    for (const line of [
      `Commit: ${iv.commitSha}`,
      `Rolled back to: ${before}`,
      `Revert commit: ${iv.revertSha}`,
      'Time to detect: ',
      'Time to roll back: ',
      'Healthy after: yes',
      'Hypothesis being tested: Turning health off #1 tests the rollback.',
      'Health probes:\n  #1 ',
      'Deploy output:\n  deploy: shipped config',
      'Health probes after the rollback:\n  #1 ',
      `Next: kaizen show ${iv.id}`,
    ])
      expect(body!.text).toContain(line);

    const [slackBody] = slack.delivered() as { text: string; blocks: { type: string }[] }[];
    expect(slackBody!.text).toContain(`[app] Rolled back ${iv.id}`);
    expect(slackBody!.blocks[0]!.type).toBe('header');
    expect(JSON.stringify(slackBody)).toContain(iv.commitSha!);
    const [discordBody] = discord.delivered() as { content: string; embeds: { description: string }[] }[];
    expect(discordBody!.content).toBe(
      `**[app] Rolled back ${iv.id} "Break health #1": health check failed**`,
    );
    expect(discordBody!.embeds[0]!.description).toContain('**Health probes**\n```\n#1 ');

    // The webhook URLs hold tokens: logs name the host only.
    expect(s.logs.join('')).not.toContain('XyZsecretToken123');
    expect(s.logs.filter((l) => l.includes('"msg":"notification sent"'))).toHaveLength(3);
    expect(s.logs.join('')).toContain(`"webhook":"${plain.host}"`);
  });

  it('marks a rollback that left the target unhealthy critical, then announces the recovery once', async () => {
    const rx = await receiver();
    const s = await scene([{ url: rx.url }]);
    s.fx.failNextProbes(6); // the three probes after the deploy and the three after the rollback
    const { intervention: iv } = await submit(s.rt, breaking(1));
    expect(eventsOf(s.rt, 'escalation')).toHaveLength(1);
    const notifier = createNotifier(s.rt);

    await notifier.runOnce();
    const probes = s.fx.probes();
    await notifier.runOnce(); // one probe: healthy
    await notifier.runOnce(); // the episode is over: no probe, nothing to say

    expect(s.fx.probes() - probes).toBe(1);
    expect(generic(rx).map((b) => [b.kind, b.severity])).toEqual([
      ['rollback', 'critical'],
      ['escalation', 'critical'],
      ['recovery', 'info'],
    ]);
    const [rollback, escalation, recovery] = generic(rx);
    expect(rollback!.summary).toContain(
      'The target is STILL UNHEALTHY after the rollback: a person is needed.',
    );
    expect(escalation!.title).toBe(
      '[app] A person is needed: the target is still unhealthy after the rollback',
    );
    expect(recovery!.title).toBe('[app] Recovered: the health probe answers healthy again');
    expect(recovery!.text).toContain(
      'A person was needed since 2026-01-05 12:00 UTC (the target is still unhealthy after the rollback: a person is needed)',
    );
    expect(eventsOf(s.rt, 'recovered')).toHaveLength(1);
    expect(eventsOf(s.rt, 'recovered')[0]!.data).toMatchObject({ escalatedBy: iv.id });
  });

  it('counts a later healthy apply as the recovery when it comes first', async () => {
    const rx = await receiver();
    const s = await scene([{ url: rx.url }]);
    s.fx.failNextProbes(6);
    await submit(s.rt, breaking(1));
    const { intervention: fix } = await submit(s.rt);
    expect(fix.state).toBe('applied');

    await createNotifier(s.rt).runOnce();

    expect(generic(rx).map((b) => b.kind)).toEqual(['rollback', 'escalation', 'recovery']);
    expect(generic(rx)[2]!.title).toBe(`[app] Recovered: ${fix.id} deployed and probed healthy`);
  });

  it('announces three rollbacks in a row and then the freeze of their area, in order', async () => {
    const rx = await receiver();
    const s = await scene([{ url: rx.url }]);
    for (const n of [1, 2, 3]) await submit(s.rt, breaking(n));

    await createNotifier(s.rt).runOnce();

    expect(generic(rx).map((b) => b.kind)).toEqual(['rollback', 'rollback', 'rollback', 'freeze']);
    const freeze = generic(rx)[3]!;
    expect(freeze.title).toBe('[app] Area "health" frozen until 2026-01-06 12:00 UTC');
    expect(freeze.summary).toBe(
      '3 changes in a row in area "health" were rolled back or reverted (K0001, K0002, K0003): kaizen proposes and applies nothing there until 2026-01-06 12:00 UTC. Look at what they had in common before then.',
    );
  });
});

describe('quiet while healthy', () => {
  it('sends nothing for a change that applied and validated', async () => {
    const rx = await receiver();
    const s = await scene([{ url: rx.url }]);
    const notifier = createNotifier(s.rt);
    const { intervention: iv } = await submit(s.rt);

    const afterApply = await notifier.runOnce();
    await validated(s, iv.id, 'down');
    const afterVerdict = await notifier.runOnce();

    expect(s.rt.store.interventions.get(iv.id).state).toBe('validated');
    expect(afterApply.examined).toBeGreaterThanOrEqual(1);
    expect(afterVerdict.examined).toBeGreaterThanOrEqual(1);
    expect([afterApply, afterVerdict]).toMatchObject([
      { planned: 0, sent: 0 },
      { planned: 0, sent: 0 },
    ]);
    expect(rx.requests).toHaveLength(0);
  });

  it('speaks when validation reverts a change: the incident with the time the window took to show it', async () => {
    const rx = await receiver();
    const s = await scene([{ url: rx.url }]);
    const { intervention: iv } = await submit(s.rt);
    await validated(s, iv.id, 'up');

    await createNotifier(s.rt).runOnce();

    const [body] = generic(rx);
    expect(body!.kind).toBe('revert');
    expect(body!.title).toMatch(
      new RegExp(`^\\[app\\] Reverted ${iv.id} "Enable the cache": latency_ms rose`),
    );
    const done = s.rt.store.interventions.get(iv.id);
    expect(body!.incident).toMatchObject({
      by: 'kaizen',
      commitSha: done.commitSha,
      rolledBackTo: done.preApplySha,
      revertSha: done.revertSha,
      hypothesis: done.proposal.hypothesis,
      startedAt: done.appliedAt,
      timeToDetectMs: HOUR + MIN,
      timeToRollbackMs: 0,
      healthyAfter: true,
    });
    expect(body!.incident!.failure).toContain('so it moved the wrong way');
  });
});

/** Samples around the apply, then the validation at the end of the window (latency went `way`). */
async function validated(s: Scene, id: string, way: 'down' | 'up'): Promise<void> {
  const clock = s.rt.clock as SimulatedClock;
  const appliedAt = s.rt.store.interventions.get(id).appliedAt!;
  const rows = s.rt.store.catalog.sync(s.rt.config.targets[0]!, clock.now());
  const signalId = rows.get('latency_ms')!.id;
  const level = way === 'down' ? 60 : 140;
  s.rt.store.samples.insert([
    ...Array.from({ length: 60 }, (_, i) => ({
      signalId,
      t: appliedAt - HOUR + i * MIN,
      value: 100 + (i % 7),
    })),
    ...Array.from({ length: 60 }, (_, i) => ({
      signalId,
      t: appliedAt + 30_000 + i * MIN,
      value: level + (i % 5),
    })),
  ]);
  await clock.advance(HOUR + MIN);
  await validateIntervention(s.rt, id);
}

describe('delivery: retries, refusals, timeouts, deadlines', () => {
  it('delivers once after two 500s, waiting in simulated time', async () => {
    const rx = await receiver((n) => (n <= 2 ? { status: 500 } : { status: 200 }));
    const clock = new SimulatedClock();
    const s = await scene([{ url: rx.url }], clock);
    await submit(s.rt, breaking(1));
    const start = clock.now();

    const result = await drive(clock, createNotifier(s.rt).runOnce(), 100);
    const again = await createNotifier(s.rt).runOnce();

    expect(result).toMatchObject({ planned: 1, sent: 1, failed: 0, pending: 0 });
    expect(rx.requests).toHaveLength(3);
    expect(rx.delivered()).toHaveLength(1);
    expect(clock.now() - start).toBe(3000);
    expect(again).toEqual(empty);
    expect(eventsOf(s.rt, 'notify_failed')).toHaveLength(0);
  });

  it('does not retry a 400: records notify_failed with what the receiver said, and moves on', async () => {
    const rx = await receiver(() => ({ status: 400, body: 'no_text' }));
    const s = await scene([{ url: rx.url, format: 'slack' }]);
    const { intervention: iv } = await submit(s.rt, breaking(1));

    const result = await createNotifier(s.rt).runOnce();
    const again = await createNotifier(s.rt).runOnce();

    expect(result).toMatchObject({ planned: 1, sent: 0, failed: 1, pending: 0 });
    expect(again).toMatchObject({ planned: 0, sent: 0, failed: 0, pending: 0 });
    expect(rx.requests).toHaveLength(1);
    const [failed] = eventsOf(s.rt, 'notify_failed');
    expect(failed!.interventionId).toBe(iv.id);
    expect(failed!.data).toMatchObject({
      webhook: rx.host,
      format: 'slack',
      notification: 'rollback',
      status: 400,
      attempts: 1,
      error: `${rx.host} answered 400 Bad Request: no_text; not retried: the receiver refuses this request (check the webhook URL and its format)`,
    });
    expect(JSON.stringify(failed)).not.toContain('XyZsecretToken123');
    expect(s.logs.some((l) => l.includes('"msg":"notification not delivered"'))).toBe(true);
  });

  it('gives up on a receiver that never answers, leaves its next notification for the next pass, and still serves the others', async () => {
    const hanging = await receiver(() => 'hang');
    const healthy = await receiver();
    const clock = new SimulatedClock();
    const s = await scene([{ url: hanging.url, timeout: '300ms', attempts: 2 }, { url: healthy.url }], clock);
    await submit(s.rt, breaking(1));
    await submit(s.rt, breaking(2));
    // Were the timeout ignored, the hanging receiver would hold this pass until the test's own timeout.
    const result = await drive(clock, createNotifier(s.rt).runOnce(), 100);

    expect(result).toMatchObject({ planned: 2, sent: 2, failed: 1, pending: 1 });
    expect(healthy.delivered()).toHaveLength(2);
    expect(hanging.requests).toHaveLength(2);
    const [failed] = eventsOf(s.rt, 'notify_failed');
    expect(failed!.data.error).toBe(`${hanging.host} did not answer within 300ms; gave up after 2 attempts`);
  });

  it('stops at the pass deadline without giving up, and the next pass goes on', async () => {
    let down = true;
    const rx = await receiver(() => (down ? { status: 503 } : { status: 200 }));
    const clock = new SimulatedClock();
    const s = await scene([{ url: rx.url }], clock, { notifications: { deadline: '5s' } });
    await submit(s.rt, breaking(1));

    const first = await drive(clock, createNotifier(s.rt).runOnce(), 100);
    const tried = rx.requests.length;
    down = false;
    const second = await createNotifier(s.rt).runOnce();

    expect(first).toMatchObject({ planned: 1, sent: 0, failed: 0, pending: 1 });
    expect(tried).toBe(3); // at 0, 1 s and 3 s; the next would be at 7 s, past 5 s
    expect(rx.delivered()).toHaveLength(1);
    expect(second).toMatchObject({ planned: 0, sent: 1, pending: 0 });
    expect(eventsOf(s.rt, 'notify_failed')).toHaveLength(0);
  });
});

describe('once and only once', () => {
  it('a restarted notifier on the same store sends nothing twice, and finishes what was left', async () => {
    const a = await receiver();
    let bDown = true;
    const b = await receiver(() => (bDown ? { status: 503 } : { status: 200 }));
    const clock = new SimulatedClock();
    const s = await scene([{ url: a.url }, { url: b.url }], clock, { notifications: { deadline: '1s' } });
    await submit(s.rt, breaking(1));
    await drive(clock, createNotifier(s.rt).runOnce(), 100);
    expect(a.delivered()).toHaveLength(1);
    expect(b.delivered()).toHaveLength(0);
    s.rt.close();

    bDown = false;
    const rt = s.open();
    const result = await createNotifier(rt).runOnce();
    const again = await createNotifier(s.open()).runOnce();

    expect(result).toMatchObject({ examined: 0, planned: 0, sent: 1 });
    expect(a.delivered()).toHaveLength(1);
    expect(b.delivered()).toHaveLength(1);
    expect(again).toEqual(empty);
  });

  it('on its very first pass treats events older than an hour as history', async () => {
    const rx = await receiver();
    const clock = new SimulatedClock();
    const s = await scene([{ url: rx.url }], clock);
    await submit(s.rt, breaking(1));
    await clock.advance(2 * HOUR);

    const first = await createNotifier(s.rt).runOnce();
    await submit(s.rt, breaking(2));
    const second = await createNotifier(s.rt).runOnce();

    expect(first).toEqual(empty);
    expect(second).toMatchObject({ planned: 1, sent: 1 });
    expect(generic(rx).map((b) => b.title)).toEqual([expect.stringContaining('"Break health #2"')]);
  });

  it('lets one process deliver at a time: a second notifier skips its pass while the first holds the lease', async () => {
    const rx = await receiver(() => 'hang');
    const s = await scene([{ url: rx.url, timeout: '500ms', attempts: 1 }]);
    await submit(s.rt, breaking(1));

    const first = createNotifier(s.rt).runOnce();
    while (rx.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await createNotifier(s.open()).runOnce();
    await first;
    const third = await createNotifier(s.rt).runOnce();

    expect(second).toEqual({
      ...empty,
      skipped: 'another kaizen process is delivering notifications from this store',
    });
    expect(third.skipped).toBeUndefined();
  });

  it('skips a call that overlaps its own running pass', async () => {
    const rx = await receiver(() => 'hang');
    const s = await scene([{ url: rx.url, timeout: '500ms', attempts: 1 }]);
    await submit(s.rt, breaking(1));
    const notifier = createNotifier(s.rt);

    const first = notifier.runOnce();
    const overlapping = await notifier.runOnce();
    await first;

    expect(overlapping).toEqual({ ...empty, skipped: 'the previous notifier pass is still running' });
    expect(rx.requests).toHaveLength(1);
  });

  it('never throws: an unexpected error is returned and logged', async () => {
    const s = await scene([]);
    const notifier = createNotifier(s.rt);
    s.rt.store.close();

    const result = await notifier.runOnce();

    expect(result.error).toBe('The database connection is not open');
    expect(s.logs.some((l) => l.includes('"msg":"notifier pass failed"'))).toBe(true);
  });
});

describe('the backlog and the budget', () => {
  it('announces a waiting proposal with the link to approve it from', async () => {
    const rx = await receiver();
    const slackRx = await receiver();
    const s = await scene([{ url: rx.url }, { url: slackRx.url, format: 'slack' }], undefined, {
      notifications: { dashboardUrl: 'https://kaizen.example.com/ops/' },
    });
    const { intervention: iv } = await submit(s.rt, { title: 'Bigger cache', risk: 'medium' });
    expect(iv.state).toBe('backlog');

    await createNotifier(s.rt).runOnce();

    const [body] = generic(rx);
    const [slack] = slackRx.delivered() as { blocks: { type: string; elements?: { url?: string }[] }[] }[];
    expect(generic(rx)).toHaveLength(1);
    expect(body!.kind).toBe('backlog');
    expect(body!.title).toBe(`[app] Waiting for approval: ${iv.id} "Bigger cache"`);
    expect(body!.link).toBe(`https://kaizen.example.com/ops/backlog/${iv.id}`);
    expect(body!.summary).toMatch(
      /^kaizen will not apply this change on its own: canary: blocked on missing canary/,
    );
    expect(body!.next).toBe(`kaizen approve ${iv.id}, or kaizen reject ${iv.id} --why "…"`);
    expect(body!.text).toContain(`Review and approve: https://kaizen.example.com/ops/backlog/${iv.id}`);
    expect(body!.text).toContain('Expires: 2026-01-19 12:00 UTC');
    const button = slack!.blocks.find((b) => b.type === 'actions')!.elements![0]!;
    expect(button.url).toBe(`https://kaizen.example.com/ops/backlog/${iv.id}`);
  });

  it('links to the server’s own address by default, and says nothing about an item decided before it was read', async () => {
    const rx = await receiver();
    const s = await scene([{ url: rx.url }]);
    const { intervention: waiting } = await submit(s.rt, { title: 'Bigger cache', risk: 'medium' });
    const { intervention: decided } = await submit(s.rt, {
      title: 'Bigger queue',
      area: 'queue',
      risk: 'medium',
      changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 7 }],
    });
    expect(decided.state).toBe('backlog');
    await approve(s.rt, decided.id, 'ana'); // still no canary: back in the backlog
    reject(s.rt, decided.id, 'ana', 'not now');

    await createNotifier(s.rt).runOnce();

    expect(generic(rx).map((b) => b.link)).toEqual([`http://127.0.0.1:7878/backlog/${waiting.id}`]);
  });

  it('announces an item a person approved that still waits once, with why it still waits', async () => {
    const rx = await receiver();
    const s = await scene([{ url: rx.url }]);
    const { intervention: iv } = await submit(s.rt, { title: 'Bigger cache', risk: 'medium' });
    const again = await approve(s.rt, iv.id, 'ana');
    expect(again.intervention.state).toBe('backlog');

    await createNotifier(s.rt).runOnce();

    expect(generic(rx).map((b) => b.title)).toEqual([`[app] Waiting for approval: ${iv.id} "Bigger cache"`]);
  });

  it('says the token budget is spent once per target and day, however often the proposer records it', async () => {
    const rx = await receiver();
    const clock = new SimulatedClock('2026-03-02T08:00:00Z');
    const s = await scene([{ url: rx.url }], clock);
    // The proposer appends this at every cycle while the budget is spent.
    const spent = () =>
      s.rt.store.events.append(clock.now(), {
        kind: 'budget_exhausted',
        target: 'app',
        data: { used: 51_000, limit: 50_000 },
      });

    spent();
    await clock.advance(HOUR);
    spent();
    await createNotifier(s.rt).runOnce();
    await clock.advance(20 * HOUR);
    spent();
    await createNotifier(s.rt).runOnce();

    expect(generic(rx).map((b) => [b.kind, b.title])).toEqual([
      ['budget', '[app] Daily model token budget spent'],
      ['budget', '[app] Daily model token budget spent'],
    ]);
    expect(generic(rx)[0]!.summary).toBe(
      'The proposer has spent today’s model token budget (51000 of 50000 tokens): proposing with the model pauses until the day ends (UTC); the offline rules still run.',
    );
  });

  it('keeps secrets out of what it sends', async () => {
    const rx = await receiver();
    const s = await scene([{ url: rx.url }]);
    await submit(s.rt, {
      title: 'Bigger cache',
      risk: 'medium',
      hypothesis:
        'The old key ghp_abcdefghijklmnopqrstuvwxyz0123456789 was rotated; the cache lost its warm keys.',
    });

    await createNotifier(s.rt).runOnce();

    expect(JSON.stringify(rx.requests[0]!.body)).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
    expect(generic(rx)[0]!.summary).toContain('The old key [REDACTED] was rotated');
  });
});
