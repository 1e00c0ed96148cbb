// Scenario 3, fan-out latency: thousands of subscribers connected (SSE streams, or separately
// TCP subscribers), one sender POSTs 20 probes a second; each probe carries its send time, and
// every receiving client times it (swarm processes, see lib/swarm.ts). Reported: the latency of
// every delivery, of the slowest client per message, and anything dropped.
import { Connection } from '../../client/desktop/connection.js';
import { ApiClient } from '../lib/api.js';
import { LATENCY_CAP_MS, latencyPercentile } from '../lib/histogram.js';
import type { BenchOptions } from '../lib/options.js';
import { HOST } from '../lib/paths.js';
import type { Scenario, ScenarioRun } from '../lib/scenario.js';
import { CpuMeter } from '../lib/server-cpu.js';
import { httpSender, sendProbes } from '../lib/sender.js';
import { SseSubscriber } from '../lib/sse-client.js';
import { percentile } from '../lib/stats.js';
import type { ClientKind } from '../lib/swarm-protocol.js';
import { SwarmPool, type MergedReport } from '../lib/swarm-pool.js';
import type { RunningSystem, ServerNode, SystemName } from '../lib/systems.js';
import { sleep } from '../lib/wait.js';

/** How long after the last probe stragglers may still arrive before they count as undelivered. */
const DRAIN_MS = 10_000;
/** Connections that fail to open beyond this share void the round. */
const MAX_CONNECT_FAILURES = 0.01;

interface Prepared {
  api: ApiClient;
  cookie: string;
}

type OnMessage = (text: string) => void;

async function openCheckSubscriber(kind: 'sse' | 'tcp', node: ServerNode, cookie: string, last: number, onMessage: OnMessage): Promise<() => void> {
  if (kind === 'sse') {
    const subscriber = await SseSubscriber.open({ port: node.httpPort, cookie, last, onMessage, onLost: () => {} });
    return () => subscriber.close();
  }
  const connection = await Connection.open({ host: HOST, port: node.tcpPort! });
  connection.on('change', (push) => {
    if (push.event === 'message') onMessage(push.message.text);
  });
  await connection.request('login', { username: 'delivery-check' });
  await connection.request('subscribe', { last });
  return () => connection.close();
}

/** Proves a subscriber of this kind on every node receives a message sent on the first node. */
async function checkDelivery(kind: 'sse' | 'tcp', system: RunningSystem, api: ApiClient, cookie: string): Promise<void> {
  const last = (await api.changes(cookie, '?limit=1')).last;
  for (const [i, node] of system.nodes.entries()) {
    const text = `delivery check ${i + 1}`;
    let markReceived = () => {};
    const received = new Promise<void>((resolve) => (markReceived = resolve));
    const close = await openCheckSubscriber(kind, node, cookie, last, (got) => got === text && markReceived());
    try {
      await api.post(cookie, text);
      const timeout = sleep(10_000).then(() => {
        throw new Error(`a ${kind} subscriber on node ${i + 1} did not receive a message sent on node 1 within 10 s`);
      });
      await Promise.race([received, timeout]);
    } finally {
      close();
    }
  }
}

function summarizeDeliveries(report: MergedReport, expected: number): Record<string, number> {
  const everyClient = Array.from(report.slowestMs).filter((ms, i) => report.receivedBy[i]! > 0 && ms > 0);
  return {
    p50Ms: latencyPercentile(report.histogram, 50),
    p99Ms: latencyPercentile(report.histogram, 99),
    maxMs: latencyPercentile(report.histogram, 100),
    allP99Ms: percentile(everyClient, 99),
    dropped: Math.max(0, expected - report.delivered),
    duplicates: report.duplicates,
    lost: report.lost,
  };
}

