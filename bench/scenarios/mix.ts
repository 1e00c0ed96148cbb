// Scenario 5, realistic mix: 2,000 web users (half polling every 5 s like the original page,
// half on SSE) and 200 TCP clients, while 50 messages a second arrive (four fifths over HTTP,
// one fifth over TCP). Measured: the server's CPU per 1,000 connected users, and that every
// user still gets every message (push latency shown for SSE and TCP together).
import { Connection } from '../../client/desktop/connection.js';
import { ApiClient, loginMany } from '../lib/api.js';
import { LATENCY_CAP_MS, latencyPercentile } from '../lib/histogram.js';
import { HOST } from '../lib/paths.js';
import type { Scenario, ScenarioRun } from '../lib/scenario.js';
import { CpuMeter } from '../lib/server-cpu.js';
import { httpSender, sendProbes, tcpSender, type SendProbe } from '../lib/sender.js';
import { SwarmPool } from '../lib/swarm-pool.js';
import type { RunningSystem, SystemName } from '../lib/systems.js';

const HTTP_SENDERS = 4;

interface Prepared {
  api: ApiClient;
  cookies: string[];
  tcp: Connection;
}

export const mix: Scenario = {
  name: 'mix',
  number: '5',
  title: 'Realistic mix',
  measures:
    '1,000 pollers (every 5 s) + 1,000 SSE clients + 200 TCP subscribers; 50 messages/s (HTTP and TCP senders); server CPU per 1,000 users over the sending window.',
  systems: ['parley', 'parley-cluster', 'plain'],
  metrics: [
    { key: 'cpuPer1000', label: 'CPU per 1,000 users', unit: '% of a core', digits: 2 },
    { key: 'cores', label: 'server CPU', unit: 'cores', digits: 3 },
    { key: 'pushP99Ms', label: 'push p99', unit: 'ms', digits: 1, cap: LATENCY_CAP_MS },
    { key: 'dropped', label: 'dropped', unit: '', digits: 0 },
    { key: 'pollErrors', label: 'poll errors', unit: '', digits: 0 },
  ],
  comparisons: [
    { metric: 'cpuPer1000', system: 'parley', against: 'plain' },
    { metric: 'cpuPer1000', system: 'parley-cluster', against: 'parley', note: 'two nodes + Redis vs one node (all processes counted)' },
  ],
  targets: [{ metric: 'dropped', system: 'parley', below: 1, worstRound: true, label: 'every user gets every message' }],
  start(options) {
    const { scale } = options;
    const users = scale.mixPollers + scale.mixSse + scale.mixTcp;
    const probes = Math.round(scale.mixPerSecond * scale.mixSeconds);
    const pool = SwarmPool.start(users);
    const prepared = new Map<SystemName, Prepared>();
    const run: ScenarioRun = {
      notes: [
        `${scale.mixPollers} pollers every ${scale.pollIntervalMs / 1000} s + ${scale.mixSse} SSE + ${scale.mixTcp} TCP = ${users.toLocaleString('en')} users; ` +
          `${probes} messages at ${scale.mixPerSecond}/s per round`,
      ],
      async prepare(system) {
        const api = new ApiClient(system.nodes[0]!.httpPort, HTTP_SENDERS);
        const cookies = await loginMany(api, 'mix-sender', HTTP_SENDERS);
        const node = system.nodes[system.nodes.length - 1]!;
        const tcp = await Connection.open({ host: HOST, port: node.tcpPort! });
        await tcp.request('login', { username: 'mix-tcp-sender' });
        prepared.set(system.name, { api, cookies, tcp });
      },
      async measure(system: RunningSystem, _round, remark) {
        const { api, cookies, tcp } = prepared.get(system.name)!;
        const last = (await api.changes(cookies[0]!, '?limit=1')).last;
        const spread = (count: number, prefix: string, port: (i: number) => number) =>
          Array.from({ length: count }, (_, i) => ({ port: port(i), username: `${prefix}-${i + 1}` }));
        const nodeOf = (i: number) => system.nodes[i % system.nodes.length]!;
        try {
          const connected = [
            await pool.connect('poll', spread(scale.mixPollers, 'mix-poll', (i) => nodeOf(i).httpPort), last, scale.pollIntervalMs),
            await pool.connect('sse', spread(scale.mixSse, 'mix-sse', (i) => nodeOf(i).httpPort), last),
            await pool.connect('tcp', spread(scale.mixTcp, 'mix-tcp', (i) => nodeOf(i).tcpPort!), last),
          ];
          const failed = connected.reduce((sum, c) => sum + c.failed, 0);
          if (failed > 0) throw new Error(`${failed} of ${users} users could not connect: ${connected.flatMap((c) => c.errors).join('; ')}`);
          await pool.reset(probes);
          const senders: SendProbe[] = [...cookies.map((cookie) => httpSender(api, cookie)), tcpSender(tcp)];
          const cpu = new CpuMeter(system.pids);
          const sent = await sendProbes(senders, probes, scale.mixPerSecond);
          const cores = cpu.cores();
          if (sent.failed > 0) throw new Error(`${sent.failed} of ${probes} sends failed: ${sent.errors.join('; ')}`);
          // Pollers see the last messages on their next poll, up to one interval later.
          const report = await pool.settle(probes * users, scale.pollIntervalMs + 5_000);
          if (report.lost > 0) remark(`${report.lost} clients lost or polls failed: ${report.lostReasons.join('; ')}`);
          return {
            cpuPer1000: (cores / users) * 1000 * 100,
            cores,
            pushP99Ms: latencyPercentile(report.histogram, 99),
            dropped: Math.max(0, probes * users - report.delivered),
            pollErrors: report.pollErrors,
          };
        } finally {
          await pool.closeClients();
        }
      },
      async close() {
        for (const { api, tcp } of prepared.values()) {
          api.close();
          tcp.close();
        }
        await pool.stop();
      },
    };
    return run;
  },
};
