import { pino, destination, type Level, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs to stderr (stdout belongs to command output). Fixed message text, variable
 * data as fields. Level from KAIZEN_LOG_LEVEL, else the caller's default.
 */
export function createLogger(defaultLevel: Level = 'info', env: NodeJS.ProcessEnv = process.env): Logger {
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
    destination({ fd: 2, sync: true }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
