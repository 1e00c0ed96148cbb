// One error type for every edge. Handlers throw ApiError; the HTTP router and the TCP
// connection each answer it in one place (status + JSON body, or an error frame). Anything
// else is a bug: logged with its stack, answered as a plain INTERNAL error that reveals nothing.
import type { ErrorBody, ErrorCode } from '../protocol/error-codes.js';

/** The HTTP status of every code; TCP error frames carry the code alone. */
export const STATUS_OF: Record<ErrorCode, number> = {
  BAD_JSON: 400,
  BAD_REQUEST: 400,
  UNKNOWN_OP: 400,
  INVALID_USERNAME: 400,
  TEXT_EMPTY: 400,
  TEXT_TOO_LONG: 400,
  FRAME_TOO_LARGE: 413,
  NOT_LOGGED_IN: 401,
  FORBIDDEN: 403,
  CROSS_ORIGIN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  LENGTH_REQUIRED: 411,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  IDLE_TIMEOUT: 408,
  SLOW_CONSUMER: 400,
  TOO_MANY_CONNECTIONS: 503,
  SHUTTING_DOWN: 503,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export interface ApiErrorDetails {
  /** Seconds until a retry may succeed (429, 503): becomes `Retry-After` / `retryAfter`. */
  retryAfter?: number;
  /** Methods a path accepts (405): becomes `Allow`. */
  allow?: readonly string[];
}

/**
 * Every 503 tells the client when to come back (docs/api.md, openapi.yaml): this when whoever
 * raised it had no better figure, e.g. a failure rebuilt from a worker's TaskOutcome.
 */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly details: ApiErrorDetails;

  constructor(code: ErrorCode, message: string, details: ApiErrorDetails = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = STATUS_OF[code];
    this.details = this.status === 503 && details.retryAfter === undefined ? { ...details, retryAfter: DEFAULT_RETRY_AFTER_SECONDS } : details;
  }

  toBody(): ErrorBody {
    return { error: this.message, code: this.code };
  }
}

/** What every store answers a request that arrives while the server stops. */
export function shuttingDown(): ApiError {
  return new ApiError('SHUTTING_DOWN', 'the server is shutting down; try again in a few seconds', { retryAfter: 5 });
}

export const INTERNAL_MESSAGE = 'something went wrong on the server; the error was logged, please try again';

/** Turns anything thrown into the ApiError to answer with; `isBug` says whether to log a stack. */
export function toApiError(error: unknown): { error: ApiError; isBug: boolean } {
  if (error instanceof ApiError) return { error, isBug: false };
  return { error: new ApiError('INTERNAL', INTERNAL_MESSAGE), isBug: true };
}

/**
 * Piscina tasks cannot throw ApiError across the thread boundary (structured clone drops the
 * class and its fields), so they return this shape and the caller rebuilds the ApiError.
 */
export type TaskOutcome<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

export function unwrapOutcome<T>(outcome: TaskOutcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new ApiError(outcome.code, outcome.message);
}
