// How figures print, in the report's tables and the runner's round lines alike.
import type { Metric } from './scenario.js';

/** A figure with thousands separators; n/a when it was not measured. */
export function number(value: number, digits: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A metric's value; past its cap (Infinity, see histogram.ts) it shows as "> cap", not a number. */
export function formatValue(value: number, metric: Pick<Metric, 'digits' | 'cap'>): string {
  if (value === Number.POSITIVE_INFINITY && metric.cap !== undefined) return `> ${number(metric.cap, 0)}`;
  return number(value, metric.digits);
}
