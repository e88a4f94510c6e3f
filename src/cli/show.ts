import { printJson, type Io } from './io.js';
import { renderShow } from './render.js';
import { withRuntime } from './runtime.js';

export async function run(id: string, opts: { config?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const iv = rt.store.interventions.get(id);
    const history = rt.store.interventions.history(id);
    const events = rt.store.events.list({ limit: 1000 }).filter((e) => e.interventionId === id);
    if (opts.json) return printJson(io, { ...iv, history, events });
    io.out(renderShow(iv, history, events));
  });
}
