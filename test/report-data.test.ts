import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATES } from '../src/loop/states.js';
import {
  buildWeeklyReport,
  writeWeeklyReport,
  type WeeklyReport,
  type WrittenReport,
} from '../src/report/weekly.js';
import { formatDuration } from '../src/util/duration.js';
import { buildHistory, SIGNALS, WEEK_END, WEEK_START, type History } from './report-history.js';

/*
 * "Every number in it comes from the store, and a test checks them against the store": each figure
 * of the report for 2026-W47 is recomputed here with plain SQL on the SQLite file (not through the
 * report's code), then found in the data object, the Markdown and the HTML.
 */

const TREND_START = Date.UTC(2026, 8, 28); // Monday of 2026-W40: eight weeks up to W47

let h: History;
let report: WeeklyReport;
let written: WrittenReport;
let md: string;
let html: string;

beforeAll(async () => {
  h = await buildHistory();
  report = await buildWeeklyReport(h.rt, { week: '2026-W47', provider: null });
  written = await writeWeeklyReport(h.rt, { provider: null });
  md = readFileSync(written.markdown, 'utf8');
  html = readFileSync(written.html, 'utf8');
}, 60_000);
afterAll(() => h?.close());

const sql = <T>(query: string, ...params: unknown[]) => h.rt.store.db.prepare(query).all(...params) as T[];
const one = <T>(query: string, ...params: unknown[]) => h.rt.store.db.prepare(query).get(...params) as T;

/** The figure as the HTML shows it (its data-metric cell) and as the Markdown shows it (a table row). */
function rendered(metric: string, label: string): { html: string | undefined; md: string | undefined } {
  const inHtml = new RegExp(`data-metric="${metric.replace('.', '\\.')}">([^<]*)<`).exec(html)?.[1];
  const inMd = md
    .split('\n')
    .find((l) => l.startsWith(`| ${label} | `))
    ?.split(' | ')[1]
    ?.replace(/ \|$/, '');
  return { html: inHtml, md: inMd };
}

/** Alert episodes by gaps and islands over the raw samples, in SQL. */
function episodesSql(signal: keyof typeof SIGNALS) {
  const s = SIGNALS[signal];
  const [op, bound] = 'above' in s.alert ? ['>', s.alert.above] : ['<', s.alert.below];
  const changes = sql<{ t: number; a: number }>(
    `WITH s AS (SELECT t, (value ${op} ?) AS a FROM samples
                WHERE signal_id = (SELECT id FROM signals WHERE name = ?) AND value IS NOT NULL AND t < ?),
          l AS (SELECT t, a, LAG(a) OVER (ORDER BY t) AS prev FROM s)
     SELECT t, a FROM l WHERE (prev IS NULL AND a = 1) OR a <> prev ORDER BY t`,
    bound,
    signal,
    WEEK_END,
  );
  const episodes: { signal: string; start: number; end: number | null }[] = [];
  for (const c of changes) {
    if (c.a === 1) episodes.push({ signal, start: c.t, end: null });
    else episodes.at(-1)!.end = c.t;
  }
  return episodes;
}

