import { selectTargets } from '../compose.js';
import { observeTick } from '../observe/tick.js';
import type { SampleOutcome } from '../observe/sampler.js';
import { formatNumber, formatTable, printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(opts: { config?: string; target?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const outcomes: SampleOutcome[] = [];
    for (const target of selectTargets(rt.config, opts.target)) {
      if (target.signals.length === 0) {
        io.err(
          `target ${target.name} has no signals yet: add some under "signals:" in ${rt.config.configPath}`,
        );
        continue;
      }
      outcomes.push(...(await observeTick(rt, target)).outcomes);
    }
    if (opts.json) return printJson(io, outcomes);
    if (outcomes.length === 0) return;
    io.out(renderOutcomes(outcomes));
  });
}

export function renderOutcomes(outcomes: SampleOutcome[]): string {
  return formatTable(
    ['TARGET', 'SIGNAL', 'VALUE', 'UNIT', 'TOOK', 'ERROR'],
    outcomes.map((o) => [
      o.target,
      o.signal,
      o.error === undefined ? formatNumber(o.value) : '-',
      o.unit,
      `${o.tookMs}ms`,
      o.error ?? '',
    ]),
  );
}
