// Command-line flags -> one checked BenchOptions. Three sizes: the full run the targets are
// judged on, --quick (about a minute, to see that everything works and roughly where it
// stands) and --check (tiny; the harness test runs it to prove every scenario and peer works).
import { parseArgs } from 'node:util';
import type { Generator } from './http-load.js';
import { SYSTEM_NAMES, type SystemName } from './systems.js';

export const SCENARIO_NAMES = ['polling', 'send', 'fanout-sse', 'fanout-tcp', 'idle', 'mix'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];
export type Mode = 'full' | 'quick' | 'check';

export interface Scale {
  rounds: number;
  /** Length of one timed HTTP load run. */
  seconds: number;
  warmupSeconds: number;
  /** Messages in the store before polling and sending. */
  seed: number;
  connections: number;
  sseClients: number;
  tcpSubscribers: number;
  fanoutPerSecond: number;
  fanoutSeconds: number;
  idleSse: number;
  idleTcp: number;
  idleRequests: number;
  /** Pause after connecting before measuring, and the window idle CPU is averaged over. */
  settleMs: number;
  idleWindowMs: number;
  mixPollers: number;
  mixSse: number;
  mixTcp: number;
  mixPerSecond: number;
  mixSeconds: number;
  pollIntervalMs: number;
}

export const SCALES: Record<Mode, Scale> = {
  full: {
    rounds: 3, seconds: 10, warmupSeconds: 2, seed: 10_000, connections: 64,
    sseClients: 10_000, tcpSubscribers: 5_000, fanoutPerSecond: 20, fanoutSeconds: 10,
    idleSse: 10_000, idleTcp: 10_000, idleRequests: 500, settleMs: 2_000, idleWindowMs: 5_000,
    mixPollers: 1_000, mixSse: 1_000, mixTcp: 200, mixPerSecond: 50, mixSeconds: 30, pollIntervalMs: 5_000,
  },
  quick: {
    rounds: 1, seconds: 1.5, warmupSeconds: 0.3, seed: 1_000, connections: 64,
    sseClients: 1_000, tcpSubscribers: 500, fanoutPerSecond: 20, fanoutSeconds: 2,
    idleSse: 1_000, idleTcp: 1_000, idleRequests: 100, settleMs: 500, idleWindowMs: 1_000,
    mixPollers: 100, mixSse: 100, mixTcp: 20, mixPerSecond: 50, mixSeconds: 2, pollIntervalMs: 1_000,
  },
  check: {
    rounds: 1, seconds: 0.5, warmupSeconds: 0.2, seed: 50, connections: 4,
    sseClients: 10, tcpSubscribers: 10, fanoutPerSecond: 20, fanoutSeconds: 0.5,
    idleSse: 10, idleTcp: 10, idleRequests: 10, settleMs: 100, idleWindowMs: 200,
    mixPollers: 5, mixSse: 5, mixTcp: 2, mixPerSecond: 20, mixSeconds: 1.5, pollIntervalMs: 500,
  },
};

export interface BenchOptions {
  mode: Mode;
  scale: Scale;
  scenarios: ScenarioName[];
  systems: SystemName[];
  cpuProf: boolean;
  generator: Generator;
  /** Where the JSON goes; bench/results/<date>-<mode>.json by default. */
  out: string | undefined;
}

export const USAGE = `Usage: npm run bench -- [options]

  --quick              about a minute: 1 round, small scale (the full run takes ~23 minutes)
  --check              tiny scale, only proves that every scenario and peer works
  --rounds N           rounds of alternating systems (default 3 for the full run)
  --seconds S          length of each timed HTTP run
  --only LIST          scenarios: ${SCENARIO_NAMES.join(', ')}
  --systems LIST       systems: ${SYSTEM_NAMES.join(', ')} (default all that apply)
  --generator NAME     HTTP load generator: lean (default) or autocannon
  --cpu-prof           start Parley with --cpu-prof; profiles go to bench/results/profiles/
  --out FILE           write the JSON here instead of bench/results/<date>-<mode>.json`;

function list<T extends string>(raw: string | undefined, allowed: readonly T[], what: string): T[] {
  if (raw === undefined) return [...allowed];
  const names = raw.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (!allowed.includes(name as T)) throw new Error(`unknown ${what} "${name}"; choose from ${allowed.join(', ')}`);
  }
  return names as T[];
}

function positive(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number, not "${raw}"`);
  return value;
}

/** Returns undefined for --help. Throws an Error with a sentence for bad flags. */
export function parseOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string' },
      systems: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      generator: { type: 'string', default: 'lean' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  const mode: Mode = values.check ? 'check' : values.quick ? 'quick' : 'full';
  const scale = { ...SCALES[mode] };
  const rounds = positive(values.rounds, '--rounds');
  if (rounds !== undefined) scale.rounds = Math.round(rounds);
  const seconds = positive(values.seconds, '--seconds');
  if (seconds !== undefined) scale.seconds = seconds;
  const generator = values.generator;
  if (generator !== 'lean' && generator !== 'autocannon') throw new Error(`--generator must be lean or autocannon, not "${generator}"`);
  return {
    mode,
    scale,
    scenarios: list(values.only, SCENARIO_NAMES, 'scenario'),
    systems: list(values.systems, SYSTEM_NAMES, 'system'),
    cpuProf: values['cpu-prof'],
    generator,
    out: values.out,
  };
}
