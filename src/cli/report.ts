import { KaizenError } from '../errors.js';
import type { Io } from './io.js';

// Placeholder until the weekly report lands.
export function weekly(_opts: object, _io: Io): Promise<void> {
  return Promise.reject(new KaizenError('USAGE', 'report weekly is not built yet'));
}
