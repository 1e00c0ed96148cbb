// HTTP load for the throughput scenarios: a fixed number of keep-alive connections for a fixed
// time, spread over a system's nodes (run at once, figures summed). Only answers with the
// expected status count as work done. Two generators: our lean loop (keep-alive-load.ts, the
// default, see there why) and autocannon (`--generator autocannon`).
import type { Client, Result } from 'autocannon';
import { latencyPercentile, mergeInto, createHistogram } from './histogram.js';
import { encodeRequest, runKeepAliveLoad } from './keep-alive-load.js';
import { HOST, loadAutocannon } from './paths.js';
import type { ServerNode } from './systems.js';

export type Generator = 'lean' | 'autocannon';

export interface HttpLoad {
  generator: Generator;
  method: 'GET' | 'POST';
  path: string;
  /** Sessions, handed to the connections round-robin (one user per connection when enough). */
  cookies: string[];
  body?: string;
  connections: number;
  seconds: number;
  /** The status a correct answer has (200 for reads, 201 for sends). */
  expectStatus: number;
}

export interface LoadResult {
  /** Correct answers per second over the run. */
  perSecond: number;
  correct: number;
  /** Everything else: other statuses, socket errors, timeouts. */
  failed: number;
  statuses: Record<string, number>;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

function connectionsFor(load: HttpLoad, nodes: ServerNode[]): number[] {
  return nodes.map((_, i) => Math.floor(load.connections / nodes.length) + (i < load.connections % nodes.length ? 1 : 0));
}

async function runLean(nodes: ServerNode[], load: HttpLoad): Promise<LoadResult> {
  let cookieIndex = 0;
  const headers = (): Record<string, string> => ({
    ...(load.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    Cookie: load.cookies[cookieIndex++ % load.cookies.length]!,
  });
  const results = await Promise.all(
    connectionsFor(load, nodes).map((connections, i) =>
      runKeepAliveLoad({
        port: nodes[i]!.httpPort,
        requests: Array.from({ length: connections }, () => encodeRequest(load.method, load.path, headers(), load.body)),
        seconds: load.seconds,
        expectStatus: load.expectStatus,
      }),
    ),
  );
  const latency = createHistogram();
  const statuses: Record<string, number> = {};
  for (const result of results) {
    mergeInto(latency, result.latency);
    for (const [status, count] of Object.entries(result.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  }
  const correct = results.reduce((sum, r) => sum + r.correct, 0);
  const seconds = Math.max(...results.map((r) => r.seconds));
  return {
    perSecond: correct / seconds,
    correct,
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    statuses,
    latencyP50Ms: latencyPercentile(latency, 50),
    latencyP99Ms: latencyPercentile(latency, 99),
  };
}

async function runAutocannon(nodes: ServerNode[], load: HttpLoad): Promise<LoadResult> {
  const autocannon = loadAutocannon();
  let cookieIndex = 0;
  const headers: Record<string, string> = load.body === undefined ? {} : { 'content-type': 'application/json' };
  const results: Result[] = await Promise.all(
    connectionsFor(load, nodes).map((connections, i) =>
      autocannon({
        url: `http://${HOST}:${nodes[i]!.httpPort}${load.path}`,
        method: load.method,
        connections,
        duration: load.seconds,
        timeout: 10,
        headers,
        ...(load.body === undefined ? {} : { body: load.body }),
        setupClient(client: Client) {
          client.setHeaders({ ...headers, cookie: load.cookies[cookieIndex++ % load.cookies.length]! });
        },
      }),
    ),
  );
  const statuses: Record<string, number> = {};
  let correct = 0;
  let failed = 0;
  for (const result of results) {
    for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
      statuses[status] = (statuses[status] ?? 0) + count;
      if (Number(status) === load.expectStatus) correct += count;
      else failed += count;
    }
    failed += result.errors;
  }
  const total = results.reduce((sum, r) => sum + r.requests.total, 0);
  return {
    perSecond: correct / Math.max(...results.map((r) => r.duration)),
    correct,
    failed,
    statuses,
    // autocannon keeps whole milliseconds.
    latencyP50Ms: results.reduce((sum, r) => sum + r.latency.p50 * r.requests.total, 0) / Math.max(total, 1),
    latencyP99Ms: Math.max(...results.map((r) => r.latency.p99)),
  };
}

export function runHttpLoad(nodes: ServerNode[], load: HttpLoad): Promise<LoadResult> {
  return load.generator === 'autocannon' ? runAutocannon(nodes, load) : runLean(nodes, load);
}
