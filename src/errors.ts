/**
 * Typed errors with stable codes. Callers branch on `code` (or the class), never on message text.
 * Messages say what happened and what to do next.
 */
export type ErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'CONFIG_EXISTS'
  | 'STORE_TOO_NEW'
  | 'STORE_MIGRATION_FAILED'
  | 'SOURCE_FAILED'
  | 'SOURCE_TIMEOUT'
  | 'USAGE'
  | 'NOT_FOUND'
  | 'DEMO_FAILED'
  | 'INTERRUPTED'
  | 'ILLEGAL_TRANSITION'
  | 'PROPOSAL_INVALID'
  | 'DRIFT'
  | 'PATH_ESCAPE'
  | 'CHANGE_NOT_APPLICABLE'
  | 'GIT_FAILED'
  | 'PUSH_NOT_VERIFIED'
  | 'SPAWN_FAILED'
  | 'DOCTOR_FAILED'
  | 'LLM_OUTPUT_INVALID'
  | 'LLM_UNAVAILABLE'
  | 'LLM_TIMEOUT'
  | 'LLM_REJECTED'
  | 'LLM_ABORTED'
  | 'BREAKER_OPEN'
  | 'LESSON_INVALID'
  | 'LESSON_EXISTS'
  | 'KEY_EXISTS'
  | 'KEY_MISSING'
  | 'SIGNATURE_INVALID'
  | 'SYNC_FAILED'
  | 'DISTILL_FAILED'
  | 'REPORT_FAILED'
  | 'REDIS_UNAVAILABLE';

export interface KaizenErrorOptions {
  cause?: unknown;
  /** Whether trying the same thing again later may succeed. Default false. */
  retryable?: boolean;
}

export class KaizenError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: KaizenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** One problem found in a config file, located by line and key path. */
export interface ConfigIssue {
  file: string;
  line: number | undefined;
  path: string;
  message: string;
}

export class ConfigError extends KaizenError {
  readonly issues: ConfigIssue[];

  constructor(
    code: 'CONFIG_NOT_FOUND' | 'CONFIG_INVALID' | 'CONFIG_EXISTS',
    message: string,
    issues: ConfigIssue[] = [],
  ) {
    super(code, message);
    this.issues = issues;
  }

  static fromIssues(issues: ConfigIssue[]): ConfigError {
    const lines = issues.map(formatConfigIssue);
    const head =
      issues.length === 1 ? lines[0]! : `${issues.length} problems in the config:\n  ${lines.join('\n  ')}`;
    return new ConfigError('CONFIG_INVALID', head, issues);
  }
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

export class StoreError extends KaizenError {}

/** A signal source could not produce a number. Stored as an error sample, never as a value. */
export class SourceError extends KaizenError {
  constructor(message: string, options: KaizenErrorOptions & { timeout?: boolean } = {}) {
    super(options.timeout ? 'SOURCE_TIMEOUT' : 'SOURCE_FAILED', message, { retryable: true, ...options });
  }
}

export class UsageError extends KaizenError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export class NotFoundError extends KaizenError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** Redis (the BullMQ backend) cannot be reached or refuses us; the message names host:port, never a password. */
export class RedisUnavailableError extends KaizenError {
  constructor(message: string, options: KaizenErrorOptions = {}) {
    super('REDIS_UNAVAILABLE', message, { retryable: true, ...options });
  }
}

/** Exit codes by error class; the CLI entry point is the only place that maps errors to exits. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return 64;
  if (err instanceof ConfigError) return 78;
  if (err instanceof NotFoundError) return 66;
  if (err instanceof KaizenError) return err.code === 'INTERRUPTED' ? 130 : 70;
  return 1;
}
