import { UsageError } from '../errors.js';
import { reject } from '../loop/submit.js';
import { printJson, type Io } from './io.js';
import { person } from './person.js';
import { withRuntime } from './runtime.js';

export async function run(
  id: string,
  opts: { config?: string; by?: string; why?: string; json?: boolean },
  io: Io,
): Promise<void> {
  if (!opts.why?.trim())
    throw new UsageError(
      'say why with --why "..." (it is kept with the intervention and read by the distiller)',
    );
  const who = person(opts.by);
  await withRuntime(opts, async (rt) => {
    const iv = reject(rt, id, who, opts.why!.trim());
    if (opts.json) return printJson(io, iv);
    io.out(`${iv.id} rejected by ${who}: ${opts.why!.trim()}`);
  });
}
