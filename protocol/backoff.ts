// How long a client waits before it tries again, shared by the desktop and web clients.
// Exponential, capped, with "equal jitter" (half fixed, half random): after a server restart
// every client retries, and without the random half they would all knock at the same instants;
// without the fixed half a client could retry at once, again and again. A wait the server asks
// for (retryAfter) gets a random part too, for the same reason.

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

/**
 * The server's retryAfter (seconds) as a wait in ms: never shorter than asked, and up to half
 * again as long, so the clients a restart sent away do not all come back in the same instant.
 */
export function retryAfterDelay(seconds: number, random = Math.random): number {
  const asked = seconds * 1000;
  return Math.round(asked + (random() * asked) / 2);
}
