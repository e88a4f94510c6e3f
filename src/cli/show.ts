import { interventionDetail } from '../loop/intervention-detail.js';
import { printJson, type Io } from './io.js';
import { renderShow } from './render.js';
import { withRuntime } from './runtime.js';

export async function run(id: string, opts: { config?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const { intervention, history, events } = interventionDetail(rt.store, id);
    if (opts.json) return printJson(io, { ...intervention, history, events });
    io.out(renderShow(intervention, history, events));
  });
}
