import { recoverInterrupted } from '../apply/recover.js';
import { printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(opts: { config?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const results = await recoverInterrupted(rt);
    if (opts.json)
      return printJson(
        io,
        results.map((r) => ({ id: r.intervention.id, outcome: r.outcome, state: r.intervention.state })),
      );
    if (results.length === 0) return io.out('nothing to recover: no apply was interrupted');
    for (const r of results)
      io.out(
        `${r.intervention.id} recovered: ${r.intervention.state}${r.outcome === 'failed' ? ` (${r.reason})` : ''}`,
      );
  });
}
