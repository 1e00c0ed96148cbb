// Turns scenario results into the printed report (Markdown tables, so a run pastes straight
// into bench/README.md) and the JSON file under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { BenchOptions } from './options.js';
import { RESULTS_DIR } from './paths.js';
import { formatValue, number } from './format.js';
import { readFileLimit } from './proc-stats.js';
import type { ComparisonResult, ScenarioResult, TargetResult } from './scenario.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  kernel: string;
  openFiles: { soft: number; hard: number };
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    openFiles: readFileLimit(),
  };
}

function verdict(pass: boolean | undefined): string {
  return pass === undefined ? '' : pass ? 'PASS' : 'FAIL';
}

/** A ratio as printed: "n/a", "0.91×", or a bound when one side was past the cap ("≤ 0.40×"). */
function formatRatio(c: ComparisonResult): string {
  if (!Number.isFinite(c.ratio)) return 'n/a';
  return `${c.bound ? `${c.bound} ` : ''}${number(c.ratio, 2)}×`;
}

/** The verdict of a judged ratio; a bound that cannot decide it says so instead of "not measured". */
function ratioVerdict(c: ComparisonResult): string {
  if (c.pass !== undefined) return verdict(c.pass);
  return c.bound ? 'undecided (past the cap)' : 'not measured';
}

function ratioLine(c: ComparisonResult, result: ScenarioResult): string {
  const metric = result.metrics.find((m) => m.key === c.metric)!;
  const target = c.atLeast !== undefined ? `≥ ${c.atLeast}×` : c.atMost !== undefined ? `≤ ${c.atMost}×` : '';
  const range = Number.isFinite(c.low) ? `${number(c.low, 2)}–${number(c.high, 2)}` : '';
  const judged = c.atLeast !== undefined || c.atMost !== undefined;
  return `| ${c.system} / ${c.against} | ${metric.label} | ${formatRatio(c)} | ${range} | ${target} | ${judged ? ratioVerdict(c) : ''} | ${c.note ?? ''} |`;
}

function targetLine(t: TargetResult, result: ScenarioResult): string {
  const metric = result.metrics.find((m) => m.key === t.metric)!;
  const value = `${formatValue(t.value, metric)}${metric.unit ? ` ${metric.unit}` : ''}`;
  return `| ${t.system}: ${t.label} | ${value}${t.worstRound ? ' (worst round)' : ''} | ${t.pass === undefined ? 'not measured' : verdict(t.pass)} |`;
}

export function formatScenario(result: ScenarioResult): string {
  const load = `load average ${number(result.loadAverage[0], 1)} → ${number(result.loadAverage[1], 1)} on ${cpus().length} cores, ${number(result.seconds, 0)} s`;
  const lines = [`### ${result.number}. ${result.title}`, '', result.measures, ...result.notes.map((n) => `- ${n}`), `- ${load}`, ''];
  const main = result.metrics[0]!;
  lines.push(`| system | ${result.metrics.map((m) => `${m.label}${m.unit ? ` (${m.unit})` : ''}`).join(' | ')} | spread of ${main.label} |`);
  lines.push(`|---|${result.metrics.map(() => '---:').join('|')}|---:|`);
  for (const [name, system] of Object.entries(result.systems)) {
    if (!system) continue;
    if (system.error && Object.keys(system.metrics).length === 0) {
      lines.push(`| ${name} | ${system.error.split('\n')[0]} |`);
      continue;
    }
    const cells = result.metrics.map((m) => formatValue(system.metrics[m.key]?.median ?? Number.NaN, m));
    const spread = system.metrics[main.key]?.spread;
    lines.push(`| ${name} | ${cells.join(' | ')} | ${spread === undefined || !Number.isFinite(spread) ? '' : `${number(spread * 100, 0)}%`} |`);
    if (system.error) lines.push(`| ${name} | ${system.error.split('\n')[0]} |`);
  }
  const comparisons = result.comparisons.filter((c) => result.systems[c.system] && result.systems[c.against]);
  if (comparisons.length > 0) {
    lines.push('', '| ratio (same run) | of | median | rounds | target | | |', '|---|---|---:|---:|---|---|---|');
    lines.push(...comparisons.map((c) => ratioLine(c, result)));
  }
  if (result.targets.length > 0) {
    lines.push('', '| target | value | verdict |', '|---|---:|---|', ...result.targets.map((t) => targetLine(t, result)));
  }
  return lines.join('\n');
}

export function formatSummary(results: ScenarioResult[]): string {
  const lines = ['## Targets', '', '| scenario | target | value | verdict |', '|---|---|---:|---|'];
  for (const result of results) {
    for (const c of result.comparisons.filter((c) => c.atLeast !== undefined || c.atMost !== undefined)) {
      const bound = c.atLeast !== undefined ? `≥ ${c.atLeast}×` : `≤ ${c.atMost}×`;
      lines.push(`| ${result.number}. ${result.title} | ${c.system} / ${c.against} ${bound} | ${formatRatio(c)} | ${ratioVerdict(c)} |`);
    }
    for (const t of result.targets) {
      const metric = result.metrics.find((m) => m.key === t.metric)!;
      lines.push(`| ${result.number}. ${result.title} | ${t.system}: ${t.label} | ${formatValue(t.value, metric)}${metric.unit ? ` ${metric.unit}` : ''} | ${t.pass === undefined ? 'not measured' : verdict(t.pass)} |`);
    }
  }
  return lines.join('\n');
}

export function writeResults(options: BenchOptions, results: ScenarioResult[], machine: Machine, started: Date): string {
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const file = options.out ?? join(RESULTS_DIR, `${stamp}-${options.mode}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const body = {
    date: started.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    mode: options.mode,
    machine,
    scale: options.scale,
    scenarios: results,
  };
  // JSON has no Infinity: a round past a metric's cap is written as "Infinity" (Number() reads
  // it back), next to the metric's `cap`, instead of turning into null.
  const json = JSON.stringify(body, (_key, value: unknown) => (value === Number.POSITIVE_INFINITY ? 'Infinity' : value), 2);
  writeFileSync(file, `${json}\n`);
  return file;
}