describe('the weekly report for 2026-W47, checked against the store', () => {
  it('counts the interventions that entered each state this week', () => {
    const rows = sql<{ state: string; n: number }>(
      `SELECT to_state AS state, COUNT(DISTINCT intervention_id) AS n FROM intervention_transitions
       WHERE at >= ? AND at < ? GROUP BY to_state`,
      WEEK_START,
      WEEK_END,
    );
    const expected = Object.fromEntries(STATES.map((s) => [s, rows.find((r) => r.state === s)?.n ?? 0]));

    expect(report.data.summary.entered).toEqual(expected);
    expect(expected).toMatchObject({
      proposed: 8,
      validated: 2,
      no_effect: 1,
      rolled_back: 3,
      rejected: 1,
      backlog: 1,
    });
    const labels: Record<string, string> = {
      validated: 'validated',
      no_effect: 'no effect',
      rolled_back: 'rolled back',
      proposed: 'proposed',
      rejected: 'rejected',
      applied: 'went live',
    };
    for (const [state, label] of Object.entries(labels)) {
      expect(rendered(`entered.${state}`, label), state).toEqual({
        html: String(expected[state]),
        md: String(expected[state]),
      });
    }
  });

  it('lists every intervention that moved this week with its state at the end of the week', () => {
    const moved = sql<{ id: string; state: string }>(
      `SELECT DISTINCT tr.intervention_id AS id,
         (SELECT to_state FROM intervention_transitions x WHERE x.intervention_id = tr.intervention_id AND x.at < ? ORDER BY x.id DESC LIMIT 1) AS state
       FROM intervention_transitions tr WHERE tr.at >= ? AND tr.at < ? ORDER BY id`,
      WEEK_END,
      WEEK_START,
      WEEK_END,
    );

    expect(report.data.interventions.map((i) => [i.id, i.state]).sort()).toEqual(
      moved.map((m) => [m.id, m.state]),
    );
    for (const m of moved) expect(md).toMatch(new RegExp(`^\\| ${m.id} \\| `, 'm'));
    expect(html.match(/<table data-table="interventions">[\s\S]*?<\/table>/)![0].match(/<tr>/g)).toHaveLength(
      moved.length + 1,
    );
  });

  it('reports calibration this week, before it, and by prompt version and model, from the stored verdicts', () => {
    const points = sql<{
      id: string;
      at: number;
      p: number;
      a: number;
      same: number;
      none: number;
      prompt: string | null;
      provider: string | null;
    }>(
      `SELECT i.id, tr.at, json_extract(i.verdict, '$.predicted.magnitude') AS p, json_extract(i.verdict, '$.actual.magnitude') AS a,
         json_extract(i.verdict, '$.actual.direction') = json_extract(i.verdict, '$.predicted.direction') AS same,
         json_extract(i.verdict, '$.actual.direction') = 'none' AS none,
         (SELECT json_extract(e.data, '$.promptVersion') FROM events e WHERE e.kind = 'proposal_origin' AND e.intervention_id = i.id) AS prompt,
         (SELECT json_extract(e.data, '$.provider') FROM events e WHERE e.kind = 'proposal_origin' AND e.intervention_id = i.id) AS provider
       FROM interventions i JOIN intervention_transitions tr ON tr.intervention_id = i.id AND tr.from_state = 'applied'
       WHERE json_extract(i.verdict, '$.actual.magnitude') IS NOT NULL AND tr.at >= ? AND tr.at < ?`,
      TREND_START,
      WEEK_END,
    );
    const error = (r: (typeof points)[number]) => Math.abs(((r.none ? 0 : r.same ? 1 : -1) * r.a) / r.p - 1);
    const mean = (rs: typeof points) => rs.reduce((s, r) => s + error(r), 0) / rs.length;
    const thisWeek = points.filter((r) => r.at >= WEEK_START);
    const before = points.filter((r) => r.at < WEEK_START);
    const v1 = points.filter((r) => r.prompt === 'proposer.v1' && r.provider === 'anthropic');
    const v2 = points.filter((r) => r.prompt === 'proposer.v2');

    expect(report.data.calibration.thisWeek.n).toBe(thisWeek.length);
    expect(report.data.calibration.thisWeek.meanError).toBeCloseTo(mean(thisWeek), 12);
    expect(report.data.calibration.before.meanError).toBeCloseTo(mean(before), 12);
    expect(rendered('calibration.week', 'calibration error this week')).toEqual({
      html: mean(thisWeek).toFixed(2),
      md: mean(thisWeek).toFixed(2),
    });
    expect(rendered('calibration.before', 'previous 7 weeks').md).toBe(mean(before).toFixed(2));
    expect(report.data.calibration.drift.direction).toBe(
      mean(thisWeek) - mean(before) > 0.1 ? 'worse' : 'steady',
    );
    const row = (label: string) => report.data.byOrigin.find((o) => o.label === label)!;
    expect(row('proposer.v1 · claude-sonnet-4-5').calibration.meanError).toBeCloseTo(mean(v1), 12);
    expect(row('proposer.v2 · claude-sonnet-4-5').calibration.meanError).toBeCloseTo(mean(v2), 12);
    // The prompt change made proposals worse, and the report shows it.
    expect(mean(v2)).toBeGreaterThan(mean(v1));
    expect(row('proposer.v2 · claude-sonnet-4-5').validatedShare!).toBeLessThan(
      row('proposer.v1 · claude-sonnet-4-5').validatedShare!,
    );
  });

  it('counts proposals and their outcomes by prompt version and model', () => {
    const rows = sql<{ prompt: string; proposed: number; validated: number; finished: number }>(
      `SELECT json_extract(e.data, '$.promptVersion') AS prompt, COUNT(*) AS proposed,
         SUM(i.state = 'validated') AS validated,
         SUM(i.state IN ('validated', 'no_effect', 'reverted', 'rolled_back', 'inconclusive')) AS finished
       FROM interventions i JOIN events e ON e.kind = 'proposal_origin' AND e.intervention_id = i.id
       WHERE json_extract(e.data, '$.provider') = 'anthropic' AND i.created_at >= ? AND i.created_at < ?
       GROUP BY prompt ORDER BY prompt`,
      TREND_START,
      WEEK_END,
    );

    for (const r of rows) {
      const label = `${r.prompt} · claude-sonnet-4-5`;
      const o = report.data.byOrigin.find((x) => x.label === label)!;
      expect(o).toMatchObject({ proposed: r.proposed, finished: r.finished });
      expect(o.states.validated).toBe(r.validated);
      const line = md.split('\n').find((l) => l.startsWith(`| ${label} |`))!;
      expect(line.split(' | ').slice(1, 3)).toEqual([String(r.proposed), String(r.validated)]);
      expect(line).toContain(`| ${Math.round((r.validated / r.finished) * 100)} % |`);
    }
    expect(rows).toHaveLength(2);
  });

  it('derives mean time to recovery from the samples with the alert thresholds', () => {
    const episodes = (Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]).flatMap(episodesSql);
    const ended = episodes.filter((e) => e.end !== null && e.end >= WEEK_START && e.end < WEEK_END);
    const mttr = ended.reduce((s, e) => s + (e.end! - e.start), 0) / ended.length;

    expect(ended.map((e) => e.signal).sort()).toEqual([
      'disk_free_gb',
      'disk_free_gb',
      'p95_ms',
      'queue_depth',
    ]);
    expect(report.data.recovery.recovered).toBe(ended.length);
    expect(report.data.recovery.mttrMs).toBe(mttr);
    expect(rendered('recovery.mttr', 'mean time to recovery')).toEqual({
      html: formatDuration(mttr),
      md: formatDuration(mttr),
    });
    expect(report.data.recovery.episodes.map((e) => [e.signal, e.start, e.end])).toEqual(
      episodes
        .filter((e) => e.start < WEEK_END && (e.end ?? Infinity) > WEEK_START)
        .sort((a, b) => a.start - b.start)
        .map((e) => [e.signal, e.start, e.end]),
    );
  });

  it('finds the alerts a validated fix cleared, and the proposals that cite a lesson with a scan rule', () => {
    const fixed = episodesSql('p95_ms').filter(
      (e) => e.end !== null && e.end >= WEEK_START && e.end < WEEK_END,
    );
    const fix = one<{ id: string }>(
      `SELECT id FROM interventions WHERE state = 'validated' AND json_extract(proposal, '$.prediction.signal') = 'p95_ms'
       AND applied_at BETWEEN ? AND ?`,
      fixed[0]!.start,
      fixed[0]!.end,
    );
    const scan = sql<{ id: string; lesson: string }>(
      `SELECT i.id, c.value AS lesson FROM interventions i, json_each(i.proposal, '$.citesLessons') c
       JOIN lessons l ON l.id = c.value WHERE json_extract(l.body, '$.scan') IS NOT NULL AND i.created_at >= ? AND i.created_at < ?`,
      WEEK_START,
      WEEK_END,
    );

    expect(report.data.prevented.clearedAfterValidated.map((e) => e.recovery?.interventionId)).toEqual([
      fix.id,
    ]);
    expect(report.data.prevented.scanCatches.map((c) => [c.interventionId, c.lesson])).toEqual(
      scan.map((s) => [s.id, s.lesson]),
    );
    expect(rendered('prevented.cleared', 'alerts cleared by a validated fix').md).toBe('1');
    expect(rendered('prevented.scan', 'caught by a lesson’s scan rule').html).toBe(String(scan.length));
  });

  it('reports lessons created, retired, most cited and never cited, from the lessons index', () => {
    const created = sql<{ id: string }>(
      `SELECT id FROM lessons WHERE substr(created_at, 1, 10) BETWEEN '2026-11-16' AND '2026-11-22' ORDER BY id`,
    );
    const retired = sql<{ id: string }>(
      `SELECT id FROM lessons WHERE retired_at BETWEEN '2026-11-16' AND '2026-11-22' ORDER BY id`,
    );
    const mentioned = `SELECT c.value FROM interventions i, json_each(i.proposal, '$.citesLessons') c
                       UNION SELECT json_extract(a.value, '$.lesson') FROM interventions i, json_each(i.proposal, '$.arguesAgainst') a`;
    // Lessons that existed by the end of the week (the shipped seed lessons may be newer).
    const never = sql<{ id: string }>(
      `SELECT id FROM lessons WHERE substr(created_at, 1, 10) < '2026-11-23'
       AND (status = 'active' OR retired_at >= '2026-11-23') AND id NOT IN (${mentioned}) ORDER BY id`,
    );
    const cited = sql<{ id: string; n: number }>(
      `SELECT c.value AS id, COUNT(*) AS n FROM interventions i, json_each(i.proposal, '$.citesLessons') c
       WHERE i.created_at >= ? AND i.created_at < ? GROUP BY c.value ORDER BY n DESC, id`,
      TREND_START,
      WEEK_END,
    );

    expect(report.data.lessons.created.map((l) => l.id)).toEqual(created.map((r) => r.id));
    expect(report.data.lessons.retiredThisWeek.map((l) => l.id)).toEqual(retired.map((r) => r.id));
    expect(report.data.lessons.neverCited.map((l) => l.id)).toEqual(never.map((r) => r.id));
    expect(report.data.lessons.mostCited.map((c) => [c.id, c.cited])).toEqual(cited.map((c) => [c.id, c.n]));
    expect(rendered('lessons.created', 'created this week')).toEqual({
      html: String(created.length),
      md: String(created.length),
    });
    expect(rendered('lessons.never_cited', 'never cited').md).toBe(String(never.length));
    expect(md).toMatch(new RegExp(`^\\| ${cited[0]!.id} \\| ${cited[0]!.n} \\| `, 'm'));
  });

  it('reports frozen areas and escalations from the event log', () => {
    const frozen = sql<{ area: string; until: number }>(
      `SELECT json_extract(data, '$.area') AS area, json_extract(data, '$.until') AS until FROM events
       WHERE kind = 'area_frozen' AND t < ? AND json_extract(data, '$.until') > ?`,
      WEEK_END,
      WEEK_START,
    );
    const escalations = one<{ n: number }>(
      `SELECT COUNT(*) AS n FROM events WHERE kind = 'escalation' AND t >= ? AND t < ?`,
      WEEK_START,
      WEEK_END,
    );

    expect(report.data.freezes.frozen.map((f) => [f.area, f.until, f.stillFrozen])).toEqual(
      frozen.map((f) => [f.area, f.until, f.until > WEEK_END]),
    );
    expect(frozen).toHaveLength(1);
    expect(report.data.freezes.escalations).toHaveLength(escalations.n);
    expect(rendered('freezes.escalations', 'escalations')).toEqual({
      html: String(escalations.n),
      md: String(escalations.n),
    });
  });

  it('names the blind spots: silent alerts, repeated no effect, the backlog and why', () => {
    const noEffect = sql<{ area: string; n: number }>(
      `SELECT i.area, COUNT(*) AS n FROM intervention_transitions tr JOIN interventions i ON i.id = tr.intervention_id
       WHERE tr.to_state = 'no_effect' AND tr.at >= ? AND tr.at < ? GROUP BY i.area HAVING COUNT(*) >= 2`,
      TREND_START,
      WEEK_END,
    );
    const backlog = sql<{ id: string; since: number; reason: string }>(
      `SELECT i.id, (SELECT MIN(at) FROM intervention_transitions x WHERE x.intervention_id = i.id AND x.to_state = 'backlog') AS since,
         i.waiting_reason AS reason FROM interventions i WHERE i.state = 'backlog' ORDER BY since`,
    );
    const disk = episodesSql('disk_free_gb').filter((e) => e.start < WEEK_END && e.end! > WEEK_START);
    const diskProposals = one<{ n: number }>(
      `SELECT COUNT(*) AS n FROM interventions i WHERE (i.area = 'storage' OR json_extract(i.proposal, '$.prediction.signal') = 'disk_free_gb')
       AND EXISTS (SELECT 1 FROM json_each(?) e WHERE i.created_at BETWEEN json_extract(e.value, '$[0]') AND json_extract(e.value, '$[1]'))`,
      JSON.stringify(disk.map((e) => [e.start, e.end])),
    );

    expect(report.data.blindSpots.repeatedNoEffect.map((a) => [a.area, a.count])).toEqual(
      noEffect.map((a) => [a.area, a.n]),
    );
    expect(report.data.blindSpots.backlog.map((b) => [b.id, b.since, b.waitingMs, b.reason])).toEqual(
      backlog.map((b) => [b.id, b.since, WEEK_END - b.since, b.reason]),
    );
    expect(diskProposals.n).toBe(0);
    expect(report.data.blindSpots.silentAlerts).toEqual([
      {
        target: 'app',
        signal: 'disk_free_gb',
        episodes: disk.length,
        alertMs: disk.reduce((s, e) => s + e.end! - e.start, 0),
        threshold: '< 10',
      },
    ]);
    for (const b of backlog) expect(md).toContain(`| ${formatDuration(WEEK_END - b.since)} | ${b.reason} |`);
  });

  it('reports model usage of the week from the llm_calls table', () => {
    const usage = one<{ calls: number; failed: number; tokens: number }>(
      `SELECT COUNT(*) AS calls, SUM(outcome <> 'ok') AS failed, SUM(input_tokens + output_tokens) AS tokens FROM llm_calls WHERE t >= ? AND t < ?`,
      WEEK_START,
      WEEK_END,
    );

    expect(report.data.summary).toMatchObject({
      modelCalls: usage.calls,
      modelCallsFailed: usage.failed,
      tokens: usage.tokens,
    });
    expect(rendered('usage.tokens', 'tokens')).toEqual({
      html: String(usage.tokens),
      md: String(usage.tokens),
    });
  });

  it('ranks the next moves deterministically without a model, and says so', () => {
    expect(report.narrative).toMatchObject({ mode: 'ranking', text: null });
    expect(report.narrative.moves.map((m) => m.kind)).toEqual([
      'escalation',
      'frozen',
      'silent_alert',
      'backlog',
      'backlog',
      'no_effect',
      'calibration',
    ]);
    expect(md).toContain('deterministic ranking: no model was asked');
    expect(md).toContain('1. **Look at K0023: kaizen escalated it**');
  });
});

