import { build } from 'esbuild';
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/*
 * Bundle the dashboard (Preact and uPlot, TypeScript with JSX) into dist/dashboard/: app.js,
 * app.css, index.html (the page shell every dashboard path serves) and icon.svg. The kaizen server
 * serves that folder; `npm run build` and the test suite's global setup both call this.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The folder the server reads by default (DEFAULT_DASHBOARD_DIR in src/server/dashboard.ts). */
export const DASHBOARD_OUT = path.join(HERE, '..', 'dist', 'dashboard');
const COPIED = ['index.html', 'icon.svg'];

/** Build into `outDir` (default dist/dashboard); returns the files that changed. */
export async function buildDashboard(outDir = DASHBOARD_OUT): Promise<string[]> {
  const result = await build({
    entryPoints: { app: path.join(HERE, 'src', 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // Keep the libraries' licence headers (MIT asks for them) at the end of the bundle.
    legalComments: 'eof',
    outdir: outDir,
    write: false,
    logLevel: 'warning',
  });
  const files = [
    ...result.outputFiles.map((f) => ({ file: f.path, content: Buffer.from(f.contents) })),
    ...(await Promise.all(
      COPIED.map(async (name) => ({
        file: path.join(outDir, name),
        content: await readFile(path.join(HERE, name)),
      })),
    )),
  ];
  await mkdir(outDir, { recursive: true });
  const changed: string[] = [];
  for (const { file, content } of files) {
    if (await writeIfChanged(file, content)) changed.push(path.relative(outDir, file));
  }
  return changed;
}

/**
 * Write only what changed, each file whole (temporary file, then rename): a test run elsewhere
 * may be serving this folder while the suite's global setup builds it again.
 */
async function writeIfChanged(file: string, content: Buffer): Promise<boolean> {
  const old = await readFile(file).catch(() => undefined);
  if (old?.equals(content)) return false;
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
  return true;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const changed = await buildDashboard();
  console.log(
    `dashboard: ${changed.length ? `wrote ${changed.join(', ')}` : 'up to date'} in ${DASHBOARD_OUT}`,
  );
}
