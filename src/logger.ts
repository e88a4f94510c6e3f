import { destination, pino, type Level, type Logger } from 'pino';
import { printable } from './util/printable.js';

export type { Logger };

/**
 * Structured logs to stderr (stdout belongs to command output). Fixed message text, variable
 * data as fields. Level from KAIZEN_LOG_LEVEL, else the caller's default.
 */
export function createLogger(defaultLevel: Level = 'info', env: NodeJS.ProcessEnv = process.env): Logger {
  const stderr = destination({ fd: 2, sync: true });
  return pino(
    {
      level: env.KAIZEN_LOG_LEVEL ?? defaultLevel,
      base: { app: 'kaizen' },
      // Secrets must never reach a log line, whatever object a caller passes.
      redact: {
        paths: [
          '*.token',
          '*.apiKey',
          '*.api_key',
          '*.authorization',
          '*.headers.authorization',
          '*.password',
        ],
        censor: '[redacted]',
      },
    },
    // Synchronous, so a line is out before a crash; C1 and bidi controls (which JSON leaves as
    // they are) are escaped, so a log line read in a terminal cannot drive it.
    { write: (line: string) => void stderr.write(printable(line)) },
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
