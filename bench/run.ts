/**
 * `npm run bench -- NAME [NAME …]` runs the named benchmarks (all when none is named).
 * Benchmarks print figures and ratios against a baseline measured in the same run; they assert nothing.
 */
const BENCHES: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  observe: () => import('./observe.js'),
  rollback: () => import('./rollback.js'),
  propose: () => import('./propose.js'),
  bullmq: () => import('./bullmq.js'),
  daemon: () => import('./daemon.js'),
};

const names = process.argv.slice(2).filter((a) => a !== '--');
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`,
  );
  process.exit(64);
}
for (const name of names.length > 0 ? names : Object.keys(BENCHES)) {
  console.log(`\n## bench ${name}`);
  await (await BENCHES[name]!()).run();
}
