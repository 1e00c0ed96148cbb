// Scenario 4, idle capacity: 10,000 SSE clients plus 10,000 TCP subscribers connected and quiet.
// Measured: the server's resident memory, its CPU while idle, and how fast it still answers a
// polling request (one keep-alive connection, requests one after another).
//
// Open files: the server needs one descriptor per client, and no process can go above the hard
// limit (`ulimit -Hn`). When that is below 20,000 plus what the server keeps for itself, the
// scenario connects as many as fit, in the same proportion. Memory is judged on a projection
// to 20,000 clients (RSS before connecting + the measured cost per client x 20,000), which is
// the measured RSS itself when all 20,000 fit, and a rough figure at --quick scale.
import { ApiClient, loginMany, seedMessages } from '../lib/api.js';
import type { BenchOptions } from '../lib/options.js';
import { countOpenFiles, readFileLimit } from '../lib/proc-stats.js';
import type { Scenario, ScenarioRun } from '../lib/scenario.js';
import { CpuMeter, systemRssMb } from '../lib/server-cpu.js';
import { percentile } from '../lib/stats.js';
import { SwarmPool } from '../lib/swarm-pool.js';
import type { RunningSystem, SystemName } from '../lib/systems.js';
import { sleep, waitFor } from '../lib/wait.js';

/** The idle population (10,000 SSE + 10,000 TCP): memory is judged at this size. */
const TARGET_CLIENTS = 20_000;
/** Descriptors a server keeps besides its clients: listeners, journal, log, workers, pipes. */
const SERVER_RESERVED_FILES = 400;
/** Descriptors above its count before the first round that a server may still hold for a new one. */
const LEFTOVER_FILES = 50;
/** How long a server may take to close the previous round's connections. */
const RELEASE_TIMEOUT_MS = 60_000;

interface Prepared {
  api: ApiClient;
  cookie: string;
  path: string;
  /** The server's open descriptors before any client connected, per process. */
  filesBefore: number[];
}

/** How many of each kind fit under the hard open-file limit a server can raise itself to. */
export function idleCounts(options: BenchOptions): { sse: number; tcp: number; scaled: boolean } {
  const wanted = options.scale.idleSse + options.scale.idleTcp;
  const room = readFileLimit().hard - SERVER_RESERVED_FILES;
  if (wanted <= room) return { sse: options.scale.idleSse, tcp: options.scale.idleTcp, scaled: false };
  const share = room / wanted;
  return { sse: Math.floor(options.scale.idleSse * share), tcp: Math.floor(options.scale.idleTcp * share), scaled: true };
}

async function timeRequests(api: ApiClient, cookie: string, query: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await api.changes(cookie, query);
    times.push(performance.now() - start);
  }
  return times;
}

