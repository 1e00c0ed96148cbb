// Flags and environment variables -> one checked, typed Config. Every flag has an environment
// variable (PARLEY_ + the flag in upper snake case); a flag wins over the environment.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface Config {
  host: string;
  tcpPort: number;
  httpPort: number;
  /** null: metrics on the HTTP port; 0 or more: a separate listener; 'off': no /metrics. */
  metricsPort: number | null | 'off';
  workers: number;
  /** null with --memory: nothing is written to disk (no journal, no sessions file, no PID file). */
  dataDir: string | null;
  /** null: no chat.log; '-': stderr. */
  logFile: string | null;
  /** Ring slots (messages + deletions kept) and text arena size. */
  capacity: number;
  arenaBytes: number;
  /** Messages per user per second (burst of 3x); 0 turns the limit off. */
  rateLimit: number;
  /** Mark cookies Secure (TLS terminated by a proxy in front). */
  secureCookies: boolean;
  /** Extra origins allowed to call the API from a browser, besides the server's own. */
  allowedOrigins: string[];
  /** Seconds a TCP client may leave a frame half-written before it is disconnected. */
  frameTimeoutMs: number;
  /** Most TCP + SSE + long-poll clients at once. */
  maxClients: number;
  /**
   * Most open HTTP connections. Above maxClients, so a stream or long-poll over that cap still
   * gets its 503 answer and short requests (health checks, login) are still served.
   */
  maxHttpConnections: number;
  /** A whole HTTP request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive HTTP connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** How often an SSE stream gets a comment, so proxies do not time it out. */
  sseHeartbeatMs: number;
  /** redis://host:port/db to join a cluster; null for the embedded single-node store. */
  cluster: string | null;
  /** Node name in a cluster (banner, chat.log's start line); null: hostname:http-port once bound. */
  nodeName: string | null;
  /** Folder holding the built web client. */
  webRoot: string;
}

export class ConfigError extends Error {}

/**
 * HTTP connections allowed beyond --max-clients by default: room for the requests that answer
 * "too many clients" and for short requests while every client slot is taken.
 */
export const HTTP_CONNECTION_HEADROOM = 1024;

// `value` names what a flag takes in --help; `shown` is the default as --help and the README
// state it, where `default` (what an unset flag parses as) would say nothing ('' for "computed").
const FLAGS = {
  host: { type: 'string', value: 'ADDRESS', env: 'PARLEY_HOST', help: 'address to listen on', default: '0.0.0.0', shown: '0.0.0.0' },
  'tcp-port': { type: 'string', value: 'PORT', env: 'PARLEY_TCP_PORT', help: 'TCP chat protocol port', default: '8783', shown: '8783' },
  'http-port': { type: 'string', value: 'PORT', env: 'PARLEY_HTTP_PORT', help: 'HTTP API and web client port', default: '8784', shown: '8784' },
  'metrics-port': {
    type: 'string',
    value: 'PORT',
    env: 'PARLEY_METRICS_PORT',
    help: "a separate port for /metrics, or 'off' for no metrics",
    default: '',
    shown: 'the HTTP port',
  },
  workers: { type: 'string', value: 'N', env: 'PARLEY_WORKERS', help: 'worker threads for the heavy work (journal compaction, batches of long messages); 0 does it on the main thread', default: '', shown: 'one per CPU core' },
  'data-dir': { type: 'string', value: 'DIR', env: 'PARLEY_DATA_DIR', help: 'folder for the journal, sessions and PID file', default: './data', shown: './data' },
  memory: { type: 'boolean', value: '', env: 'PARLEY_MEMORY', help: 'keep everything in memory, write nothing to disk', default: false, shown: 'off' },
  log: { type: 'string', value: 'FILE', env: 'PARLEY_LOG', help: "activity log (JSON lines); '-' for stderr, 'off' for none", default: 'chat.log', shown: 'chat.log' },
  capacity: { type: 'string', value: 'N', env: 'PARLEY_CAPACITY', help: 'messages and deletions kept, the oldest dropped first', default: '131072', shown: '131072' },
  'arena-mb': { type: 'string', value: 'MIB', env: 'PARLEY_ARENA_MB', help: 'shared memory for message texts, in MiB', default: '64', shown: '64' },
  'rate-limit': { type: 'string', value: 'N', env: 'PARLEY_RATE_LIMIT', help: 'messages per user per second (bursts of 3x); 0 for no limit', default: '20', shown: '20' },
  'frame-timeout': { type: 'string', value: 'SECONDS', env: 'PARLEY_FRAME_TIMEOUT', help: 'seconds a TCP frame may stay half-written', default: '30', shown: '30' },
  'max-clients': { type: 'string', value: 'N', env: 'PARLEY_MAX_CLIENTS', help: 'most TCP, SSE and long-poll clients at once', default: '50000', shown: '50000' },
  'max-http-connections': {
    type: 'string',
    value: 'N',
    env: 'PARLEY_MAX_HTTP_CONNECTIONS',
    help: 'most open HTTP connections (kept above --max-clients, so a refused stream still gets its 503)',
    default: '',
    shown: `--max-clients + ${HTTP_CONNECTION_HEADROOM}`,
  },
  'request-timeout': { type: 'string', value: 'SECONDS', env: 'PARLEY_REQUEST_TIMEOUT', help: 'seconds a whole HTTP request may take to arrive (408)', default: '30', shown: '30' },
  'keep-alive-timeout': { type: 'string', value: 'SECONDS', env: 'PARLEY_KEEP_ALIVE_TIMEOUT', help: 'seconds an idle HTTP connection stays open', default: '5', shown: '5' },
  'sse-heartbeat': { type: 'string', value: 'SECONDS', env: 'PARLEY_SSE_HEARTBEAT', help: 'seconds between SSE heartbeat comments', default: '15', shown: '15' },
  'secure-cookies': { type: 'boolean', value: '', env: 'PARLEY_SECURE_COOKIES', help: 'mark the session cookie Secure (behind a TLS proxy)', default: false, shown: 'off' },
  'allow-origin': { type: 'string', value: 'ORIGINS', env: 'PARLEY_ALLOW_ORIGIN', help: 'comma-separated extra origins allowed to call the API from a browser', default: '', shown: 'none' },
  cluster: { type: 'string', value: 'URL', env: 'PARLEY_CLUSTER', help: 'redis://host:port/db: share one chat between nodes', default: '', shown: 'none' },
  'node-name': { type: 'string', value: 'NAME', env: 'PARLEY_NODE_NAME', help: "this node's name in a cluster, in the banner and chat.log", default: '', shown: 'hostname:http-port' },
  help: { type: 'boolean', value: '', env: '', help: 'show this help', default: false, shown: '' },
} as const;

