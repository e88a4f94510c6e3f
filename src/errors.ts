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
  | 'LESSONS_REFUSED'
  | 'DISTILL_FAILED'
  | 'REPORT_FAILED'
  | 'REDIS_UNAVAILABLE'
  | 'TARGET_BUSY';

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

/**
 * `kaizen lessons sync` refused at least one envelope on the shared branch (tampered, unsigned,
 * untrusted, a replayed older version…). The sync itself did its work: what verified was imported
 * and the reasons were printed; this only makes the exit code (EXIT.refused) tell a cron job that
 * the branch holds something this system does not accept (issue 18).
 */
export class LessonsRefusedError extends KaizenError {
  constructor(message: string) {
    super('LESSONS_REFUSED', message);
  }
}

/**
 * kaizen's exit codes, the one table (README "Exit codes" repeats it and a test keeps the two
 * equal). Outcomes a script must tell apart have codes of their own; 70 is only for kaizen's own
 * bugs. The rest follow sysexits.h.
 */
export const EXIT = {
  /** Done; for a proposal: applied (or nothing to do). */
  ok: 0,
  /** The guard refused the proposal. */
  rejected: 10,
  /** The proposal waits in the backlog for a person or a free slot. */
  deferred: 11,
  /** The change did not stick: it was rolled back, reverted, or failed to apply. */
  rolledBack: 12,
  /** Not allowed in the intervention's present state (approving an applied item; already being applied). */
  notAllowed: 13,
  /** `kaizen lessons sync` refused at least one envelope (tampered, replayed, untrusted). */
  refused: 14,
  /** `kaizen doctor` found records that break an invariant (each is listed with what to do). */
  doctorProblems: 15,
  /** Bad command-line usage or environment. */
  usage: 64,
  /** Input data that fails validation: a proposal file, a lesson, a model's answer. */
  dataInvalid: 65,
  /** No such intervention, lesson, signal, target or file. */
  notFound: 66,
  /** A service kaizen needs did not answer: a model, Redis, a signal source, a git remote. */
  unavailable: 69,
  /** A bug in kaizen. */
  internal: 70,
  /** The store or a repository could not be read or written (corrupt, full disk, read-only, lost). */
  ioError: 74,
  /** Another kaizen process holds the target's lease (it is applying, reverting or recovering); try again. */
  busy: 75,
  /** The config file is missing or invalid. */
  config: 78,
  /** Interrupted by a signal (Ctrl-C, SIGTERM). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every error code's exit code: adding a code to ErrorCode does not compile until it has one. */
const EXIT_BY_CODE: Record<ErrorCode, ExitCode> = {
  CONFIG_NOT_FOUND: EXIT.config,
  CONFIG_INVALID: EXIT.config,
  CONFIG_EXISTS: EXIT.config,
  STORE_TOO_NEW: EXIT.ioError,
  STORE_MIGRATION_FAILED: EXIT.ioError,
  SOURCE_FAILED: EXIT.unavailable,
  SOURCE_TIMEOUT: EXIT.unavailable,
  USAGE: EXIT.usage,
  NOT_FOUND: EXIT.notFound,
  DEMO_FAILED: EXIT.internal,
  INTERRUPTED: EXIT.interrupted,
  ILLEGAL_TRANSITION: EXIT.notAllowed,
  PROPOSAL_INVALID: EXIT.dataInvalid,
  DRIFT: EXIT.notAllowed,
  PATH_ESCAPE: EXIT.dataInvalid,
  CHANGE_NOT_APPLICABLE: EXIT.dataInvalid,
  GIT_FAILED: EXIT.ioError,
  PUSH_NOT_VERIFIED: EXIT.unavailable,
  SPAWN_FAILED: EXIT.unavailable,
  DOCTOR_FAILED: EXIT.doctorProblems,
  LLM_OUTPUT_INVALID: EXIT.unavailable,
  LLM_UNAVAILABLE: EXIT.unavailable,
  LLM_TIMEOUT: EXIT.unavailable,
  LLM_REJECTED: EXIT.unavailable,
  LLM_ABORTED: EXIT.interrupted,
  BREAKER_OPEN: EXIT.unavailable,
  LESSON_INVALID: EXIT.dataInvalid,
  LESSON_EXISTS: EXIT.usage,
  KEY_EXISTS: EXIT.usage,
  KEY_MISSING: EXIT.config,
  SIGNATURE_INVALID: EXIT.dataInvalid,
  SYNC_FAILED: EXIT.unavailable,
  LESSONS_REFUSED: EXIT.refused,
  DISTILL_FAILED: EXIT.unavailable,
  REPORT_FAILED: EXIT.ioError,
  REDIS_UNAVAILABLE: EXIT.unavailable,
  TARGET_BUSY: EXIT.busy,
};

/** The exit code for an error; the CLI entry point is the only place that maps errors to exits. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof KaizenError) return EXIT_BY_CODE[err.code];
  return EXIT.internal;
}
