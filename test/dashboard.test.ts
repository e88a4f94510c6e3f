import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { submitProposal } from '../src/loop/submit.js';
import { writeWeeklyReport } from '../src/report/weekly.js';
import { CHROMIUM, HAVE_CHROMIUM, IN_CI, countNear, inkOf, missingChromium } from './helpers/browser.js';
import { proposal } from './helpers/target.js';
import { HOUR, TOKEN, scene, type Scene } from './server-scene.js';

/*
 * The dashboard end to end: a real kaizen server on a real git target, the real bundle, in a
 * real headless Chromium (Debian's `chromium`, which .ci/run installs, driven by playwright-core).
 * A person loads the backlog, sees why an item waits, gives a wrong token and reads the 401, gives
 * the right one, approves, and sees it applied as a commit the target repo really has; the
 * intervention's page shows its decision chain and SHAs; a signal's chart marks when its
 * interventions were applied and undone, and its screenshot shows them.
 *
 * KAIZEN_CHROMIUM overrides the browser path. Under CI a missing browser fails the suite; on a
 * developer's machine it skips with the reason. KAIZEN_UPDATE_SCREENSHOT=1 also writes
 * docs/dashboard.png, the README's screenshot.
 */

const WHAT = "the dashboard's browser test";
if (!HAVE_CHROMIUM && !IN_CI) console.warn(missingChromium(WHAT));

/** Medium-risk changes wait for a person; with a canary for the area, approving applies them. */
const APPROVABLE = { approvalFrom: 'medium', canaryAreas: [{ area: 'cache', paths: ['config.json'] }] };
const MIN = 60_000;
/** Model-written text is untrusted: the page must show it as text, never run or render it. */
const HOSTILE_TITLE = 'Bigger cache <img src=x onerror="window.__pwned=1">';
const HOSTILE_HYPOTHESIS = 'Hot keys are evicted. <script>window.__pwned=2</script>';

let browser: Browser;
const pages: Page[] = [];
// Before the scene's server closes (after-hooks run last-registered first): a page still loading
// would otherwise hold a connection, and the server's close, open.
afterEach(async () => {
  for (const p of pages.splice(0)) await p.close();
});

it.runIf(IN_CI && !HAVE_CHROMIUM)('has Chromium (CI must run the browser test)', () => {
  expect.fail(missingChromium(WHAT));
});

