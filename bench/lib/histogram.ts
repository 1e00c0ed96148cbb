// A latency histogram that many processes fill and the runner merges: one Uint32Array, so a swarm
// of thousands of clients records millions of deliveries without keeping them, and merging is
// adding arrays (they cross IPC as typed arrays).
//
//   bucket  0 … 999      [0, 100 ms) in 0.1 ms steps      request latencies, exact to 0.1 ms
//   bucket  1000 … N-2   [100 ms, 60 s), each 1% wider    fan-out under overload reaches seconds
//   bucket  N-1          60 s and slower: overflow        a percentile there is Infinity
//
// The cap is above anything a round can measure (a fan-out round sends for 10 s and waits 10 s
// more; the mix sends for 30 s and waits 10 s), so the top of the range is never reported as a
// measurement. If a round ever reaches it, the percentile is Infinity, "slower than the cap, by
// an unknown amount", and the report shows "> 60,000". (The first version stopped at 10 s and
// printed 10,000 for fan-out p99s that were really 17 s.)

const LINEAR_BUCKET_MS = 0.1;
const LINEAR_BUCKETS = 1_000;
const LINEAR_END_MS = LINEAR_BUCKET_MS * LINEAR_BUCKETS;
const GROWTH = 1.01;
/** Latencies at or above this are counted, but only as "slower than the cap". */
export const LATENCY_CAP_MS = 60_000;
const LOG_BUCKETS = Math.ceil(Math.log(LATENCY_CAP_MS / LINEAR_END_MS) / Math.log(GROWTH));
const OVERFLOW = LINEAR_BUCKETS + LOG_BUCKETS;
const BUCKETS = OVERFLOW + 1;

export function createHistogram(): Uint32Array {
  return new Uint32Array(BUCKETS);
}

function bucketOf(ms: number): number {
  if (!(ms >= 0)) return 0;
  if (ms < LINEAR_END_MS) return Math.floor(ms / LINEAR_BUCKET_MS);
  if (ms >= LATENCY_CAP_MS) return OVERFLOW;
  return Math.min(OVERFLOW - 1, LINEAR_BUCKETS + Math.floor(Math.log(ms / LINEAR_END_MS) / Math.log(GROWTH)));
}

function upperEdgeOf(bucket: number): number {
  if (bucket < LINEAR_BUCKETS) return (bucket + 1) * LINEAR_BUCKET_MS;
  return Math.min(LATENCY_CAP_MS, LINEAR_END_MS * GROWTH ** (bucket - LINEAR_BUCKETS + 1));
}

export function recordLatency(histogram: Uint32Array, ms: number): void {
  histogram[bucketOf(ms)]!++;
}

export function mergeInto(target: Uint32Array, source: Uint32Array): void {
  for (let i = 0; i < BUCKETS; i++) target[i]! += source[i]!;
}

export function countOf(histogram: Uint32Array): number {
  let count = 0;
  for (let i = 0; i < BUCKETS; i++) count += histogram[i]!;
  return count;
}

/**
 * The p-th percentile in ms: the upper edge of its bucket (0.1 ms or 1% above the true value at
 * most), Infinity when it lies at or above LATENCY_CAP_MS, NaN when the histogram is empty.
 */
export function latencyPercentile(histogram: Uint32Array, p: number): number {
  const total = countOf(histogram);
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < OVERFLOW; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return upperEdgeOf(i);
  }
  return Number.POSITIVE_INFINITY;
}
