// `npm run bench` (full run, ~23 minutes on the 2-core machine), `npm run bench -- --quick` (about a minute),
// `npm run bench -- --check` (tiny: proves the harness and every peer work). Starts every system
// on loopback, runs the scenarios of issue #6, prints Markdown tables with each figure as a
// ratio against a peer measured in the same run, and writes the JSON under bench/results/.
//
// Exit code: 0 when every scenario ran (targets met or not: the report says which), 1 when a
// system could not be measured or the harness failed, 2 for bad flags.
import { existsSync } from 'node:fs';
import { parseOptions, USAGE, type ScenarioName } from './lib/options.js';
import { SERVER_MAIN } from './lib/paths.js';
import { describeMachine, formatScenario, formatSummary, writeResults } from './lib/report.js';
import { runScenario } from './lib/runner.js';
import type { Scenario, ScenarioResult } from './lib/scenario.js';
import { REDIS_SERVER } from './lib/systems.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { idle } from './scenarios/idle.js';
import { mix } from './scenarios/mix.js';
import { polling } from './scenarios/polling.js';
import { send } from './scenarios/send.js';

const SCENARIOS: Record<ScenarioName, Scenario> = {
  polling,
  send,
  'fanout-sse': fanoutScenario('sse'),
  'fanout-tcp': fanoutScenario('tcp'),
  idle,
  mix,
};

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  if (!existsSync(SERVER_MAIN)) {
    console.error(`${SERVER_MAIN} is missing: build first (npm run bench runs the build in its prebench step)`);
    return 1;
  }
  // The cluster needs redis-server; without it that system is left out, not the whole run.
  if (!existsSync(REDIS_SERVER)) options.systems = options.systems.filter((s) => s !== 'parley-cluster');

  const started = new Date();
  const machine = describeMachine();
  const log = (line: string) => console.log(line);
  log(`Parley bench, ${options.mode} run, ${started.toISOString()}`);
  log(`${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, open files ${machine.openFiles.soft}/${machine.openFiles.hard}`);

  const results: ScenarioResult[] = [];
  for (const name of options.scenarios) results.push(await runScenario(SCENARIOS[name], options, log));

  log(`\n## Results (${options.mode} run, ${started.toISOString().slice(0, 10)}, ${machine.cores} × ${machine.cpu})\n`);
  for (const result of results) log(`${formatScenario(result)}\n`);
  log(formatSummary(results));
  const file = writeResults(options, results, machine, started);
  log(`\nwritten to ${file}`);

  const broken = results.flatMap((r) => Object.entries(r.systems).filter(([, s]) => s?.error).map(([name, s]) => `${r.name}/${name}: ${s!.error}`));
  if (broken.length > 0) {
    log(`\nnot measured:\n${broken.map((line) => `  ${line.split('\n')[0]}`).join('\n')}`);
    return 1;
  }
  return 0;
}

// Exiting through process.exit runs the 'exit' hook that stops every server still running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
process.exitCode = await main();
