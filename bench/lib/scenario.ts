// What a scenario is, and what the runner makes of it. A scenario names the systems it compares,
// the figures one round yields, the ratios that matter and the targets; the runner starts the
// systems, alternates them over the rounds and judges the medians.
import type { BenchOptions, ScenarioName } from './options.js';
import type { Summary } from './stats.js';
import type { RunningSystem, SystemName } from './systems.js';

export interface Metric {
  key: string;
  label: string;
  unit: string;
  digits: number;
  /** Where the instrument stops (histogram.ts): a round past it is Infinity, shown as "> cap". */
  cap?: number;
}

/** `system / against` on one metric, measured in the same run. */
export interface Comparison {
  metric: string;
  system: SystemName;
  against: SystemName;
  /** The ratio must be at least this (metrics where more is better)... */
  atLeast?: number;
  /** ...or at most this (latency, memory, CPU). Neither: reported, not judged. */
  atMost?: number;
  /** Why this ratio is shown, e.g. "worker-pool ablation". */
  note?: string;
}

/** An absolute target on one system's median, e.g. p99 < 100 ms. */
export interface Target {
  metric: string;
  system: SystemName;
  atLeast?: number;
  below?: number;
  /** Judge the worst round instead of the median (e.g. "nothing dropped"). */
  worstRound?: boolean;
  /** The target as the issue words it, e.g. "p99 < 100 ms". */
  label: string;
}

/** One scenario's work for one run of the bench; it may hold shared resources (swarms). */
export interface ScenarioRun {
  /** Seeds, logs in and checks the system's answers before anything is timed. Throws to leave it out. */
  prepare(system: RunningSystem): Promise<void>;
  /**
   * One timed round: metric key -> value. `remark` adds a line the runner prints under the
   * round's figures and keeps in the results (e.g. why clients were lost).
   */
  measure(system: RunningSystem, round: number, remark: (line: string) => void): Promise<Record<string, number>>;
  close(): Promise<void>;
  /** Lines for the report: the scale actually used, anything scaled down and why. */
  notes: string[];
}

export interface Scenario {
  name: ScenarioName;
  /** The numbering (1-6), so the report reads against it. */
  number: string;
  title: string;
  /** One sentence: what is measured and how. */
  measures: string;
  systems: SystemName[];
  metrics: Metric[];
  comparisons: Comparison[];
  targets: Target[];
  start(options: BenchOptions): ScenarioRun;
}

export interface ComparisonResult extends Comparison {
  ratio: number;
  /**
   * Set when one side's median is past the metric's cap: the ratio was taken with the cap in its
   * place, so the true ratio is at most ('≤') or at least ('≥') `ratio`. Both past it: ratio NaN.
   */
  bound?: '≤' | '≥';
  /** Lowest and highest per-round ratio (rounds pair up in run order; rounds past the cap left out). */
  low: number;
  high: number;
  pass: boolean | undefined;
}

export interface TargetResult extends Target {
  value: number;
  pass: boolean | undefined;
}

export interface SystemResult {
  description: string;
  metrics: Record<string, Summary>;
  /** Lines the scenario added to its rounds, prefixed with the round. */
  remarks: string[];
  /** Why it was left out (failed to start, wrong answers, error during a round). */
  error?: string;
}

export interface ScenarioResult {
  name: ScenarioName;
  number: string;
  title: string;
  measures: string;
  metrics: Metric[];
  notes: string[];
  systems: Partial<Record<SystemName, SystemResult>>;
  comparisons: ComparisonResult[];
  targets: TargetResult[];
  seconds: number;
  /** 1-minute load average before and after: how busy the shared machine was meanwhile. */
  loadAverage: [number, number];
}
