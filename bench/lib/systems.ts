// The systems a scenario compares: Parley in its configurations and the peers. Each starts on
// loopback with ephemeral ports and a private temporary folder, and is described by the nodes
// load is spread over and the processes whose CPU and memory count as "the server".
//
// A cluster is just a system with two nodes and one more process (Redis): every scenario
// spreads its clients over `nodes`, so comparing one node with two sharing Redis needs no
// scenario code of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST, PEERS_DIR, RESULTS_DIR, ROOT, SERVER_MAIN } from './paths.js';
import { portOf, spawnReady, type ReadyProcess } from './spawn-ready.js';

export const SYSTEM_NAMES = ['parley', 'parley-inline', 'parley-cluster', 'plain', 'fastify', 'python', 'ceiling'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface ServerNode {
  httpPort: number;
  /** Undefined for HTTP-only peers. */
  tcpPort: number | undefined;
}

export interface RunningSystem {
  name: SystemName;
  nodes: ServerNode[];
  /** Server processes measured for CPU and RSS (both nodes and Redis for a cluster). */
  pids: number[];
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Start Parley under --cpu-prof, profiles in bench/results/profiles/. */
  cpuProf: boolean;
}

export interface SystemSpec {
  name: SystemName;
  description: string;
  /** Speaks Parley's TCP protocol (login, subscribe, send). */
  hasTcp: boolean;
  /** Serves GET /api/events. */
  hasSse: boolean;
  start(options: SystemOptions): Promise<RunningSystem>;
}

function temporaryFolder(name: string): string {
  return mkdtempSync(join(tmpdir(), `parley-bench-${name}-`));
}

function parleyArgs(dataDir: string, extra: string[], options: SystemOptions): string[] {
  const profile = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(RESULTS_DIR, 'profiles')] : [];
  return [
    ...profile,
    SERVER_MAIN,
    '--host', HOST,
    '--tcp-port', '0',
    '--http-port', '0',
    '--data-dir', dataDir,
    '--log', join(dataDir, 'chat.log'),
    '--rate-limit', '0',
    ...extra,
  ];
}

interface StartedNode {
  server: ReadyProcess;
  node: ServerNode;
  dataDir: string;
}

async function startParleyNode(name: string, extra: string[], options: SystemOptions): Promise<StartedNode> {
  const dataDir = temporaryFolder(name);
  try {
    const server = await spawnReady(process.execPath, parleyArgs(dataDir, extra, options), {
      ready: 'PARLEY_READY ',
      cwd: ROOT,
      env: { PARLEY_READY: '1' },
    });
    return { server, dataDir, node: { httpPort: portOf(server.ready, 'httpPort'), tcpPort: portOf(server.ready, 'tcpPort') } };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

function parley(name: SystemName, description: string, extra: string[]): SystemSpec {
  return {
    name,
    description,
    hasTcp: true,
    hasSse: true,
    async start(options) {
      const { server, node, dataDir } = await startParleyNode(name, extra, options);
      return {
        name,
        nodes: [node],
        pids: [server.pid],
        async stop() {
          await server.stop();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** Redis cannot listen on port 0 and report it, so a free port is found first (loopback only). */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const parleyCluster: SystemSpec = {
  name: 'parley-cluster',
  description: 'two Parley nodes sharing one Redis (--cluster), clients spread over both',
  hasTcp: true,
  hasSse: true,
  async start(options) {
    const redisDir = temporaryFolder('redis');
    const started: { stop(): Promise<void> }[] = [];
    const dataDirs = [redisDir];
    const stopAll = async () => {
      for (const item of started.reverse()) await item.stop();
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    };
    try {
      const port = await findFreePort();
      // AOF with `appendfsync always`, what docs/deploy.md asks of a deployment ("acknowledged
      // means on Redis's disk"), so the hop and the fsync are measured as they would run.
      const redis = await spawnReady(
        REDIS_SERVER,
        ['--port', String(port), '--bind', HOST, '--dir', redisDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
        { ready: /Ready to accept connections/ },
      );
      started.push(redis);
      const url = `redis://${HOST}:${port}/0`;
      const nodes: ServerNode[] = [];
      const pids = [redis.pid];
      for (const nodeName of ['a', 'b']) {
        const node = await startParleyNode(`cluster-${nodeName}`, ['--cluster', url, '--node-name', nodeName], options);
        started.push(node.server);
        dataDirs.push(node.dataDir);
        nodes.push(node.node);
        pids.push(node.server.pid);
      }
      return { name: 'parley-cluster', nodes, pids, stop: stopAll };
    } catch (error) {
      await stopAll();
      throw error;
    }
  },
};

function peer(name: SystemName, description: string, command: string, script: string, hasTcp: boolean, hasSse: boolean): SystemSpec {
  return {
    name,
    description,
    hasTcp,
    hasSse,
    async start() {
      const args = [join(PEERS_DIR, script), '--host', HOST, '--http-port', '0', ...(hasTcp ? ['--tcp-port', '0'] : [])];
      const server = await spawnReady(command, args, { ready: 'PEER_READY ', cwd: ROOT });
      return {
        name,
        nodes: [{ httpPort: portOf(server.ready, 'httpPort'), tcpPort: hasTcp ? portOf(server.ready, 'tcpPort') : undefined }],
        pids: [server.pid],
        stop: () => server.stop(),
      };
    },
  };
}

export const SYSTEMS: Record<SystemName, SystemSpec> = {
  parley: parley('parley', 'Parley as shipped: worker pool (one thread per core), journal with group-committed fsync', []),
  'parley-inline': parley('parley-inline', 'Parley with --workers 0: every task inline on the primary thread', ['--workers', '0']),
  'parley-cluster': parleyCluster,
  plain: peer('plain', 'node:http + node:net, routes inline on one thread, no journal', process.execPath, 'plain-http.mjs', true, true),
  fastify: peer('fastify', 'Fastify 5 with response schemas, one thread, no journal', process.execPath, 'fastify.mjs', false, true),
  python: peer('python', 'Python ThreadingHTTPServer (the original design), HTTP/1.1 keep-alive', 'python3', 'python_threading.py', false, false),
  ceiling: peer('ceiling', 'not a chat server: a constant pre-encoded answer, the loopback ceiling for one Node thread', process.execPath, 'constant-body.mjs', false, false),
};
