#!/usr/bin/env node
// Parley's one process: configuration, the store, the worker pool, the TCP and HTTP
// listeners, and the signals that stop it. Wiring only; each part lives in its own module.
import { hostname } from 'node:os';
import type { Chat } from './chat/chat.js';
import { ConfigError, loadConfig, usage, type Config } from './config.js';
import { createHttpEdge, createMetricsServer } from './http/http-server.js';
import { banner } from './ops/banner.js';
import { ClientCounts } from './ops/client-counts.js';
import { claimDataDir, DataDirError } from './ops/data-dir.js';
import { listen, ListenError } from './ops/listen.js';
import { openLogger, type Logger } from './ops/logger.js';
import { Metrics } from './ops/metrics.js';
import { ClusterChat, ClusterConfigError, ClusterError } from './cluster/cluster-chat.js';
import { LocalChat } from './store/local-chat.js';
import { createTcpEdge } from './tcp/tcp-server.js';

/** Longest a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000;

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
  process.on('uncaughtException', (error) => logger.error('uncaught-exception', { error }));
  process.on('unhandledRejection', (error) => logger.error('unhandled-rejection', { error }));

  let releaseDataDir = () => {};
  try {
    if (config.dataDir !== null) releaseDataDir = claimDataDir(config.dataDir);
  } catch (error) {
    if (error instanceof DataDirError) fail(error.message, 1);
    throw error;
  }

  const clients = new ClientCounts();
  // The gauges read the chat when scraped, so the registry can exist before the chat opens
  // and record the journal's fsyncs from the first one.
  let chat: Chat | undefined;
  const metrics =
    config.metricsPort === 'off' ? null : new Metrics({ store: () => chat!.stats(), clients: () => clients.snapshot() });
  chat = await openChat(config, logger, metrics);
  if (metrics) {
    chat.subscribe((change) => (change.kind === 'message' ? metrics.messagesSent.inc() : metrics.messagesDeleted.inc()));
  }

  const tcp = createTcpEdge({ chat, logger, metrics, clients, maxClients: config.maxClients, frameTimeoutMs: config.frameTimeoutMs });
  const http = createHttpEdge({ chat, config, logger, metrics, clients });
  const metricsServer = metrics && typeof config.metricsPort === 'number' ? createMetricsServer(metrics) : null;

  let ports;
  try {
    ports = {
      tcpPort: await listen(tcp.server, config.tcpPort, config.host, 'TCP chat', '--tcp-port'),
      httpPort: await listen(http.server, config.httpPort, config.host, 'HTTP', '--http-port'),
      metricsPort: metricsServer ? await listen(metricsServer, config.metricsPort as number, config.host, 'metrics', '--metrics-port') : null,
    };
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    await chat.close();
    releaseDataDir();
    fail(error.message, 1);
  }

  console.log(banner(config, ports, chat.stats(), chat.stats().ring.used));
  logger.info('start', { pid: process.pid, ...ports, host: config.host, dataDir: config.dataDir, workers: config.workers, cluster: config.cluster !== null, ...(config.cluster !== null ? { node: nodeNameOf(config) } : {}) });
  if (process.env.PARLEY_READY === '1') {
    console.log(`PARLEY_READY ${JSON.stringify({ ...ports, metricsPort: ports.metricsPort ?? ports.httpPort })}`);
  }

  process.on('SIGHUP', () => {
    logger.reopen();
    logger.info('log-reopened');
  });

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
    try {
      await Promise.all([
        tcp.shutdown('the server is restarting; reconnect in a few seconds', 2),
        http.shutdown(),
        metricsServer && new Promise((resolve) => metricsServer.close(resolve)),
      ]);
      await chat.close();
    } catch (error) {
      logger.error('stop-failed', { error });
    }
    releaseDataDir();
    logger.info('stop', { signal });
    logger.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function openChat(config: Config, logger: Logger, metrics: Metrics | null): Promise<Chat> {
  if (config.cluster !== null) {
    try {
      return await ClusterChat.open({
        url: config.cluster,
        nodeName: nodeNameOf(config),
        capacity: config.capacity,
        arenaBytes: config.arenaBytes,
        rateLimit: config.rateLimit,
        onError: (event, error) => logger.error(event, { error }),
        onEvent: (level, event, fields) => logger[level](event, fields),
      });
    } catch (error) {
      // Exit code 2 (configuration) keeps systemd from restarting a node that would fail again.
      if (error instanceof ClusterError) fail(error.message, error instanceof ClusterConfigError ? 2 : 1);
      throw error;
    }
  }
  const chat = await LocalChat.open({
    dataDir: config.dataDir,
    capacity: config.capacity,
    arenaBytes: config.arenaBytes,
    workers: config.workers,
    rateLimit: config.rateLimit,
    onError: (event, error) => logger.error(event, { error }),
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

/** --node-name, or host:httpPort as config.ts promises. */
function nodeNameOf(config: Config): string {
  return config.nodeName ?? `${hostname()}:${config.httpPort}`;
}

function fail(message: string, code: number): never {
  console.error(`parley: ${message}`);
  process.exit(code);
}

await main();
