// The read half of `Chat` as pure functions of a ring, for the stores that serve reads from
// shared memory. They keep single-node semantics (server/store/local-chat.ts) to the letter:
// only published changes are served; a message created and deleted after the cursor is never
// reported; the deletion of a message after the cursor is not news to that reader.
import type { ChangeSet, ChatMessage } from '../../protocol/message.js';
import type { LiveChange } from '../chat/chat.js';
import type { Listeners } from '../chat/listeners.js';
import type { Change, MessageChange, RingBuffer } from '../ring-buffer.js';

/**
 * The changes after `cursor`. A cursor older than anything the ring keeps gets the newest page
 * with `reset`; one at or past the newest published change gets nothing new. Whether a cursor
 * past the newest is a reset (one node) or a node that lags (cluster) is the store's to say.
 */
export function changesAfter(ring: RingBuffer, cursor: number, limit: number): ChangeSet {
  const upTo = ring.published;
  if (cursor >= upTo) return { messages: [], deleted: [], last: upTo };
  const { changes, last, missed } = ring.readChanges(cursor, limit, upTo);
  if (missed) return resetPage(ring, limit);
  const messages: ChatMessage[] = [];
  const deleted: number[] = [];
  for (const change of changes) {
    if (change.kind === 'message') {
      if (change.deletedAt === 0) messages.push(toChatMessage(change));
    } else if (change.messageId <= cursor) {
      deleted.push(change.messageId);
    }
  }
  return { messages, deleted, last };
}

/** The answer for a cursor the ring cannot continue from: start over at the newest page. */
export function resetPage(ring: RingBuffer, limit: number): ChangeSet {
  return { ...history(ring, undefined, limit), reset: true };
}

export function liveChangesAfter(ring: RingBuffer, cursor: number, limit: number): { changes: LiveChange[]; last: number; missed: boolean } {
  const upTo = ring.published;
  if (cursor >= upTo) return { changes: [], last: upTo, missed: false };
  const { changes, last, missed } = ring.readChanges(cursor, limit, upTo);
  const live: LiveChange[] = [];
  for (const change of changes) {
    if (change.kind === 'message') {
      if (change.deletedAt === 0) live.push({ kind: 'message', cursor: change.seq, message: toChatMessage(change) });
    } else if (change.messageId <= cursor) {
      live.push({ kind: 'delete', cursor: change.seq, id: change.messageId });
    }
  }
  return { changes: live, last, missed };
}

export function history(ring: RingBuffer, before: number | undefined, limit: number): ChangeSet {
  const upTo = ring.published;
  return { messages: ring.readHistory(before, limit, upTo).map(toChatMessage), deleted: [], last: upTo };
}

/** A change as live subscribers get it. */
export function toLiveChange(change: Change): LiveChange {
  return change.kind === 'message'
    ? { kind: 'message', cursor: change.seq, message: toChatMessage(change) }
    : { kind: 'delete', cursor: change.seq, id: change.messageId };
}

/** Hands a published round of changes to the live subscribers. */
export function announce(listeners: Listeners<LiveChange>, changes: readonly Change[]): void {
  if (listeners.size === 0) return;
  for (const change of changes) listeners.emit(toLiveChange(change));
}

/**
 * The original of a retried send (same user and clientId), as the retry's answer: its id,
 * author and time, and its text unless it has been deleted since (a deleted text is never served).
 * Evicted from memory long ago (`change` undefined): the id and author are what matter to the
 * retrying client.
 */
export function retriedMessage(change: MessageChange | undefined, seq: number, user: string, text: string): ChatMessage {
  if (change === undefined) return { id: seq, user, text, time: new Date(0).toISOString() };
  return change.deletedAt !== 0 ? { ...toChatMessage(change), text: '' } : toChatMessage(change);
}

export function toChatMessage(change: MessageChange): ChatMessage {
  return { id: change.seq, user: change.user, text: change.text, time: new Date(change.timeMs).toISOString() };
}