export function fanoutScenario(kind: 'sse' | 'tcp'): Scenario {
  const isSse = kind === 'sse';
  const systems: SystemName[] = isSse ? ['parley', 'parley-cluster', 'plain', 'fastify'] : ['parley', 'parley-cluster', 'plain'];
  return {
    name: isSse ? 'fanout-sse' : 'fanout-tcp',
    number: isSse ? '3a' : '3b',
    title: isSse ? 'Fan-out latency, SSE clients' : 'Fan-out latency, TCP subscribers',
    measures: `${isSse ? '10,000 GET /api/events streams' : '5,000 TCP subscribers'} (raw sockets in swarm processes); one sender POSTs 20 messages/s; time from POST to receipt at every client.`,
    systems,
    metrics: [
      { key: 'p99Ms', label: 'p99', unit: 'ms', digits: 1, cap: LATENCY_CAP_MS },
      { key: 'p50Ms', label: 'p50', unit: 'ms', digits: 1, cap: LATENCY_CAP_MS },
      { key: 'maxMs', label: 'max', unit: 'ms', digits: 1, cap: LATENCY_CAP_MS },
      { key: 'allP99Ms', label: 'p99 to reach all', unit: 'ms', digits: 1 },
      { key: 'dropped', label: 'undelivered after 10 s', unit: '', digits: 0 },
      { key: 'duplicates', label: 'duplicates', unit: '', digits: 0 },
      { key: 'connectFailed', label: 'could not connect', unit: '', digits: 0 },
      { key: 'lost', label: 'connections lost', unit: '', digits: 0 },
      { key: 'cores', label: 'server CPU', unit: 'cores', digits: 2 },
      { key: 'clientCores', label: 'client CPU', unit: 'cores', digits: 2 },
    ],
    comparisons: [
      ...systems.filter((s) => s !== 'parley' && s !== 'parley-cluster').map((against) => ({ metric: 'p99Ms', system: 'parley' as const, against })),
      { metric: 'p99Ms', system: 'parley-cluster', against: 'parley', note: 'two nodes + Redis vs one node' },
    ],
    targets: [
      { metric: 'p99Ms', system: 'parley', below: 100, label: 'p99 < 100 ms' },
      { metric: 'dropped', system: 'parley', below: 1, worstRound: true, label: 'nothing dropped' },
    ],
    start: (options) => startFanout(kind, options),
  };
}

function startFanout(kind: 'sse' | 'tcp', options: BenchOptions): ScenarioRun {
  const { scale } = options;
  const clients = kind === 'sse' ? scale.sseClients : scale.tcpSubscribers;
  const probes = Math.max(1, Math.round(scale.fanoutPerSecond * scale.fanoutSeconds));
  const pool = SwarmPool.start(clients);
  const prepared = new Map<SystemName, Prepared>();
  return {
    notes: [`${clients.toLocaleString('en')} ${kind === 'sse' ? 'SSE clients' : 'TCP subscribers'} in ${pool.size} swarm processes, ${probes} messages at ${scale.fanoutPerSecond}/s per round`],
    async prepare(system) {
      const api = new ApiClient(system.nodes[0]!.httpPort, 4);
      const cookie = await api.login('fanout-sender');
      await checkDelivery(kind, system, api, cookie);
      prepared.set(system.name, { api, cookie });
    },
    async measure(system, _round, remark) {
      const { api, cookie } = prepared.get(system.name)!;
      const last = (await api.changes(cookie, '?limit=1')).last;
      const plans = Array.from({ length: clients }, (_, i) => {
        const node = system.nodes[i % system.nodes.length]!;
        return { port: kind === 'sse' ? node.httpPort : node.tcpPort!, username: `${kind}-${i + 1}` };
      });
      const clientKind: ClientKind = kind;
      try {
        const connected = await pool.connect(clientKind, plans, last);
        if (connected.failed > clients * MAX_CONNECT_FAILURES) {
          throw new Error(`${connected.failed} of ${clients} clients could not connect: ${connected.errors.join('; ')}`);
        }
        await pool.reset(probes);
        const cpu = new CpuMeter(system.pids);
        const clientCpu = new CpuMeter(pool.pids);
        const sent = await sendProbes([httpSender(api, cookie)], probes, scale.fanoutPerSecond);
        if (sent.failed > 0) throw new Error(`${sent.failed} of ${probes} sends failed: ${sent.errors.join('; ')}`);
        const expected = probes * connected.connected;
        const report = await pool.settle(expected, DRAIN_MS);
        if (report.lost > 0) remark(`${report.lost} connections lost: ${report.lostReasons.join('; ')}`);
        return { ...summarizeDeliveries(report, expected), connectFailed: connected.failed, cores: cpu.cores(), clientCores: clientCpu.cores() };
      } finally {
        await pool.closeClients();
      }
    },
    async close() {
      for (const { api } of prepared.values()) api.close();
      await pool.stop();
    },
  };
}