describe.skipIf(!HAVE_CHROMIUM)('the dashboard in headless Chromium', () => {
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('approves a backlog item: why it waits, a 401 for a wrong token, then applied as a real commit with its decision chain', async () => {
    const s = await scene({ policy: APPROVABLE });
    const first = await waiting(s, {
      title: HOSTILE_TITLE,
      hypothesis: HOSTILE_HYPOTHESIS,
      changes: [{ kind: 'config_set', path: 'config.json', key: 'cacheSize', value: 500 }],
    });
    const second = await waiting(s, {
      title: 'More worker threads',
      changes: [{ kind: 'config_set', path: 'app/settings.yaml', key: 'worker.threads', value: 4 }],
    });
    const why = s.rt.store.interventions.get(first).waitingReason!;
    const { page, problems } = await open(s, '/backlog');
    const card = page.locator(`.card[data-id="${first}"]`);

    // What waits, and why.
    await card.waitFor();
    expect(await card.locator('h2').textContent()).toBe(`${first} ${HOSTILE_TITLE}`);
    expect(await card.locator('.why-text').textContent()).toBe(why);
    expect(why).toMatch(/approv/);
    expect(await page.locator(`.card[data-id="${second}"] .badge`).first().textContent()).toBe('backlog');

    // A wrong token: the server's 401 message, nothing changed, and the form asks again.
    await giveCredentials(page, 'ana', `${TOKEN}-wrong`);
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByRole('alert').waitFor();
    expect(await card.getByRole('alert').textContent()).toBe(
      '401 the bearer token is not the one in KAIZEN_TOKEN; nothing was changed',
    );
    expect(s.rt.store.interventions.get(first).state).toBe('backlog');
    await page.locator('input[name="token"]').waitFor();

    // The right token: approved, guarded again, applied as a commit in the target repo.
    await giveCredentials(page, 'ana', TOKEN);
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByRole('status').waitFor({ timeout: 30_000 });
    const applied = s.rt.store.interventions.get(first);
    expect(applied.state).toBe('applied');
    expect(s.fx.git('log', '-1', '--format=%H')).toBe(applied.commitSha);
    expect(s.fx.git('log', '-1', '--format=%B')).toContain(`Kaizen-Intervention: ${first}`);
    expect(await card.getByRole('status').textContent()).toBe(
      `Approved: ${first} is now applied, commit ${applied.commitSha!.slice(0, 10)}. Open ${first}`,
    );
    expect(await card.locator('.badge').first().textContent()).toBe('applied');
    expect(s.rt.store.interventions.history(first).at(-2)).toMatchObject({ to: 'applying', actor: 'ana' });

    // The notifications' link: one backlog item with its controls; rejected from there.
    await page.goto(`${s.server.url}/backlog/${second}`);
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    expect(await page.locator('.why-text').textContent()).toBe(
      s.rt.store.interventions.get(second).waitingReason,
    );
    await page.locator('input[name="why"]').fill('threads are capped by the host');
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.getByRole('status').waitFor();
    expect(s.rt.store.interventions.history(second).at(-1)).toMatchObject({
      to: 'rejected',
      actor: 'ana',
      reason: 'threads are capped by the host',
    });
    await page.locator('h1 + .meta .badge.state-rejected').waitFor();

    // The applied intervention's page: its decision chain, SHAs and history.
    await page.goto(`${s.server.url}/interventions/${first}`);
    const chain = page.getByRole('region', { name: 'Decision chain' });
    await chain.waitFor();
    expect(await chain.locator('.commit-sha').textContent()).toBe(applied.commitSha);
    expect(await chain.textContent()).toContain(`Pre-apply HEAD${applied.preApplySha}`);
    expect(await chain.textContent()).toContain(`Diagnosis${HOSTILE_HYPOTHESIS}`);
    expect(await chain.textContent()).toContain('Predictionlatency_ms down by 30 %');
    expect(
      await page
        .getByRole('region', { name: 'History' })
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent))),
    ).toEqual([
      [expect.any(String), '—', 'proposed', 'ana', expect.any(String)],
      [expect.any(String), 'proposed', 'backlog', 'kaizen', why],
      [expect.any(String), 'backlog', 'applying', 'ana', expect.any(String)],
      [expect.any(String), 'applying', 'applied', 'kaizen', expect.any(String)],
    ]);
    expect(await page.getByRole('region', { name: 'Guard' }).locator('tbody tr').count()).toBeGreaterThan(5);
    // Revert is offered once applied.
    await page.getByRole('button', { name: 'Revert' }).waitFor();

    // Untrusted text stayed text, and the page loaded and ran nothing it should not.
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(problems()).toEqual([]);
  }, 120_000);

  it('beyond loopback, where every call needs the token, shows the 401 and asks for it before reading', async () => {
    const s = await scene({ serverConfig: { host: '0.0.0.0' } });
    const id = await s.finish('validated');
    const base = `http://127.0.0.1:${s.server.port}`;
    const { page, problems } = await open(s, '/interventions', base);

    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toBe(
      '401 kaizen listens beyond loopback, so every call needs the token: send the token from KAIZEN_TOKEN as "Authorization: Bearer <token>"',
    );
    await giveCredentials(page, 'ana', TOKEN);
    await page.locator(`tr[data-id="${id}"]`).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(problems()).toEqual([]);
  }, 60_000);

  it('lists lessons, and draws a signal chart with the apply and revert moments marked', async () => {
    const s = await scene();
    const t0 = s.clock.now();
    const undone = await s.finish('reverted'); // applied t0 + 1 h, reverted t0 + 2 h
    await s.clock.advance(4 * HOUR);
    const kept = await s.finish('applied', { area: 'queue', title: 'Drain the queue faster' }); // applied t0 + 7 h
    await s.clock.advance(5 * HOUR);
    latency(s, t0);
    const report = await writeWeeklyReport(s.rt, { provider: null });
    const { page, problems } = await open(s, '/lessons');

    // Lessons: the shipped seed lessons, each linking to its page.
    await page.locator('tr[data-id="L0001"]').waitFor();
    expect(await page.locator('table.lessons tbody tr').count()).toBeGreaterThanOrEqual(14);
    await page.locator('tr[data-id="L0001"] a').click();
    await page.locator('dl.chain').waitFor();
    expect(await page.locator('h1').textContent()).toMatch(/^L0001 /);
    expect(await page.locator('dl.chain').textContent()).toContain('Prefer');

    // Signals: the digest, then one signal's chart.
    await page.goto(`${s.server.url}/signals`);
    await page.getByRole('link', { name: 'latency_ms' }).click();
    await page.locator('.chart canvas').waitFor();
    await page.locator('ul.markers li').nth(2).waitFor();
    expect(
      await page
        .locator('ul.markers li')
        .evaluateAll((items) => items.map((i) => i.textContent!.split(' ').slice(-2))),
    ).toEqual([
      [undone, 'applied'],
      [undone, 'undone'],
      [kept, 'applied'],
    ]);
    expect(await page.locator('table.interventions tbody tr').count()).toBe(2);

    // The screenshot shows the series and both kinds of marker in their colours.
    const shot = PNG.sync.read(await page.locator('.chart').screenshot());
    const { inked, colours } = inkOf(shot);
    expect(inked).toBeGreaterThan(0.03);
    expect(colours).toBeGreaterThanOrEqual(4);
    expect(countNear(shot, [0x1f, 0x5f, 0xa8]), 'series line').toBeGreaterThan(500);
    expect(countNear(shot, [0x2e, 0x7d, 0x32]), 'applied markers').toBeGreaterThan(300);
    expect(countNear(shot, [0xc6, 0x28, 0x28]), 'revert marker').toBeGreaterThan(100);

    if (process.env.KAIZEN_UPDATE_SCREENSHOT === '1') {
      const file = path.resolve(import.meta.dirname, '../docs/dashboard.png');
      mkdirSync(path.dirname(file), { recursive: true });
      await page.screenshot({ path: file, fullPage: true });
    }

    // The latest weekly report, served as written: it renders with no script and no CSP complaint.
    await page.goto(`${s.server.url}/reports/latest`);
    expect(await page.locator('h1').textContent()).toContain(report.week);
    // Its inline stylesheet applies (the CSP allows inline styles, and nothing else).
    expect(
      await page.locator('body').evaluate((b) => b.ownerDocument.defaultView!.getComputedStyle(b).marginTop),
    ).toBe('0px');
    expect(problems()).toEqual([]);
  }, 120_000);
});

