#!/usr/bin/env node
// Parley's one process: configuration, the store, the worker pool, the TCP and HTTP
// listeners, and the signals that stop it. Wiring only; each part lives in its own module.
import type { Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { Chat } from './chat/chat.js';
import { ConfigError, loadConfig, usage, type Config } from './config.js';
import { createHttpEdge, createMetricsServer, type HttpEdge } from './http/http-server.js';
import { banner, nodeName, type Ports } from './ops/banner.js';
import { ClientCounts } from './ops/client-counts.js';
import { claimDataDir } from './ops/data-dir.js';
import { listen } from './ops/listen.js';
import { openLogger, type Logger } from './ops/logger.js';
import { Metrics } from './ops/metrics.js';
import { describeStartupFailure } from './ops/startup-failure.js';
import { ClusterChat, ClusterConfigError } from './cluster/cluster-chat.js';
import { LocalChat } from './store/local-chat.js';
import { createTcpEdge, type TcpEdge } from './tcp/tcp-server.js';

/** Longest a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000;
/** Longest each step of undoing a failed start (closing the store, say) may take. */
const UNDO_STEP_DEADLINE_MS = 3_000;

/** What a started server is made of, for the signals that stop it. */
interface Running {
  chat: Chat;
  tcp: TcpEdge;
  http: HttpEdge;
  metricsServer: Server | null;
  ports: Ports;
  releaseDataDir: () => void;
}

async function main(): Promise<void> {
  let config: Config | null;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    fail(error.message, 2);
  }
  if (config === null) {
    console.log(usage());
    return;
  }

  let logger: Logger;
  try {
    logger = openLogger(config.logFile);
  } catch (error) {
    fail(`cannot open the log file ${config.logFile} (${(error as NodeJS.ErrnoException).code}); choose another with --log, or --log off`, 1);
  }

  // Before start(): parley.pid is written early in it, and clean.sh may send SIGHUP as soon as
  // it exists, while the journal is still being read back. Node's default for SIGHUP is to exit.
  process.on('SIGHUP', () => {
    logger.reopen();
    logger.info('log-reopened');
  });

  // Every way startup can fail ends here: one sentence on stderr, the PID file released, exit 1.
  // An error thrown from a callback meanwhile (a worker thread that cannot start) counts too.
  // The keep-going handlers below come only after: before, they turned a failed start into a
  // silent exit 0 with the reason only in chat.log.
  const undo: Array<() => unknown> = [];
  const crashes = watchCrashes();
  let running: Running;
  try {
    running = await Promise.race([start(config, logger, undo), crashes.crashed]);
  } catch (error) {
    logger.error('start-failed', { error });
    for (const step of undo.reverse()) {
      // Best effort, and bounded: a store that hangs while closing must not keep a failed start
      // from exiting.
      await Promise.race([Promise.resolve().then(step).catch(() => {}), delay(UNDO_STEP_DEADLINE_MS)]);
    }
    logger.close();
    // Exit code 2 (configuration) keeps systemd from restarting a node that would fail again.
    fail(describeStartupFailure(error, config.dataDir), error instanceof ClusterConfigError ? 2 : 1);
  } finally {
    crashes.stop();
  }
  process.on('uncaughtException', (error) => logger.error('uncaught-exception', { error }));
  process.on('unhandledRejection', (error) => logger.error('unhandled-rejection', { error }));

  const { chat, tcp, http, metricsServer, ports, releaseDataDir } = running;

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('stop-forced', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('stopping', { signal });
    setTimeout(() => {
      logger.error('stop-timed-out', { afterMs: SHUTDOWN_DEADLINE_MS });
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    // A failed step makes the stop unclean: exit code 1 and no `stop` line, as docs/operations.md
    // promises, so systemd (Restart=on-failure) and whoever reads chat.log can tell.
    let isClean = true;
    try {
      await Promise.all([
        tcp.shutdown('the server is restarting; reconnect in a few seconds', 2),
        http.shutdown(),
        metricsServer && new Promise((resolve) => metricsServer.close(resolve)),
      ]);
      await chat.close();
    } catch (error) {
      isClean = false;
      logger.error('stop-failed', { error });
    }
    releaseDataDir();
    if (isClean) logger.info('stop', { signal });
    logger.close();
    process.exit(isClean ? 0 : 1);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // Only now that the signals are handled: stdout is synchronous on a pipe, so whoever reads the
  // ready line may send SIGTERM at once, and without a handler that kills the process outright.
  console.log(banner(config, ports, chat.stats()));
  logger.info('start', {
    pid: process.pid,
    ...ports,
    host: config.host,
    dataDir: config.dataDir,
    workers: config.workers,
    cluster: config.cluster !== null,
    ...(config.cluster !== null && { node: nodeName(config, ports) }),
  });
  if (process.env.PARLEY_READY === '1') {
    console.log(`PARLEY_READY ${JSON.stringify({ ...ports, metricsPort: ports.metricsPort ?? ports.httpPort })}`);
  }
}

/** Claims the data folder, opens the store and binds the listeners; pushes onto `undo` how to
 *  take back each step, for a start that fails part way. */
async function start(config: Config, logger: Logger, undo: Array<() => unknown>): Promise<Running> {
  const releaseDataDir = config.dataDir === null ? () => {} : claimDataDir(config.dataDir);
  undo.push(releaseDataDir);

  const clients = new ClientCounts();
  // The gauges read the chat when scraped, so the registry can exist before the chat opens
  // and record the journal's fsyncs from the first one.
  let chat: Chat | undefined;
  const metrics =
    config.metricsPort === 'off' ? null : new Metrics({ store: () => chat!.stats(), clients: () => clients.snapshot() });
  const opened = await openChat(config, logger, metrics);
  chat = opened;
  undo.push(() => opened.close());
  if (metrics) {
    // Every change this node sees, its own or (in a cluster) another node's: each node counts
    // them all, which docs/operations.md tells Prometheus users (max() across nodes, not sum()).
    chat.subscribe((change) => (change.kind === 'message' ? metrics.messagesSent.inc() : metrics.messagesDeleted.inc()));
  }

  const tcp = createTcpEdge({ chat, logger, metrics, clients, maxClients: config.maxClients, frameTimeoutMs: config.frameTimeoutMs });
  const http = createHttpEdge({ chat, config, logger, metrics, clients });
  const metricsServer = metrics && typeof config.metricsPort === 'number' ? createMetricsServer(metrics, logger, config) : null;
  const ports: Ports = {
    tcpPort: await listen(tcp.server, config.tcpPort, config.host, 'TCP chat', '--tcp-port'),
    httpPort: await listen(http.server, config.httpPort, config.host, 'HTTP', '--http-port'),
    metricsPort: metricsServer ? await listen(metricsServer, config.metricsPort as number, config.host, 'metrics', '--metrics-port') : null,
  };
  return { chat, tcp, http, metricsServer, ports, releaseDataDir };
}

/** A promise that rejects with the first uncaught exception or unhandled rejection. */
function watchCrashes(): { crashed: Promise<never>; stop(): void } {
  let onCrash: (error: unknown) => void = () => {};
  const crashed = new Promise<never>((_, reject) => (onCrash = reject));
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  return {
    crashed,
    stop() {
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    },
  };
}

async function openChat(config: Config, logger: Logger, metrics: Metrics | null): Promise<Chat> {
  if (config.cluster !== null) {
    return ClusterChat.open({
      url: config.cluster,
      // Named before the ports are bound: with --http-port 0 the default name says port 0.
      nodeName: nodeName(config, { tcpPort: config.tcpPort, httpPort: config.httpPort, metricsPort: null }),
      capacity: config.capacity,
      arenaBytes: config.arenaBytes,
      rateLimit: config.rateLimit,
      onError: (event, error) => logger.error(event, { error }),
      onEvent: (level, event, fields) => logger[level](event, fields),
    });
  }
  const chat = await LocalChat.open({
    dataDir: config.dataDir,
    capacity: config.capacity,
    arenaBytes: config.arenaBytes,
    workers: config.workers,
    rateLimit: config.rateLimit,
    onError: (event, error) => logger.error(event, { error }),
    onEvent: (level, event, fields) => logger[level](event, fields),
    onFsync: (seconds, records) => {
      metrics?.journalFsync.observe(seconds);
      metrics?.journalBatch.observe(records);
    },
  });
  logger.info('journal-replayed', chat.recovery);
  if (chat.recovery.truncatedBytes > 0) {
    // Expected after a crash: the bytes belonged to writes that were never acknowledged.
    logger.warn('journal-tail-dropped', { bytes: chat.recovery.truncatedBytes });
  }
  return chat;
}

function fail(message: string, code: number): never {
  console.error(`parley: ${message}`);
  process.exit(code);
}

await main();
