// Runs one scenario: starts its systems, checks their answers, then alternates them round by
// round (the order rotates each round, so no system always runs first or last on a machine
// that warms up or gets busier), and turns the rounds into medians, ratios and verdicts.
// A system that fails to start or answers wrongly is left out with its reason, not fatal:
// the report says what was not measured.
import { loadavg } from 'node:os';
import type { BenchOptions } from './options.js';
import type { Comparison, ComparisonResult, Scenario, ScenarioResult, SystemResult, Target, TargetResult } from './scenario.js';
import { formatValue } from './format.js';
import { summarize } from './stats.js';
import { SYSTEMS, type RunningSystem, type SystemName } from './systems.js';

export type Log = (line: string) => void;

function rotate<T>(items: T[], by: number): T[] {
  const shift = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n').slice(0, 6).join('\n') : String(error);
}

export async function runScenario(scenario: Scenario, options: BenchOptions, log: Log): Promise<ScenarioResult> {
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  const results: Partial<Record<SystemName, SystemResult>> = {};
  const rounds: Rounds = new Map();
  const running = new Map<SystemName, RunningSystem>();
  const run = scenario.start(options);
  log(`\n${scenario.number}. ${scenario.title}`);
  try {
    for (const name of scenario.systems.filter((s) => options.systems.includes(s))) {
      const spec = SYSTEMS[name];
      results[name] = { description: spec.description, metrics: {}, remarks: [] };
      try {
        const system = await spec.start({ cpuProf: options.cpuProf });
        running.set(name, system);
        await run.prepare(system);
        rounds.set(name, []);
        log(`   ${name}: ready (${system.nodes.map((n) => `http ${n.httpPort}${n.tcpPort ? `, tcp ${n.tcpPort}` : ''}`).join('; ')})`);
      } catch (error) {
        results[name]!.error = `left out: ${describe(error)}`;
        log(`   ${name}: ${results[name]!.error}`);
        await running.get(name)?.stop();
        running.delete(name);
      }
    }
    for (let round = 0; round < options.scale.rounds; round++) {
      for (const name of rotate([...rounds.keys()], round)) {
        const system = running.get(name);
        if (!system || results[name]!.error) continue;
        try {
          const remarks: string[] = [];
          const figures = await run.measure(system, round, (line) => remarks.push(line));
          rounds.get(name)!.push(figures);
          log(`   round ${round + 1} ${name}: ${formatFigures(scenario, figures)}`);
          for (const line of remarks) log(`      ${line}`);
          results[name]!.remarks.push(...remarks.map((line) => `round ${round + 1}: ${line}`));
        } catch (error) {
          results[name]!.error = `round ${round + 1} failed: ${describe(error)}`;
          log(`   ${name}: ${results[name]!.error}`);
        }
      }
    }
  } finally {
    for (const system of running.values()) await system.stop().catch(() => {});
    await run.close();
  }

  for (const [name, samples] of rounds) {
    for (const metric of scenario.metrics) {
      results[name]!.metrics[metric.key] = summarize(samples.map((figures) => figures[metric.key] ?? Number.NaN));
    }
  }
  return {
    name: scenario.name,
    number: scenario.number,
    title: scenario.title,
    measures: scenario.measures,
    metrics: scenario.metrics,
    notes: run.notes,
    systems: results,
    comparisons: scenario.comparisons.map((c) => compare(c, rounds, scenario.metrics.find((m) => m.key === c.metric)?.cap)),
    targets: scenario.targets.map((t) => judge(t, rounds)),
    seconds: (performance.now() - started) / 1000,
    loadAverage: [loadBefore, loadavg()[0]!],
  };
}

function formatFigures(scenario: Scenario, figures: Record<string, number>): string {
  return scenario.metrics
    .filter((m) => figures[m.key] !== undefined)
    .map((m) => `${m.label} ${formatValue(figures[m.key]!, m)}${m.unit ? ` ${m.unit}` : ''}`)
    .join(', ');
}

/** Rounds' figures per system, in run order: what compare() and judge() work on. */
export type Rounds = Map<SystemName, Record<string, number>[]>;

function valuesOf(rounds: Rounds, system: SystemName, metric: string): number[] {
  return (rounds.get(system) ?? []).map((figures) => figures[metric] ?? Number.NaN);
}

/** ours / theirs, where Infinity means "past `cap`" (histogram.ts): then the ratio is a bound. */
function ratioOf(ours: number, theirs: number, cap: number | undefined): { ratio: number; bound?: '≤' | '≥' } {
  const isOursPast = ours === Number.POSITIVE_INFINITY;
  const isTheirsPast = theirs === Number.POSITIVE_INFINITY;
  if (!isOursPast && !isTheirsPast) return { ratio: ours / theirs };
  if ((isOursPast && isTheirsPast) || cap === undefined) return { ratio: Number.NaN };
  return isTheirsPast ? { ratio: ours / cap, bound: '≤' } : { ratio: cap / theirs, bound: '≥' };
}

/** Whether `ratio` meets the comparison; undefined when unjudged or a bound cannot decide it. */
function ratioVerdict(comparison: Comparison, ratio: number, bound: '≤' | '≥' | undefined): boolean | undefined {
  if (!Number.isFinite(ratio)) return undefined;
  const { atLeast, atMost } = comparison;
  if (atLeast !== undefined) {
    if (bound === undefined) return ratio >= atLeast;
    if (bound === '≥' && ratio >= atLeast) return true;
    if (bound === '≤' && ratio < atLeast) return false;
    return undefined;
  }
  if (atMost !== undefined) {
    if (bound === undefined) return ratio <= atMost;
    if (bound === '≤' && ratio <= atMost) return true;
    if (bound === '≥' && ratio > atMost) return false;
  }
  return undefined;
}

export function compare(comparison: Comparison, rounds: Rounds, cap?: number): ComparisonResult {
  const ours = valuesOf(rounds, comparison.system, comparison.metric);
  const theirs = valuesOf(rounds, comparison.against, comparison.metric);
  const { ratio, bound } = ratioOf(summarize(ours).median, summarize(theirs).median, cap);
  const paired = ours
    .slice(0, theirs.length)
    .flatMap((value, i) => (Number.isFinite(value) && Number.isFinite(theirs[i]) ? [value / theirs[i]!] : []))
    .filter(Number.isFinite);
  return {
    ...comparison,
    ratio,
    ...(bound ? { bound } : {}),
    low: paired.length > 0 ? Math.min(...paired) : Number.NaN,
    high: paired.length > 0 ? Math.max(...paired) : Number.NaN,
    pass: ratioVerdict(comparison, ratio, bound),
  };
}

export function judge(target: Target, rounds: Rounds): TargetResult {
  const values = valuesOf(rounds, target.system, target.metric).filter((value) => !Number.isNaN(value));
  let value = summarize(values).median;
  if (target.worstRound && values.length > 0) {
    value = target.below !== undefined ? Math.max(...values) : Math.min(...values);
  }
  let pass: boolean | undefined;
  if (!Number.isNaN(value)) {
    if (target.atLeast !== undefined) pass = value >= target.atLeast;
    if (target.below !== undefined) pass = (pass ?? true) && value < target.below;
  }
  return { ...target, value, pass };
}
