// Serialised answers of GET /api/messages, cached until the chat's cursor moves.
//
// Pollers ask the same few questions: "anything after C?" where C is usually the newest
// cursor, and the answer to a given question can only change when a new change arrives, which
// moves chat.cursor. So each answer is computed and serialised once per cursor and then served
// as the same Buffer to every poller (issue 6: answering polls from a cached serialised answer
// is what lets the primary thread beat a plain node:http server). Any store, including a Redis
// follower catching up, moves the cursor when it changes what a reader could see.
import { DEFAULT_PAGE_SIZE } from '../../protocol/limits.js';
import type { ChangeSet } from '../../protocol/message.js';
import type { Chat } from '../chat/chat.js';

export interface Answer {
  body: Buffer;
  /** No messages and no deletions: a long-poll keeps waiting. */
  isEmpty: boolean;
}

// Distinct questions kept per cursor; many more means clients with scattered cursors, and
// starting over is cheaper than tracking which to drop.
const MAX_ENTRIES = 1024;

export class ChangeAnswers {
  readonly #chat: Chat;
  #cursor = -1;
  readonly #answers = new Map<number | string, Answer>();

  constructor(chat: Chat) {
    this.#chat = chat;
  }

  /** What changed after `last` (see Chat.changesAfter for cursors it cannot continue from). */
  changesAfter(last: number, limit: number): Answer {
    const key = limit === DEFAULT_PAGE_SIZE ? last : `${last}:${limit}`;
    return this.#cached(key, () => this.#chat.changesAfter(last, limit));
  }

  /** The newest `limit` messages before `before` (or overall). */
  history(before: number | undefined, limit: number): Answer {
    return this.#cached(`h${before ?? ''}:${limit}`, () => this.#chat.history(before, limit));
  }

  #cached(key: number | string, compute: () => ChangeSet): Answer {
    const cursor = this.#chat.cursor;
    if (cursor !== this.#cursor || this.#answers.size >= MAX_ENTRIES) {
      this.#answers.clear();
      this.#cursor = cursor;
    }
    let answer = this.#answers.get(key);
    if (answer === undefined) {
      const set = compute();
      // Only the documented fields, in the documented order, whatever else a store attaches.
      const shape = { messages: set.messages, deleted: set.deleted, last: set.last };
      const body = Buffer.from(JSON.stringify(set.reset ? { ...shape, reset: true } : shape));
      answer = { body, isEmpty: set.messages.length === 0 && set.deleted.length === 0 && !set.reset };
      this.#answers.set(key, answer);
    }
    return answer;
  }
}
