// Scenario 1, polling throughput: what the original web page did every few seconds, at full
// speed. 64 keep-alive connections (one user each) ask `GET /api/messages?last=C` of a store of
// 10,000 messages, C chosen so every answer holds the newest 10 messages. Includes the
// worker-pool ablation (scenario 6: --workers 0) and the two-node cluster when it runs.
import { ApiClient, loginMany, seedMessages } from '../lib/api.js';
import { LATENCY_CAP_MS } from '../lib/histogram.js';
import { runHttpLoad } from '../lib/http-load.js';
import type { BenchOptions } from '../lib/options.js';
import type { Scenario, ScenarioRun } from '../lib/scenario.js';
import { CpuMeter } from '../lib/server-cpu.js';
import type { RunningSystem, SystemName } from '../lib/systems.js';
import { waitFor } from '../lib/wait.js';

/** Messages in each answer, as a page polling every few seconds in a busy room would see. */
const ANSWER_SIZE = 10;
/** More than 1% wrong answers makes the round meaningless. */
const MAX_FAILED_SHARE = 0.01;

interface Prepared {
  path: string;
  cookies: string[];
}

/** Logs in one user per connection, seeds the store and finds the cursor C 10 messages back. */
export async function prepareReads(system: RunningSystem, options: BenchOptions, prefix: string): Promise<Prepared> {
  const { scale } = options;
  const nodes = system.nodes.map((node) => new ApiClient(node.httpPort));
  try {
    const cookies = await loginMany(nodes[0]!, prefix, scale.connections);
    await seedMessages(nodes[0]!, cookies, scale.seed, 16);
    const newest = await nodes[0]!.changes(cookies[0]!, `?limit=${ANSWER_SIZE + 1}`);
    if (newest.messages.length !== ANSWER_SIZE + 1) {
      throw new Error(`GET /api/messages?limit=${ANSWER_SIZE + 1} returned ${newest.messages.length} messages after seeding ${scale.seed}`);
    }
    const cursor = newest.messages[0]!.id;
    const expected = newest.messages.slice(1).map((m) => `${m.id}:${m.text}`).join('|');
    const path = `/api/messages?last=${cursor}`;
    // Check the answer on every node (a cluster's second node may need a moment to catch up).
    for (const [i, api] of nodes.entries()) {
      await waitFor(`node ${i + 1} answers ${path} with the newest ${ANSWER_SIZE} messages`, 10_000, async () => {
        const changes = await api.changes(cookies[i % cookies.length]!, path.slice('/api/messages'.length));
        return changes.messages.map((m) => `${m.id}:${m.text}`).join('|') === expected ? true : undefined;
      });
    }
    return { path, cookies };
  } finally {
    for (const api of nodes) api.close();
  }
}

export const polling: Scenario = {
  name: 'polling',
  number: '1',
  title: 'Polling throughput',
  measures:
    'GET /api/messages?last=C with a session cookie, 64 keep-alive connections, 10,000 messages stored, 10 messages per answer.',
  systems: ['parley', 'parley-inline', 'parley-cluster', 'plain', 'fastify', 'python', 'ceiling'],
  metrics: [
    { key: 'perSecond', label: 'answers/s', unit: '', digits: 0 },
    { key: 'p99Ms', label: 'p99', unit: 'ms', digits: 1, cap: LATENCY_CAP_MS },
    { key: 'cores', label: 'server CPU', unit: 'cores', digits: 2 },
    { key: 'failed', label: 'failed', unit: '', digits: 0 },
  ],
  comparisons: [
    { metric: 'perSecond', system: 'parley', against: 'plain', atLeast: 1.3 },
    { metric: 'perSecond', system: 'parley', against: 'fastify', atLeast: 1.3 },
    { metric: 'perSecond', system: 'parley', against: 'python' },
    { metric: 'perSecond', system: 'parley', against: 'parley-inline', note: 'worker-pool ablation (scenario 6)' },
    { metric: 'perSecond', system: 'parley-cluster', against: 'parley', note: 'two nodes + Redis vs one node' },
    { metric: 'perSecond', system: 'parley', against: 'ceiling', note: 'share of a constant answer from one Node thread' },
  ],
  targets: [],
  start(options) {
    const prepared = new Map<SystemName, Prepared>();
    const { scale } = options;
    const run: ScenarioRun = {
      notes: [`${scale.seed.toLocaleString('en')} messages stored, ${scale.connections} connections, ${scale.seconds} s per run`],
      async prepare(system) {
        const state = await prepareReads(system, options, 'poller');
        prepared.set(system.name, state);
        await runHttpLoad(system.nodes, { generator: options.generator, method: 'GET', path: state.path, cookies: state.cookies, connections: scale.connections, seconds: scale.warmupSeconds, expectStatus: 200 });
      },
      async measure(system) {
        const state = prepared.get(system.name)!;
        const cpu = new CpuMeter(system.pids);
        const result = await runHttpLoad(system.nodes, {
          generator: options.generator,
          method: 'GET',
          path: state.path,
          cookies: state.cookies,
          connections: scale.connections,
          seconds: scale.seconds,
          expectStatus: 200,
        });
        const cores = cpu.cores();
        if (result.correct === 0 || result.failed > result.correct * MAX_FAILED_SHARE) {
          throw new Error(`${result.failed} failed answers against ${result.correct} correct: ${JSON.stringify(result.statuses)}`);
        }
        return { perSecond: result.perSecond, p99Ms: result.latencyP99Ms, cores, failed: result.failed };
      },
      async close() {},
    };
    return run;
  },
};