export const idle: Scenario = {
  name: 'idle',
  number: '4',
  title: 'Idle capacity',
  measures:
    '10,000 SSE + 10,000 TCP clients connected and idle: server RSS, idle CPU, and the latency of GET /api/messages?last=C on a keep-alive connection meanwhile.',
  systems: ['parley', 'plain'],
  metrics: [
    { key: 'projectedRssMb', label: 'RSS at 20,000', unit: 'MB', digits: 0 },
    { key: 'rssMb', label: 'RSS', unit: 'MB', digits: 0 },
    { key: 'clients', label: 'clients', unit: '', digits: 0 },
    { key: 'kbPerClient', label: 'per client', unit: 'KB', digits: 1 },
    { key: 'p50Ms', label: 'request p50', unit: 'ms', digits: 2 },
    { key: 'p99Ms', label: 'request p99', unit: 'ms', digits: 2 },
    { key: 'idleCores', label: 'idle CPU', unit: 'cores', digits: 3 },
    { key: 'lost', label: 'lost', unit: '', digits: 0 },
  ],
  comparisons: [
    { metric: 'projectedRssMb', system: 'parley', against: 'plain' },
    { metric: 'p99Ms', system: 'parley', against: 'plain' },
  ],
  targets: [
    { metric: 'projectedRssMb', system: 'parley', below: 500, worstRound: true, label: 'RSS < 500 MB with 10,000 SSE + 10,000 TCP' },
    { metric: 'p99Ms', system: 'parley', below: 10, label: 'answers a request in < 10 ms (p99)' },
    { metric: 'lost', system: 'parley', below: 1, worstRound: true, label: 'no idle client dropped' },
  ],
  start(options) {
    const counts = idleCounts(options);
    const total = counts.sse + counts.tcp;
    const wanted = options.scale.idleSse + options.scale.idleTcp;
    const pool = SwarmPool.start(total);
    const prepared = new Map<SystemName, Prepared>();
    const notes = [`${counts.sse.toLocaleString('en')} SSE + ${counts.tcp.toLocaleString('en')} TCP clients in ${pool.size} swarm processes`];
    if (counts.scaled) {
      notes.push(
        `scaled down from ${wanted.toLocaleString('en')}: the hard open-file limit here is ${readFileLimit().hard} per process ` +
          `(ulimit -Hn); "RSS at 20,000" projects the measured cost per client`,
      );
    }
    const run: ScenarioRun = {
      notes,
      async prepare(system) {
        const api = new ApiClient(system.nodes[0]!.httpPort, 1);
        const [cookie] = await loginMany(api, 'idle-poller', 1);
        await seedMessages(api, [cookie!], Math.min(options.scale.seed, 1_000), 8);
        const newest = await api.changes(cookie!, '?limit=11');
        const filesBefore = system.pids.map(countOpenFiles);
        prepared.set(system.name, { api, cookie: cookie!, path: `?last=${newest.messages[0]!.id}`, filesBefore });
      },
      async measure(system: RunningSystem, _round, remark) {
        const { api, cookie, path, filesBefore } = prepared.get(system.name)!;
        const node = system.nodes[0]!;
        // Under the open-file limit every descriptor counts: the previous round's connections
        // must be gone on the server's side too, or this round's are refused (EMFILE).
        await waitFor(`${system.name} closing the previous round's connections`, RELEASE_TIMEOUT_MS, async () =>
          system.pids.every((pid, i) => countOpenFiles(pid) <= filesBefore[i]! + LEFTOVER_FILES) ? true : undefined,
        );
        const last = (await api.changes(cookie, '?limit=1')).last;
        await sleep(options.scale.settleMs);
        const rssBefore = systemRssMb(system);
        try {
          const sse = await pool.connect('sse', Array.from({ length: counts.sse }, (_, i) => ({ port: node.httpPort, username: `idle-sse-${i + 1}` })), last);
          const tcp = await pool.connect('tcp', Array.from({ length: counts.tcp }, (_, i) => ({ port: node.tcpPort!, username: `idle-tcp-${i + 1}` })), last);
          const failed = sse.failed + tcp.failed;
          if (failed > 0) throw new Error(`${failed} of ${total} clients could not connect: ${[...sse.errors, ...tcp.errors].join('; ')}`);
          await sleep(options.scale.settleMs);
          const cpu = new CpuMeter(system.pids);
          await sleep(options.scale.idleWindowMs);
          const idleCores = cpu.cores();
          const rssMb = systemRssMb(system);
          const times = await timeRequests(api, cookie, path, options.scale.idleRequests);
          const report = await pool.report();
          if (report.lost > 0) remark(`${report.lost} idle clients lost: ${report.lostReasons.join('; ')}`);
          const perClientMb = (rssMb - rssBefore) / total;
          return {
            clients: report.open,
            rssMb,
            kbPerClient: perClientMb * 1024,
            projectedRssMb: rssBefore + perClientMb * TARGET_CLIENTS,
            p50Ms: percentile(times, 50),
            p99Ms: percentile(times, 99),
            idleCores,
            lost: report.lost,
          };
        } finally {
          await pool.closeClients();
        }
      },
      async close() {
        for (const { api } of prepared.values()) api.close();
        await pool.stop();
      },
    };
    return run;
  },
};
