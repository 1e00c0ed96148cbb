// The session cookie: the token from chat.login, readable by no script (HttpOnly) and sent by
// the browser to this site only (SameSite=Strict), so another site can neither steal it nor
// make a logged-in browser act with it.
import { parse, serialize } from 'cookie';
import type { Chat, Session } from '../chat/chat.js';
import { ApiError } from '../errors.js';
import type { Exchange } from './exchange.js';

export const SESSION_COOKIE = 'parley_session';

export function readSessionToken(exchange: Exchange): string | undefined {
  const header = exchange.req.headers.cookie;
  if (header === undefined) return undefined;
  // Cheap refusal for requests carrying only other cookies (other apps on the same host).
  if (!header.includes(SESSION_COOKIE)) return undefined;
  const token = parse(header)[SESSION_COOKIE];
  return token === undefined || token === '' ? undefined : token;
}

/** The session of the request, or undefined (no cookie, or a session that has ended). */
export async function findSession(exchange: Exchange, chat: Chat): Promise<Session | undefined> {
  const token = readSessionToken(exchange);
  if (token === undefined) return undefined;
  const session = await chat.lookup(token);
  if (session !== undefined) exchange.user = session.username;
  return session;
}

export async function requireSession(exchange: Exchange, chat: Chat): Promise<Session> {
  const session = await findSession(exchange, chat);
  if (session === undefined) {
    throw new ApiError('NOT_LOGGED_IN', 'you are not logged in (or your session ended); log in with POST /api/login');
  }
  return session;
}

export function sessionCookie(token: string, isSecure: boolean): string {
  return serialize(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', secure: isSecure });
}

export function clearedSessionCookie(isSecure: boolean): string {
  return serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', secure: isSecure, maxAge: 0 });
}
