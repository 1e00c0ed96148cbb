// The one error type of the desktop client. Server error frames keep their stable code; the
// client adds four codes for what can only go wrong on its side of the wire, so the UI and the
// script modes switch on `code` alone and print `message`, never a stack.
import type { ErrorCode } from '../../protocol/error-codes.js';

export type ClientErrorCode =
  /** The socket could not be opened (refused, unknown host, connect timeout). */
  | 'UNREACHABLE'
  /** The server did not answer a request in time. */
  | 'TIMEOUT'
  /** The connection closed, or was never open, before the reply came. */
  | 'DISCONNECTED'
  /** The server sent something that is not a Parley frame. */
  | 'BAD_FRAME';

export class ParleyError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  /** Seconds the server asked us to wait before retrying (RATE_LIMITED, SHUTTING_DOWN). */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode | ClientErrorCode, message: string, retryAfter?: number) {
    super(message);
    this.name = 'ParleyError';
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Anything caught, as a ParleyError: a bug elsewhere still becomes one readable line. */
export function toParleyError(error: unknown): ParleyError {
  if (error instanceof ParleyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ParleyError('DISCONNECTED', message);
}

/** Socket errors as a person would say them. */
export function describeSocketError(error: NodeJS.ErrnoException, host: string, port: number): string {
  const where = `${host}:${port}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return `cannot reach ${where}: connection refused (is the server running?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${where}: unknown host ${JSON.stringify(host)}`;
    case 'ETIMEDOUT':
      return `cannot reach ${where}: the connection timed out`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to ${where} was reset`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${where}: no route to host`;
    default:
      return `connection to ${where} failed: ${error.message}`;
  }
}