describe('other weeks', () => {
  it('marks the current week as in progress, with figures up to now', async () => {
    const current = await buildWeeklyReport(h.rt, { week: '2026-W48', provider: null });

    expect(current.data.week).toMatchObject({ label: '2026-W48', partial: true, until: h.clock.now() });
    expect(current.markdown).toContain(
      '23–29 Nov 2026 (UTC) — week in progress: figures up to 2026-11-24 09:00 UTC — target app',
    );
    expect(current.data.summary.touched).toBe(0);
    expect(current.markdown).toContain('_No interventions this week._');
  });

  it('reports an old week as it stood at its end: W44 before the v2 prompt existed', async () => {
    const old = await buildWeeklyReport(h.rt, { week: '2026-W44', provider: null });

    expect(old.data.byOrigin.map((o) => o.label)).toEqual(['proposer.v1 · claude-sonnet-4-5']);
    expect(old.data.trend.map((w) => w.label)).toEqual([
      '2026-W37',
      '2026-W38',
      '2026-W39',
      '2026-W40',
      '2026-W41',
      '2026-W42',
      '2026-W43',
      '2026-W44',
    ]);
    // The W44 p95 alert was derived from hourly rollups: its raw samples are past retention.
    expect(old.data.recovery.episodes.map((e) => [e.signal, e.recovery?.how])).toEqual([
      ['p95_ms', 'validated_fix'],
    ]);
    expect(old.data.blindSpots.backlog).toEqual([]);
  });
});

