import { it, expect } from 'vitest';
import { runCli } from './helpers/cli.js';
import { proposal, targetFixture } from './helpers/target.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
it('repro', async () => {
  const fx = await targetFixture();
  const f = path.join(fx.dir, 'p.json');
  writeFileSync(f, JSON.stringify(proposal({ validationWindow: '2h' })));
  const r = await runCli('propose', '--file', f, '--by', 'tester', '--config', fx.configPath);
  console.log(r.code, r.err.slice(0, 300));
  const b = await runCli('backlog', '--config', fx.configPath);
  console.log(b.code, b.err.slice(0, 200));
  const d = await runCli('doctor', '--config', fx.configPath);
  console.log(d.code, d.err.slice(0, 200));
  console.log(fx.git('log', '--oneline'));
});
