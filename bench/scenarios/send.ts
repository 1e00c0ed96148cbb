// Scenario 2, send throughput: 64 keep-alive connections (one user each) POST /api/messages as
// fast as the server acknowledges. Parley runs as shipped, journal on with group-committed
// fsync; the peers keep messages in memory only. After each run the store is read back: every
// acknowledged message must be there. Includes the worker-pool ablation and the cluster.
import { ApiClient, loginMany, seedMessages } from '../lib/api.js';
import { LATENCY_CAP_MS } from '../lib/histogram.js';
import { runHttpLoad } from '../lib/http-load.js';
import type { Scenario, ScenarioRun } from '../lib/scenario.js';
import { CpuMeter } from '../lib/server-cpu.js';
import type { RunningSystem, SystemName } from '../lib/systems.js';
import { waitFor } from '../lib/wait.js';

const MAX_FAILED_SHARE = 0.01;
/** How long a store (a cluster node reading the shared stream) may take to show every acknowledged send. */
const CATCH_UP_TIMEOUT_MS = 10_000;
const TEXT = 'load test: a message of ordinary length, about as long as a chat line';

async function newestId(system: RunningSystem, cookie: string): Promise<number> {
  const api = new ApiClient(system.nodes[0]!.httpPort, 1);
  try {
    const changes = await api.changes(cookie, '?limit=1');
    return changes.messages[0]?.id ?? 0;
  } finally {
    api.close();
  }
}

export const send: Scenario = {
  name: 'send',
  number: '2',
  title: 'Send throughput',
  measures:
    'POST /api/messages from 64 keep-alive connections, one user each; Parley journals with fsync before it acknowledges, the peers write nothing.',
  systems: ['parley', 'parley-inline', 'parley-cluster', 'plain', 'fastify', 'python'],
  metrics: [
    { key: 'perSecond', label: 'acknowledged/s', unit: '', digits: 0 },
    { key: 'p99Ms', label: 'p99', unit: 'ms', digits: 1, cap: LATENCY_CAP_MS },
    { key: 'cores', label: 'server CPU', unit: 'cores', digits: 2 },
    { key: 'failed', label: 'failed', unit: '', digits: 0 },
  ],
  comparisons: [
    { metric: 'perSecond', system: 'parley', against: 'plain', atLeast: 0.8 },
    { metric: 'perSecond', system: 'parley', against: 'fastify' },
    { metric: 'perSecond', system: 'parley', against: 'python' },
    { metric: 'perSecond', system: 'parley', against: 'parley-inline', note: 'worker-pool ablation (scenario 6)' },
    { metric: 'perSecond', system: 'parley-cluster', against: 'parley', note: 'two nodes + Redis vs one node' },
  ],
  targets: [{ metric: 'perSecond', system: 'parley', atLeast: 20_000, label: '≥ 20,000 acknowledged messages/s' }],
  start(options) {
    const { scale } = options;
    const sessions = new Map<SystemName, string[]>();
    const run: ScenarioRun = {
      notes: [`${scale.connections} connections, ${scale.seconds} s per run, store seeded with ${scale.seed.toLocaleString('en')} messages`],
      async prepare(system) {
        const api = new ApiClient(system.nodes[0]!.httpPort);
        try {
          const cookies = await loginMany(api, 'sender', scale.connections);
          await seedMessages(api, cookies, scale.seed, 16);
          const message = await api.post(cookies[0]!, TEXT);
          const read = await api.changes(cookies[1 % cookies.length]!, `?last=${message.id - 1}`);
          if (read.messages[0]?.id !== message.id || read.messages[0].text !== TEXT) {
            throw new Error(`a sent message did not read back: ${JSON.stringify(read).slice(0, 200)}`);
          }
          sessions.set(system.name, cookies);
        } finally {
          api.close();
        }
        const body = JSON.stringify({ text: TEXT });
        await runHttpLoad(system.nodes, { generator: options.generator, method: 'POST', path: '/api/messages', body, cookies: sessions.get(system.name)!, connections: scale.connections, seconds: scale.warmupSeconds, expectStatus: 201 });
      },
      async measure(system) {
        const cookies = sessions.get(system.name)!;
        const before = await newestId(system, cookies[0]!);
        const cpu = new CpuMeter(system.pids);
        const result = await runHttpLoad(system.nodes, {
          generator: options.generator,
          method: 'POST',
          path: '/api/messages',
          body: JSON.stringify({ text: TEXT }),
          cookies,
          connections: scale.connections,
          seconds: scale.seconds,
          expectStatus: 201,
        });
        const cores = cpu.cores();
        if (result.correct === 0 || result.failed > result.correct * MAX_FAILED_SHARE) {
          throw new Error(`${result.failed} failed sends against ${result.correct} acknowledged: ${JSON.stringify(result.statuses)}`);
        }
        // Every acknowledged message must be stored. A cluster node the sends did not go through
        // may show them a moment later (it reads the shared stream), so wait, with a deadline.
        let stored = 0;
        await waitFor(`${system.name} showing all ${result.correct} acknowledged messages`, CATCH_UP_TIMEOUT_MS, async () => {
          stored = (await newestId(system, cookies[0]!)) - before;
          return stored >= result.correct ? true : undefined;
        }).catch(() => {
          throw new Error(`${result.correct} sends were acknowledged but ids advanced by only ${stored}: acknowledged messages are missing`);
        });
        return { perSecond: result.perSecond, p99Ms: result.latencyP99Ms, cores, failed: result.failed };
      },
      async close() {},
    };
    return run;
  },
};
