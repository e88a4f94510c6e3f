import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { spawnCli } from './helpers/cli.js';
import { proposal, targetFixture } from './helpers/target.js';

/*
 * Text from outside kaizen reaches the operator's terminal: a deploy's output in `show`, a proposal
 * file's title in the error that refuses it. Control characters in it are shown as escapes, never
 * sent raw: a real process, reading its real stdout and stderr bytes.
 */

/** Raw control bytes a terminal would obey (C0 but tab and newline, DEL, C1, bidi overrides). */
// eslint-disable-next-line no-control-regex -- looking for raw control bytes is the point
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('what kaizen prints cannot drive the terminal', () => {
  it('a deploy that prints escapes: the rollback, show and show --json print them as text', async () => {
    const fx = await targetFixture({
      target: {
        deploy: {
          command: ['sh', '-c', "printf 'boom\\033]0;pwned\\007\\033[2J\\302\\233 done\\r\\n'; exit 1"],
          timeout: '30s',
          stabilisation: '0s',
        },
      },
    });
    const file = path.join(fx.dir, 'p.yaml');
    writeFileSync(file, stringify(proposal({})));

    const applied = spawnCli(['propose', '--file', file, '--by', 'tester', '--config', fx.configPath], {
      clock: 'system',
    });
    const show = spawnCli(['show', 'K0001', '--config', fx.configPath], { clock: 'system' });
    const json = spawnCli(['show', 'K0001', '--json', '--config', fx.configPath], { clock: 'system' });

    expect(applied.code).toBe(12);
    expect(applied.out).not.toMatch(RAW);
    expect(show.code).toBe(0);
    expect(show.out).not.toMatch(RAW);
    expect(show.out).toContain('boom\\u001b]0;pwned\\u0007\\u001b[2J\\u009b done');
    expect(json.out).not.toMatch(RAW);
    const parsed = JSON.parse(json.out) as { applyLog: { deploy: { output: string } } };
    // JSON stays JSON: the escapes decode back to exactly what the deploy printed.
    expect(parsed.applyLog.deploy.output).toContain('boom\u001b]0;pwned\u0007\u001b[2J\u009b done\r');
  });

  it('a proposal file whose title carries escapes is refused, and the refusal prints none', async () => {
    const fx = await targetFixture();
    const file = path.join(fx.dir, 'p.json');
    writeFileSync(file, JSON.stringify(proposal({ title: 'ok\u001b[8m hidden \u001b]52;c;cm0gLXJm\u0007' })));

    const r = spawnCli(['propose', '--file', file, '--config', fx.configPath], { clock: 'system' });

    expect(r.code).toBe(65);
    expect(r.err).not.toMatch(RAW);
    expect(r.err).toContain('title: contains the control character \\u001b at position 2');
  });
});