describe('the written files', () => {
  it('puts the HTML, the Markdown and its charts into <dataDir>/reports, the Markdown linking the SVGs next to it', () => {
    const dir = path.join(h.rt.config.dataDir, 'reports');
    const links = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);

    expect(written).toMatchObject({
      week: '2026-W47',
      html: path.join(dir, 'weekly-2026-W47.html'),
      markdown: path.join(dir, 'weekly-2026-W47.md'),
    });
    expect(links.sort()).toEqual(written.charts.map((c) => path.basename(c)).sort());
    for (const l of links)
      expect(readFileSync(path.join(dir, l), 'utf8')).toMatch(
        /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
      );
    expect(links).toEqual(
      expect.arrayContaining([
        'weekly-2026-W47-calibration.svg',
        'weekly-2026-W47-calibration-error.svg',
        'weekly-2026-W47-outcomes.svg',
        'weekly-2026-W47-signal-app-p95_ms.svg',
      ]),
    );
  });

  it('keeps the HTML self-contained: inline SVG and CSS, no script, no external resource', () => {
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);

    expect(html).not.toMatch(/<script|<link|<iframe|<img|<object|<embed|@import/i);
    expect(html).not.toMatch(/url\((?!#)/i); // only references to ids inside the SVG
    expect(html).not.toMatch(/\s(src|href)="(?!#)/i);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
    expect(html.match(/<svg /g)!.length).toBe(written.charts.length);
    expect(existsSync(written.html)).toBe(true);
  });

  it('escapes text from the store: a proposal title with markup stays text', () => {
    expect(html).toContain(
      '<td>Retry idempotent writes once while pool_size &#60; 8 &#38; p99 &#62; 2 s</td>',
    );
    expect(html).not.toContain('pool_size < 8');
    expect(md).toContain('| Retry idempotent writes once while pool_size &lt; 8 &amp; p99 &gt; 2 s |');
  });
});
