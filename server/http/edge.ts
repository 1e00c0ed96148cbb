// What every route handler gets: the chat, configuration, operations, and the edge's own
// shared parts. Built once by http-server.ts.
import type { Chat } from '../chat/chat.js';
import type { Config } from '../config.js';
import type { ClientCounts } from '../ops/client-counts.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { ChangeAnswers } from './change-answers.js';
import type { Exchange } from './exchange.js';
import type { LiveFeed } from './live-feed.js';
import type { StaticFiles } from './static-files.js';

export interface Edge {
  chat: Chat;
  config: Config;
  logger: Logger;
  metrics: Metrics | null;
  clients: ClientCounts;
  feed: LiveFeed;
  answers: ChangeAnswers;
  files: StaticFiles;
  /** Set once shutdown starts: no new streams or long-polls, health answers 503. */
  isShuttingDown: boolean;
}

export type Handler = (exchange: Exchange, edge: Edge) => Promise<void> | void;

/** SSE and long-poll clients count against config.maxClients together with TCP clients. */
export function hasRoomForClient(edge: Edge): boolean {
  const counts = edge.clients.snapshot();
  return counts.tcp + counts.sse + counts.longpoll < edge.config.maxClients;
}
