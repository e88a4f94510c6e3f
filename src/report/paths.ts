import path from 'node:path';
import type { KaizenConfig } from '../config/schema.js';

/**
 * Where weekly reports are written. Its own module so the server can find them without loading
 * the report's charting library into every daemon.
 */
export function reportsDir(config: Pick<KaizenConfig, 'dataDir'>): string {
  return path.join(config.dataDir, 'reports');
}
