import { recoverInterrupted } from '../apply/recover.js';
import { approve } from '../loop/submit.js';
import { printJson, type Io } from './io.js';
import { person } from './person.js';
import { renderSubmit } from './render.js';
import { withRuntime } from './runtime.js';

export async function run(
  id: string,
  opts: { config?: string; by?: string; json?: boolean },
  io: Io,
): Promise<void> {
  const who = person(opts.by);
  await withRuntime(opts, async (rt) => {
    await recoverInterrupted(rt);
    const result = await approve(rt, id, who);
    if (opts.json) return printJson(io, result);
    io.out(renderSubmit(result));
  });
}
