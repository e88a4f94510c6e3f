import { compose, type Runtime } from '../compose.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';

/** Load the config and build the runtime; the caller closes it. */
export function openRuntime(opts: { config?: string }): Runtime {
  return compose(loadConfig(resolveConfigPath(opts.config)));
}

export async function withRuntime<T>(opts: { config?: string }, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = openRuntime(opts);
  try {
    return await fn(rt);
  } finally {
    rt.close();
  }
}
