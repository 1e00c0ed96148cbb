// How long to wait before reconnect attempt N. Exponential, capped, with "equal jitter" (half
// fixed, half random): after a server restart every client retries, and without the random
// half they would all knock at the same instants; without the fixed half a client could retry
// at once, again and again.

export interface BackoffOptions {
  /** Ceiling of the first wait. */
  initialMs: number;
  /** Ceiling of any wait. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000 };

/** `attempt` counts from 1; `random` returns [0, 1) like Math.random (tests pass their own). */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
