import { recoverInterrupted } from '../apply/recover.js';
import {
  dueForValidation,
  validateIntervention,
  type ValidationResult,
} from '../validate/validate-intervention.js';
import { printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(
  id: string | undefined,
  opts: { config?: string; json?: boolean },
  io: Io,
): Promise<void> {
  await withRuntime(opts, async (rt) => {
    await recoverInterrupted(rt);
    const ids = id ? [id] : dueForValidation(rt).map((iv) => iv.id);
    const results: ValidationResult[] = [];
    for (const one of ids) results.push(await validateIntervention(rt, one));
    if (opts.json)
      return printJson(
        io,
        results.map((r) => ({ id: r.intervention.id, state: r.intervention.state, verdict: r.verdict })),
      );
    if (results.length === 0) return io.out('no validation window has ended yet');
    for (const r of results) io.out(`${r.intervention.id} ${r.verdict.outcome}: ${r.verdict.reason}`);
  });
}