/** A medium-risk proposal by a person, waiting in the backlog for approval. */
async function waiting(s: Scene, overrides: Record<string, unknown>): Promise<string> {
  const r = await submitProposal(s.rt, {
    target: 'app',
    proposal: proposal({ risk: 'medium', ...overrides }),
    origin: 'a person',
    actor: 'ana',
  });
  expect(r.intervention.state).toBe('backlog');
  return r.intervention.id;
}

/**
 * A new page at `route`, recording what should never happen: a script error, a request to another
 * origin, a console error other than the failed requests the test provokes (a 401).
 */
async function open(
  s: Scene,
  route: string,
  base = s.server.url,
): Promise<{ page: Page; problems: () => string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  pages.push(page);
  const problems: string[] = [];
  page.on('pageerror', (err) => void problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(`${base}/`)) problems.push(`request to ${r.url()}`);
  });
  await page.goto(`${base}${route}`);
  return { page, problems: () => problems };
}

async function giveCredentials(page: Page, name: string, token: string): Promise<void> {
  await page.locator('input[name="name"]').fill(name);
  await page.locator('input[name="token"]').fill(token);
  await page.getByRole('button', { name: 'Use' }).click();
}

/**
 * latency_ms every 10 minutes over the last day: about 50 ms, 65 ms while the change that was
 * reverted was in, and about 32 ms once the kept one was applied.
 */
function latency(s: Scene, t0: number): void {
  const id = s.rt.store.catalog.signalsOf('app').get('latency_ms')!.id;
  const now = s.clock.now();
  const samples = [];
  for (let t = now - 24 * HOUR; t <= now; t += 10 * MIN) {
    const base = t >= t0 + 7 * HOUR ? 32 : t >= t0 + HOUR && t < t0 + 2 * HOUR ? 65 : 50;
    samples.push({ signalId: id, t, value: base + 3 * Math.sin(t / (37 * MIN)) });
  }
  s.rt.store.samples.insert(samples);
}
