// The Server-Sent Events wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html).
// Every change event carries its cursor as `id`, so a reconnecting EventSource sends it back in
// Last-Event-ID and resumes exactly after it. JSON.stringify escapes newlines, so each `data:`
// is one line and no message text can forge a field or an event.
import type { ChatMessage } from '../../protocol/message.js';
import type { LiveChange } from '../chat/chat.js';

/** A comment line: keeps proxies and load balancers from timing an idle stream out. */
export const HEARTBEAT = ': heartbeat\n\n';

export function messageEvent(cursor: number, message: ChatMessage): string {
  return `id: ${cursor}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`;
}

export function deleteEvent(cursor: number, id: number): string {
  return `id: ${cursor}\nevent: delete\ndata: {"id":${id}}\n\n`;
}

export function changeEvent(change: LiveChange): string {
  return change.kind === 'message' ? messageEvent(change.cursor, change.message) : deleteEvent(change.cursor, change.id);
}

/**
 * Moves the client's Last-Event-ID to `cursor` without an event: the spec sets the last event
 * id before it drops an event that has no data. Used at the start of a stream (so a client that
 * connected without a cursor resumes from here, not from "now" again) and after changes that
 * produced no event.
 */
export function cursorMark(cursor: number): string {
  return `id: ${cursor}\n\n`;
}

/** `retry:` sets how long EventSource waits before reconnecting, in milliseconds. */
export function retryField(milliseconds: number): string {
  return `retry: ${milliseconds}\n`;
}

/**
 * The stream's cursor is not in the server's history (older than anything kept, or newer than
 * the newest change: the history began again). The client reloads the newest page
 * (GET /api/messages), replaces what it shows, and keeps following: the stream goes on after
 * `cursor`, which is also set as the last event id.
 */
export function resetEvent(cursor: number): string {
  return `id: ${cursor}\nevent: reset\ndata: {"last":${cursor}}\n\n`;
}

/** The last event of a stream whose session ended (logged out on any connection or node). */
export function logoutEvent(reason: string): string {
  return `event: logout\ndata: ${JSON.stringify({ reason })}\n\n`;
}

/** The last event of a stream the server ends: reconnect after `retryAfter` seconds. */
export function goodbyeEvent(reason: string, retryAfter: number): string {
  return `${retryField(retryAfter * 1000)}event: goodbye\ndata: ${JSON.stringify({ reason, retryAfter })}\n\n`;
}
