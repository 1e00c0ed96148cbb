// The page's model of the chat: confirmed messages (sorted by id, each id once) and the outbox of
// sends the server has not confirmed yet. A pure reducer, so the rules below are unit-tested
// without a browser (test/web/chat-state.test.ts).
//
// Duplicates: one message can reach the page three ways (the POST answer, the live feed, a
// history page) in any order. Everything is keyed by id, so whichever arrives second changes
// nothing. An outbox entry has no id until the POST answers; when the live feed delivers our
// own message first, the entry is matched by text and hidden (`echoId`), so the message does
// not show twice for the few milliseconds until the POST answer arrives. Only live changes are
// matched, never a page of history (see 'snapshot').
import type { ChatMessage } from '../../protocol/message.js';

export type SendState = 'sending' | 'failed';

export interface Outgoing {
  /** Idempotency key: a retry sends the same one, so the server stores the message once. */
  clientId: string;
  text: string;
  /** When the user pressed Enter, ISO 8601. */
  time: string;
  state: SendState;
  error: string | null;
  /** Id of our own message that arrived on the feed before the POST answer did. */
  echoId: number | null;
}

export interface ChatState {
  me: string;
  messages: ChatMessage[];
  outbox: Outgoing[];
  /** Whether history older than the first message may still exist (`?before=` pages). */
  hasOlder: boolean;
  isLoaded: boolean;
}

export type ChatAction =
  /** The newest page, at the start or after a reset: replaces the messages. */
  | { type: 'snapshot'; messages: ChatMessage[]; hasOlder: boolean }
  | { type: 'changes'; messages: ChatMessage[]; deleted: number[] }
  | { type: 'older'; messages: ChatMessage[]; hasOlder: boolean }
  | { type: 'queued'; clientId: string; text: string; time: string }
  | { type: 'retrying'; clientId: string }
  | { type: 'sent'; clientId: string; message: ChatMessage }
  | { type: 'failed'; clientId: string; error: string }
  | { type: 'discarded'; clientId: string };

/** One row of the message list, confirmed or not. */
export interface Entry {
  key: string;
  id: number | null;
  user: string;
  text: string;
  time: string;
  state: 'sent' | SendState;
  isMine: boolean;
  error: string | null;
  clientId: string | null;
}

export function initialState(me: string): ChatState {
  return { me, messages: [], outbox: [], hasOlder: true, isLoaded: false };
}

export function reduce(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'snapshot': {
      // The newest page replaces the list: at the start it is empty anyway, and after a reset
      // what it showed belongs to a history the server no longer has. Unconfirmed sends stay,
      // and none is matched to the page: a page holds older messages too, and text alone cannot
      // tell an earlier "ok" of ours from the one on its way (matched, it would be hidden, and
      // dropped if its POST then failed: lost without a Retry). Earlier matches go as well, as
      // their ids belong to the old history. At worst a send shows twice until its POST answers.
      const messages = merge([], action.messages);
      const outbox = state.outbox.map((entry) => (entry.echoId === null ? entry : { ...entry, echoId: null }));
      return { ...state, messages, outbox, hasOlder: action.hasOlder, isLoaded: true };
    }
    case 'changes': {
      const deleted = new Set(action.deleted);
      const outbox = matchEchoes(state.me, state.outbox, action.messages).filter(
        (entry) => entry.echoId === null || !deleted.has(entry.echoId),
      );
      let messages = merge(state.messages, action.messages);
      if (deleted.size > 0) messages = messages.filter((message) => !deleted.has(message.id));
      return { ...state, messages, outbox };
    }
    case 'older':
      return { ...state, messages: merge(state.messages, action.messages), hasOlder: action.hasOlder };
    case 'queued':
      return {
        ...state,
        outbox: [
          ...state.outbox,
          { clientId: action.clientId, text: action.text, time: action.time, state: 'sending', error: null, echoId: null },
        ],
      };
    case 'retrying':
      return updateOutgoing(state, action.clientId, { state: 'sending', error: null });
    case 'sent':
      return {
        ...state,
        messages: merge(state.messages, [action.message]),
        outbox: state.outbox.filter((entry) => entry.clientId !== action.clientId),
      };
    case 'failed': {
      const entry = state.outbox.find((candidate) => candidate.clientId === action.clientId);
      // The feed already delivered it: the server has the message and only the answer was
      // lost, so there is nothing to retry.
      if (entry?.echoId != null) return removeOutgoing(state, action.clientId);
      return updateOutgoing(state, action.clientId, { state: 'failed', error: action.error });
    }
    case 'discarded':
      return removeOutgoing(state, action.clientId);
  }
}

/** The rows to show: confirmed messages by id, then what is still on its way, in send order. */
export function listEntries(state: ChatState): Entry[] {
  const entries: Entry[] = state.messages.map((message) => ({
    key: `m${message.id}`,
    id: message.id,
    user: message.user,
    text: message.text,
    time: message.time,
    state: 'sent',
    isMine: message.user === state.me,
    error: null,
    clientId: null,
  }));
  for (const entry of state.outbox) {
    if (entry.echoId !== null) continue;
    entries.push({
      key: `c${entry.clientId}`,
      id: null,
      user: state.me,
      text: entry.text,
      time: entry.time,
      state: entry.state,
      isMine: true,
      error: entry.error,
      clientId: entry.clientId,
    });
  }
  return entries;
}

/** Sorted, unique by id. The common case (all new ids after the last one) is a plain append. */
export function merge(current: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return current;
  const lastId = current.length > 0 ? current[current.length - 1]!.id : -Infinity;
  if (isAscending(incoming) && incoming[0]!.id > lastId) return current.concat(incoming);
  const byId = new Map<number, ChatMessage>();
  for (const message of current) byId.set(message.id, message);
  for (const message of incoming) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function isAscending(messages: ChatMessage[]): boolean {
  for (let i = 1; i < messages.length; i++) if (messages[i]!.id <= messages[i - 1]!.id) return false;
  return true;
}

function matchEchoes(me: string, outbox: Outgoing[], messages: ChatMessage[]): Outgoing[] {
  let result = outbox;
  for (const message of messages) {
    if (message.user !== me) continue;
    if (result.some((entry) => entry.echoId === message.id)) continue;
    const index = result.findIndex(
      (entry) => entry.state === 'sending' && entry.echoId === null && entry.text === message.text,
    );
    if (index === -1) continue;
    result = result.map((entry, i) => (i === index ? { ...entry, echoId: message.id } : entry));
  }
  return result;
}

function updateOutgoing(state: ChatState, clientId: string, patch: Partial<Outgoing>): ChatState {
  return {
    ...state,
    outbox: state.outbox.map((entry) => (entry.clientId === clientId ? { ...entry, ...patch } : entry)),
  };
}

function removeOutgoing(state: ChatState, clientId: string): ChatState {
  return { ...state, outbox: state.outbox.filter((entry) => entry.clientId !== clientId) };
}

/** The highest confirmed id in the list; -Infinity when there is none. */
export function newestId(entries: Entry[]): number {
  let newest = -Infinity;
  for (const entry of entries) if (entry.id !== null && entry.id > newest) newest = entry.id;
  return newest;
}

/**
 * Messages from others newer than `afterId`. The unread count, the "new messages" pill and the
 * screen-reader announcement all count these; pages of older history never do.
 */
export function newArrivals(entries: Entry[], afterId: number): Entry[] {
  return entries.filter((entry) => entry.id !== null && entry.id > afterId && !entry.isMine);
}
