import type { SourceConfig } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import { command } from './command.js';
import { fileAge } from './file-age.js';
import { httpJson } from './http-json.js';
import { logCount } from './log-count.js';
import { processSource } from './process.js';
import { prometheus } from './prometheus.js';
import type { SignalSource } from './types.js';

export type { SignalSource, SourceContext } from './types.js';

/**
 * TypeScript cannot see that a SignalSource<'command'> is safe to hold as a SignalSource of any kind:
 * it is, because the sampler looks each source up by its config's own `kind`.
 */
function erase<K extends SourceConfig['kind']>(source: SignalSource<K>): SignalSource {
  return source as unknown as SignalSource;
}

const ALL = [
  erase(command),
  erase(fileAge),
  erase(httpJson),
  erase(logCount),
  erase(processSource),
  erase(prometheus),
];

/** Every source kind by its config `kind`. A test checks that each source file here is listed. */
export const SOURCES: ReadonlyMap<SourceConfig['kind'], SignalSource> = new Map(ALL.map((s) => [s.kind, s]));

export function sourceFor(kind: string): SignalSource {
  const source = SOURCES.get(kind as SourceConfig['kind']);
  if (source) return source;
  const known = [...SOURCES.keys()].sort().join(', ');
  throw new UsageError(`unknown source kind ${JSON.stringify(kind)}; known kinds: ${known}`);
}
