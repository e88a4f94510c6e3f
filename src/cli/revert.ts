import { recoverInterrupted } from '../apply/recover.js';
import { revertIntervention } from '../apply/revert.js';
import { UsageError } from '../errors.js';
import { printJson, type Io } from './io.js';
import { person } from './person.js';
import { withRuntime } from './runtime.js';

export async function run(
  id: string,
  opts: { config?: string; by?: string; why?: string; json?: boolean },
  io: Io,
): Promise<void> {
  if (!opts.why?.trim()) throw new UsageError('say why with --why "..."');
  const who = person(opts.by);
  await withRuntime(opts, async (rt) => {
    await recoverInterrupted(rt);
    const { intervention, undo } = await revertIntervention(rt, id, who, opts.why!.trim());
    if (opts.json) return printJson(io, { intervention, undo });
    io.out(
      `${id} reverted by ${who}` +
        (undo.revertSha
          ? `: commit ${intervention.commitSha?.slice(0, 7)} undone by ${undo.revertSha.slice(0, 7)}`
          : '') +
        (undo.healthyAfter
          ? '; the target is healthy'
          : '; WARNING: the target is not healthy after the revert'),
    );
  });
}
