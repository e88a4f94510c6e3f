import { KaizenError } from '../errors.js';
import type { Io } from './io.js';

// Placeholder until the signed lesson exchange lands.
export function init(_opts: object, _io: Io): Promise<void> {
  return Promise.reject(new KaizenError('USAGE', 'keys init is not built yet'));
}
