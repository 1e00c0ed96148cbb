// A latency histogram that many processes fill and the runner merges: fixed 0.1 ms buckets up
// to 10 s (the last bucket holds everything slower), one Uint32Array, so a swarm of thousands of clients records millions of deliveries
// without keeping them, and merging is adding arrays (they cross IPC as typed arrays).

export const BUCKET_MS = 0.1;
export const BUCKETS = 100_000;

export function createHistogram(): Uint32Array {
  return new Uint32Array(BUCKETS);
}

export function recordLatency(histogram: Uint32Array, ms: number): void {
  const bucket = Math.min(BUCKETS - 1, Math.max(0, Math.floor(ms / BUCKET_MS)));
  histogram[bucket]!++;
}

export function mergeInto(target: Uint32Array, source: Uint32Array): void {
  for (let i = 0; i < BUCKETS; i++) target[i]! += source[i]!;
}

export function countOf(histogram: Uint32Array): number {
  let count = 0;
  for (let i = 0; i < BUCKETS; i++) count += histogram[i]!;
  return count;
}

/** The p-th percentile in ms (upper edge of its bucket), NaN when empty. */
export function latencyPercentile(histogram: Uint32Array, p: number): number {
  const total = countOf(histogram);
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return (i + 1) * BUCKET_MS;
  }
  return BUCKETS * BUCKET_MS;
}
