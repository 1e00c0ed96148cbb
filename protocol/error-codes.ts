// Stable error codes a client can switch on. The server's table (server/errors.ts) gives each
// its HTTP status; docs/protocol.md and docs/api.md list them.
export const ERROR_CODES = [
  'BAD_JSON',
  'BAD_REQUEST',
  'UNKNOWN_OP',
  'INVALID_USERNAME',
  'TEXT_EMPTY',
  'TEXT_TOO_LONG',
  'FRAME_TOO_LARGE',
  'NOT_LOGGED_IN',
  'FORBIDDEN',
  'CROSS_ORIGIN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'LENGTH_REQUIRED',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'IDLE_TIMEOUT',
  'SLOW_CONSUMER',
  'TOO_MANY_CONNECTIONS',
  'SHUTTING_DOWN',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  error: string;
  code: ErrorCode;
}
