// POST/GET/DELETE /api/login: sessions by cookie. The token lives only in an HttpOnly cookie,
// so page scripts never see it; GET lets a reloaded page find out who it is.
import type { Exchange } from '../exchange.js';
import type { Edge } from '../edge.js';
import { readJsonObject } from '../request.js';
import { sendJson, sendNoContent } from '../respond.js';
import { clearedSessionCookie, readSessionToken, requireSession, sessionCookie } from '../session-cookie.js';

export async function postLogin(exchange: Exchange, edge: Edge): Promise<void> {
  const body = await readJsonObject(exchange);
  const previous = readSessionToken(exchange);
  const session = await edge.chat.login(body.username);
  // Logging in again from the same browser replaces its session; the old token would
  // otherwise stay valid with nobody holding it.
  if (previous !== undefined && previous !== session.token) await edge.chat.logout(previous);
  exchange.user = session.username;
  edge.metrics?.logins.inc({ transport: 'http' });
  edge.logger.info('login', { user: session.username, transport: 'http' });
  sendJson(exchange, 200, JSON.stringify({ username: session.username }), [
    'Set-Cookie',
    sessionCookie(session.token, edge.config.secureCookies),
  ]);
}

export async function getLogin(exchange: Exchange, edge: Edge): Promise<void> {
  const session = await requireSession(exchange, edge.chat);
  sendJson(exchange, 200, JSON.stringify({ username: session.username }));
}

/** Always 204: logging out without a session leaves the client logged out, as asked. */
export async function deleteLogin(exchange: Exchange, edge: Edge): Promise<void> {
  const token = readSessionToken(exchange);
  if (token !== undefined) {
    const session = await edge.chat.lookup(token);
    if (session !== undefined) {
      exchange.user = session.username;
      edge.logger.info('logout', { user: session.username, transport: 'http' });
    }
    // The chat announces the end (chat.onSessionEnded), which ends the session's SSE streams
    // and long-polls here and its connections on every other edge and node.
    await edge.chat.logout(token);
  }
  sendNoContent(exchange, ['Set-Cookie', clearedSessionCookie(edge.config.secureCookies)]);
}
