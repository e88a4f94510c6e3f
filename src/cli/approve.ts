import { recoverInterrupted } from '../apply/recover.js';
import { approve } from '../loop/submit.js';
import { printJson, type Io } from './io.js';
import { submitExit } from './outcome.js';
import { person } from './person.js';
import { renderSubmit } from './render.js';
import { withRuntime } from './runtime.js';

export async function run(
  id: string,
  opts: { config?: string; by?: string; json?: boolean },
  io: Io,
): Promise<number> {
  const who = person(opts.by);
  return withRuntime(opts, async (rt) => {
    await recoverInterrupted(rt);
    const result = await approve(rt, id, who);
    if (opts.json) printJson(io, result);
    else io.out(renderSubmit(result));
    return submitExit(result);
  });
}
