// GET/POST /api/messages and DELETE /api/messages/ID.
//
// GET is the hot path (issue 6 polls it from 64 connections): the answer comes from the
// per-cursor cache in change-answers.ts, and only a long-poll that has to wait allocates more
// than the exchange.
import { hashToken } from '../../chat/session-token.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_WAIT_SECONDS } from '../../../protocol/limits.js';
import { ApiError } from '../../errors.js';
import type { Exchange } from '../exchange.js';
import { hasRoomForClient, type Edge } from '../edge.js';
import { LongPoll } from '../long-poll.js';
import { parseSeconds, parseWholeNumber, queryValue, readJsonObject } from '../request.js';
import { sendJson, sendNoContent } from '../respond.js';
import { requireSession } from '../session-cookie.js';

const MESSAGE_PATH = '/api/messages/';

export async function getMessages(exchange: Exchange, edge: Edge): Promise<void> {
  const session = await requireSession(exchange, edge.chat);
  const { query } = exchange;
  const lastRaw = queryValue(query, 'last');
  const beforeRaw = queryValue(query, 'before');
  const limitRaw = queryValue(query, 'limit');
  const waitRaw = queryValue(query, 'wait');
  const limit = limitRaw === undefined ? DEFAULT_PAGE_SIZE : parseWholeNumber(limitRaw, 'limit', 1, MAX_PAGE_SIZE);

  if (lastRaw === undefined) {
    if (waitRaw !== undefined) {
      throw new ApiError('BAD_REQUEST', 'wait needs a cursor to wait after: use ?last=CURSOR&wait=SECONDS');
    }
    const before = beforeRaw === undefined ? undefined : parseWholeNumber(beforeRaw, 'before', 1, Number.MAX_SAFE_INTEGER);
    sendJson(exchange, 200, edge.answers.history(before, limit).body);
    return;
  }
  if (beforeRaw !== undefined) {
    throw new ApiError('BAD_REQUEST', 'use either last (changes after a cursor) or before (older messages), not both');
  }
  const last = parseWholeNumber(lastRaw, 'last', 0, Number.MAX_SAFE_INTEGER);
  const wait = waitRaw === undefined ? 0 : parseSeconds(waitRaw, 'wait', MAX_WAIT_SECONDS);
  const answer = edge.answers.changesAfter(last, limit);
  if (!answer.isEmpty || wait === 0 || edge.isShuttingDown) {
    sendJson(exchange, 200, answer.body);
    return;
  }
  if (!hasRoomForClient(edge)) {
    throw new ApiError('TOO_MANY_CONNECTIONS', `the server has its maximum of ${edge.config.maxClients} clients; try again shortly`);
  }
  new LongPoll(exchange, hashToken(session.token), last, limit, edge).start(Math.round(wait * 1000));
}

export async function postMessage(exchange: Exchange, edge: Edge): Promise<void> {
  const session = await requireSession(exchange, edge.chat);
  const body = await readJsonObject(exchange);
  const { message, duplicate } = await edge.chat.send(session.username, body.text, body.clientId);
  // 200 for a retried clientId: the client learns its earlier attempt did arrive.
  sendJson(exchange, duplicate ? 200 : 201, JSON.stringify(message));
}

export async function deleteMessage(exchange: Exchange, edge: Edge): Promise<void> {
  const session = await requireSession(exchange, edge.chat);
  const id = parseWholeNumber(exchange.path.slice(MESSAGE_PATH.length), 'the message id', 1, Number.MAX_SAFE_INTEGER);
  await edge.chat.delete(session.username, id);
  sendNoContent(exchange);
}
