import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { writeConfig } from './helpers/config.js';
import { tempDir } from './helpers/temp.js';

/** A config that never calls a model, whatever keys the environment holds. */
const offline = () => writeConfig({ proposer: { provider: 'rules' } });

describe('kaizen report weekly', () => {
  it('writes an empty week sensibly and says where the files are', async () => {
    const config = offline();

    const human = await runCli('report', 'weekly', '--config', config.configPath);
    const json = await runCli('report', 'weekly', '--config', config.configPath, '--json');

    expect(human.code).toBe(0);
    expect(human.err).toBe('');
    const written = JSON.parse(json.out) as {
      week: string;
      html: string;
      markdown: string;
      charts: string[];
      nextMoves: { mode: string };
    };
    expect(written).toMatchObject({ charts: [], nextMoves: { mode: 'ranking' } });
    expect(written.html).toBe(path.join(config.dataDir, 'reports', `weekly-${written.week}.html`));
    expect(human.out).toBe(
      [
        `weekly report ${written.week}:`,
        `  ${written.html}`,
        `  ${written.markdown}`,
        '  0 charts beside it',
        'next moves: deterministic ranking: no model is configured (provider: rules is configured, using the deterministic rules (no LLM))',
        '',
      ].join('\n'),
    );
    const md = readFileSync(written.markdown, 'utf8');
    const html = readFileSync(written.html, 'utf8');
    expect(md).toContain('_No interventions this week._');
    expect(md).toContain('_No signal alerted this week._');
    expect(md).toContain('_Not enough verdicts to tell whether calibration is drifting._');
    expect(html).toContain('<p class="empty">No interventions this week.</p>');
    expect(html).toContain('<div class="value" data-metric="recovery.mttr">–</div>');
    expect(html).not.toContain('<svg');
  });

  it('writes the week asked for', async () => {
    const config = offline();

    const r = await runCli('report', 'weekly', '--week', '2026-W02', '--config', config.configPath, '--json');

    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      week: '2026-W02',
      markdown: path.join(config.dataDir, 'reports', 'weekly-2026-W02.md'),
    });
    expect(readFileSync(path.join(config.dataDir, 'reports', 'weekly-2026-W02.md'), 'utf8')).toMatch(
      /^# kaizen weekly review 2026-W02\n\n5–11 Jan 2026 \(UTC\)/,
    );
  });

  it.each([
    [['--week', '2026-47'], 64, 'kaizen: --week "2026-47": expected an ISO week such as 2026-W47\n'],
    [
      ['--week', '2026-W54'],
      64,
      'kaizen: --week "2026-W54": 2026 has ISO weeks W01 to W53; expected an ISO week such as 2026-W47\n',
    ],
    [
      ['--week', '2999-W01'],
      64,
      /^kaizen: --week 2999-W01 has not started yet: it starts 2998-12-31 00:00 UTC and it is .+; the latest complete week is \d{4}-W\d\d\n$/,
    ],
  ])('refuses %j with exit %i and a message a person can act on', async (args, code, message) => {
    const config = offline();

    const r = await runCli('report', 'weekly', ...args, '--config', config.configPath);

    expect(r.code).toBe(code);
    if (typeof message === 'string') expect(r.err).toBe(message);
    else expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });

  it('says how to get a config when there is none', async () => {
    const missing = path.join(tempDir(), 'kaizen.yaml');

    const r = await runCli('report', 'weekly', '--config', missing);

    expect(r.code).toBe(78);
    expect(r.err).toBe(
      `kaizen: no config file at ${missing}: run "kaizen init" to write a starter config, or pass --config FILE\n`,
    );
  });

  it('fails with REPORT_FAILED, naming the folder, when the reports folder cannot be written', async () => {
    const config = offline();
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(path.join(config.dataDir, 'reports'), 'a file where the folder should be');

    const r = await runCli('report', 'weekly', '--config', config.configPath);

    expect(r.code).toBe(74);
    expect(r.err).toMatch(
      new RegExp(`^kaizen: could not write the weekly report into ${path.join(config.dataDir, 'reports')}: `),
    );
  });
});
