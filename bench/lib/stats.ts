// Small statistics over repeated rounds: the median resists one noisy round on a shared
// machine, and the spread says how much to trust it.

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median: 0.05 means the rounds agree within 5%. */
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
  const finite = values.filter(Number.isFinite);
  const mid = median(finite);
  const min = finite.length > 0 ? Math.min(...finite) : Number.NaN;
  const max = finite.length > 0 ? Math.max(...finite) : Number.NaN;
  return { median: mid, min, max, spread: mid === 0 ? 0 : (max - min) / Math.abs(mid), rounds: [...values] };
}

/** The p-th percentile (0..100) of unsorted samples, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
