import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { buildDashboard } from '../dashboard/build.js';

/**
 * Build dist/ once, so tests that spawn bin/kaizen.js run the code under test, and the dashboard
 * bundle the server serves (esbuild, well under a second; unchanged files are not rewritten).
 */
export default async function setup(): Promise<void> {
  const root = path.resolve(import.meta.dirname, '..');
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  await buildDashboard();
}
