import { KaizenError } from '../errors.js';
import type { Io } from './io.js';

// Placeholder until the distiller lands.
export function run(_opts: object, _io: Io): Promise<void> {
  return Promise.reject(new KaizenError('USAGE', 'distill is not built yet'));
}
