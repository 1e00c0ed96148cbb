// Token bucket per user: `rate` messages per second on average, bursts of up to 3x that. A
// flood from one user is refused with RATE_LIMITED (429 / error frame) and a Retry-After, and
// never slows anyone else down.
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; updatedMs: number }>();

  /** `rate` 0 turns limiting off. */
  constructor(rate: number) {
    this.#rate = rate;
    this.#burst = Math.max(1, rate * 3);
  }

  /** Takes one token; returns 0 when allowed, else the seconds until one is available. */
  take(user: string, nowMs = Date.now()): number {
    if (this.#rate === 0) return 0;
    let bucket = this.#buckets.get(user);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, updatedMs: nowMs };
      this.#buckets.set(user, bucket);
      if (this.#buckets.size > 100_000) this.#forgetFull(nowMs);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * this.#rate);
    bucket.updatedMs = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.#rate);
  }

  // Buckets that have refilled carry no information; dropping them bounds memory.
  #forgetFull(nowMs: number): void {
    for (const [user, bucket] of this.#buckets) {
      if (bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * this.#rate >= this.#burst) this.#buckets.delete(user);
    }
  }
}