type FlagName = keyof typeof FLAGS;

export function usage(): string {
  const lines = ['Usage: parley [options]', '', 'Every option can also be set by its environment variable; a flag wins.', ''];
  for (const [name, flag] of Object.entries(FLAGS)) {
    lines.push(`${`  --${name}${flag.value ? ` ${flag.value}` : ''}`.padEnd(31)} ${flag.help}`);
    if (flag.env) lines.push(`${''.padEnd(31)} ${flag.env}, default: ${flag.shown}`);
  }
  return lines.join('\n');
}

/** parseArgs's own sentences, made into one line that says what to do. */
function describeParseError(message: string, argv: string[]): string {
  // `--workers -1`: parseArgs will not take a value that looks like an option.
  const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) {
    const flag = ambiguous[1]!;
    const value = argv[argv.indexOf(flag) + 1] ?? '';
    return `${flag} needs a value, and "${value}" looks like an option; write ${flag}=${value} to give it as the value.`;
  }
  return `${message.replace(/\.+$/, '')}. Run with --help to see the options.`;
}

/** Parses argv + env; throws ConfigError with a sentence to show the user. Returns null for --help. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Config | null {
  const options = Object.fromEntries(
    Object.entries(FLAGS).map(([name, flag]) => [name, { type: flag.type }]),
  ) as Record<FlagName, { type: 'string' | 'boolean' }>;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(describeParseError((error as Error).message, argv));
  }
  if (values.help) return null;

  const get = (name: FlagName): string => {
    const flag = FLAGS[name];
    const value = values[name] ?? (flag.env ? env[flag.env] : undefined);
    if (value === undefined) return String(flag.default);
    return String(value);
  };
  const bool = (name: FlagName): boolean => {
    const value = get(name);
    if (value === 'true' || value === '1' || value === 'yes') return true;
    if (value === 'false' || value === '0' || value === 'no' || value === '') return false;
    throw new ConfigError(`--${name} must be true or false, not "${value}".`);
  };
  const int = (name: FlagName, min: number, max: number): number => {
    const raw = get(name);
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
      throw new ConfigError(`--${name} must be a whole number from ${min} to ${max}, not "${raw}".`);
    }
    return value;
  };

  const memory = bool('memory');
  const log = get('log');
  const metrics = get('metrics-port');
  const workersRaw = get('workers');
  const maxClients = int('max-clients', 1, 10_000_000);
  const maxHttpConnections = get('max-http-connections') === '' ? maxClients + HTTP_CONNECTION_HEADROOM : int('max-http-connections', 1, 10_000_000);
  const cluster = get('cluster').trim();
  if (cluster && !/^rediss?:\/\//.test(cluster)) {
    throw new ConfigError(`--cluster must be a redis:// or rediss:// URL, not "${cluster}".`);
  }
  const origins = get('allow-origin')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) {
      throw new ConfigError(`--allow-origin takes origins like https://chat.example.com, not "${origin}".`);
    }
  }

  return {
    host: get('host'),
    tcpPort: int('tcp-port', 0, 65535),
    httpPort: int('http-port', 0, 65535),
    metricsPort: metrics === '' ? null : metrics === 'off' ? 'off' : int('metrics-port', 0, 65535),
    workers: workersRaw === '' ? availableParallelism() : int('workers', 0, 256),
    dataDir: memory ? null : resolve(cwd, get('data-dir')),
    logFile: log === 'off' ? null : log === '-' ? '-' : resolve(cwd, log),
    capacity: int('capacity', 16, 16_777_216),
    arenaBytes: int('arena-mb', 1, 4096) * 1024 * 1024,
    rateLimit: int('rate-limit', 0, 1_000_000),
    secureCookies: bool('secure-cookies'),
    allowedOrigins: origins,
    frameTimeoutMs: int('frame-timeout', 1, 3600) * 1000,
    maxClients,
    maxHttpConnections,
    requestTimeoutMs: int('request-timeout', 1, 3600) * 1000,
    keepAliveTimeoutMs: int('keep-alive-timeout', 1, 3600) * 1000,
    sseHeartbeatMs: int('sse-heartbeat', 1, 3600) * 1000,
    cluster: cluster || null,
    nodeName: get('node-name') || null,
    webRoot: resolve(new URL('../web', import.meta.url).pathname),
  };
}
