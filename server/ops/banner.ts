// The one-screen startup banner: where Parley listens and what it runs with.
import { isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import type { StoreStats } from '../chat/chat.js';
import { redact } from '../cluster/redis-link.js';

export interface Ports {
  tcpPort: number;
  httpPort: number;
  metricsPort: number | null;
}

export function banner(config: Config, ports: Ports, stats: StoreStats): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  // An IPv6 address takes brackets in a URL (RFC 3986), or its colons read as the port's.
  const shown = isIPv6(host) ? `[${host}]` : host;
  const metrics =
    config.metricsPort === 'off'
      ? 'off'
      : `http://${shown}:${ports.metricsPort ?? ports.httpPort}/metrics`;
  const lines = [
    'Parley is running.',
    '',
    `  Web client   http://${shown}:${ports.httpPort}/`,
    `  HTTP API     http://${shown}:${ports.httpPort}/api/  (listening on ${config.host})`,
    `  TCP chat     ${shown}:${ports.tcpPort}  (try: nc ${host} ${ports.tcpPort})`,
    `  Metrics      ${metrics}`,
    `  Data         ${config.dataDir ?? 'in memory only (--memory): nothing is kept after exit'}`,
    `  Log          ${config.logFile ?? 'off'}`,
    `  Store        ${stats.ring.used} changes kept of ${stats.ring.capacity}, ${Math.round(stats.ring.arenaBytes / 1048576)} MiB for texts`,
    `  Workers      ${workers(config)}`,
    `  Cluster      ${config.cluster ? `${redact(config.cluster)} as node ${nodeName(config, ports)}` : 'no (single node)'}`,
    '',
    'Stop with Ctrl-C.',
  ];
  return lines.join('\n');
}

/** The name this node goes by in a cluster: --node-name, or this machine's name and HTTP port. */
export function nodeName(config: Config, ports: Ports): string {
  return config.nodeName ?? `${hostname()}:${ports.httpPort}`;
}

function workers(config: Config): string {
  if (config.cluster !== null) return 'none: in a cluster, Redis orders the writes';
  return config.workers === 0 ? 'none: all work on the main thread' : `${config.workers} threads for journal compaction and long-message batches`;
}
