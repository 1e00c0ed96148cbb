// Small statistics over repeated rounds: the median resists one noisy round on a shared
// machine, and the spread says how much to trust it.

/**
 * Rounds that yielded nothing (NaN) are left out; Infinity ("above the histogram's cap", see
 * histogram.ts) is kept, so a round past the cap pulls the median up instead of vanishing.
 */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median: 0.05 means the rounds agree within 5%; NaN when a round is Infinity. */
  spread: number;
  rounds: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  const measured = values.filter((value) => !Number.isNaN(value));
  const mid = median(measured);
  const min = measured.length > 0 ? Math.min(...measured) : Number.NaN;
  const max = measured.length > 0 ? Math.max(...measured) : Number.NaN;
  const spread = !Number.isFinite(max) ? Number.NaN : mid === 0 ? 0 : (max - min) / Math.abs(mid);
  return { median: mid, min, max, spread, rounds: [...values] };
}

/** The p-th percentile (0..100) of unsorted samples, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
