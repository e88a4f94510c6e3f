import { KaizenError } from '../errors.js';

/** The `code` of an API error body; stable, for programs. The message is for people. */
export type ApiErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden_host'
  | 'not_found'
  | 'method_not_allowed'
  | 'illegal_transition'
  | 'conflict'
  | 'busy'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'internal';

/** An error that becomes one HTTP answer: `{ error: { code, message } }` with `status`. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: ApiErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** Status and API code for each kaizen error code that is the caller's doing, not kaizen's. */
const CLIENT_ERRORS: Partial<Record<KaizenError['code'], { status: number; code: ApiErrorCode }>> = {
  NOT_FOUND: { status: 404, code: 'not_found' },
  ILLEGAL_TRANSITION: { status: 409, code: 'illegal_transition' },
  // The work tree or HEAD moved under kaizen: nothing was changed; a person must look first.
  DRIFT: { status: 409, code: 'conflict' },
  // Another kaizen process holds the target's lease: nothing was done; the same request later may pass.
  TARGET_BUSY: { status: 409, code: 'busy' },
  USAGE: { status: 400, code: 'bad_request' },
  PROPOSAL_INVALID: { status: 400, code: 'bad_request' },
};

/**
 * The HTTP answer for anything a handler threw. A kaizen error keeps its message (written for
 * people, never a stack); anything else is reported by request id only, its details go to the log.
 */
export function toHttpError(err: unknown, requestId: string): { error: HttpError; unexpected: boolean } {
  if (err instanceof HttpError) return { error: err, unexpected: false };
  if (err instanceof KaizenError) {
    const mapped = CLIENT_ERRORS[err.code];
    if (mapped) return { error: new HttpError(mapped.status, mapped.code, err.message), unexpected: false };
    return { error: new HttpError(500, 'internal', err.message), unexpected: true };
  }
  return {
    error: new HttpError(
      500,
      'internal',
      `internal error (request ${requestId}); the details are in kaizen's log under that request id`,
    ),
    unexpected: true,
  };
}
