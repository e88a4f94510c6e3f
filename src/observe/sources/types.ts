import type { Clock } from '../../clock.js';
import type { SourceConfig } from '../../config/schema.js';

/** What a source gets for one sample of one signal. */
export interface SourceContext {
  /** Absolute path of the target repo: relative paths in a source's config resolve against it. */
  repoPath: string;
  clock: Clock;
  /** Aborted when the sample's timeout passes or kaizen shuts down; pass it to fetch and child processes. */
  abort: AbortSignal;
  /**
   * What this source saved for this signal after its previous sample (JSON-serialisable), or
   * undefined on the first sample. Used for rates, CPU deltas and log offsets; kept in the store so a
   * restart continues where it left off.
   */
  state: unknown;
  /** Save state for the next sample; it is stored together with this sample. */
  setState(next: unknown): void;
}

/**
 * One kind of signal source. `sample` returns one finite number or throws a SourceError whose
 * message says what went wrong (it is stored as the sample's error, never as a number).
 */
export interface SignalSource<K extends SourceConfig['kind'] = SourceConfig['kind']> {
  kind: K;
  /** One line for `--help` and docs. */
  describe: string;
  sample(config: Extract<SourceConfig, { kind: K }>, ctx: SourceContext): Promise<number>;
}
