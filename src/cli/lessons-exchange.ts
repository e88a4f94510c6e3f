import { KaizenError } from '../errors.js';
import type { Io } from './io.js';

// Placeholder until the signed lesson exchange lands.
export function exportLessons(_opts: object, _io: Io): Promise<void> {
  return Promise.reject(new KaizenError('USAGE', 'lessons export is not built yet'));
}
export function sync(_opts: object, _io: Io): Promise<void> {
  return Promise.reject(new KaizenError('USAGE', 'lessons sync is not built yet'));
}
