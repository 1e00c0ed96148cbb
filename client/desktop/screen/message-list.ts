// The messages on screen, kept in id order, and the screen rows they make. Messages arrive
// from the session (live, after a reconnect, or as an older page when scrolling back); each is
// wrapped once per screen width and cached, so a new message or a key press does not re-wrap
// thousands of others.
import type { ChatMessage } from '../../../protocol/message.js';
import type { Line } from './painter.js';
import { dayKey, dayLine, messageLayout, messageLines, type MessageLayout } from './message-view.js';

export interface Row {
  line: Line;
  /** The message this row belongs to; day separators have none. */
  messageId?: number;
}

export class MessageList {
  #messages: ChatMessage[] = [];
  readonly #byId = new Map<number, ChatMessage>();
  readonly #lines = new Map<number, Line[]>();
  /** Each message's local calendar day, worked out once (a Date per message per frame adds up). */
  readonly #days = new Map<number, string>();
  #layoutKey = '';

  get size(): number {
    return this.#messages.length;
  }

  get oldest(): ChatMessage | undefined {
    return this.#messages[0];
  }

  get newest(): ChatMessage | undefined {
    return this.#messages.at(-1);
  }

  get(id: number): ChatMessage | undefined {
    return this.#byId.get(id);
  }

  reset(messages: readonly ChatMessage[]): void {
    this.#messages = [];
    this.#byId.clear();
    this.#lines.clear();
    this.#days.clear();
    this.add(messages);
  }

  /** Adds messages not yet known; returns how many were new. */
  add(messages: readonly ChatMessage[]): number {
    const fresh = new Map<number, ChatMessage>();
    for (const message of messages) if (!this.#byId.has(message.id)) fresh.set(message.id, message);
    return this.#insert([...fresh.values()]);
  }

  remove(id: number): boolean {
    if (!this.#byId.delete(id)) return false;
    this.#lines.delete(id);
    this.#days.delete(id);
    this.#messages.splice(this.#indexOf(id), 1);
    return true;
  }

  /** The id `steps` messages after (positive) or before (negative) `id`, clamped to the ends. */
  step(id: number | undefined, steps: number): number | undefined {
    if (this.#messages.length === 0) return undefined;
    if (id === undefined || !this.#byId.has(id)) return this.#messages.at(-1)!.id;
    const index = Math.max(0, Math.min(this.#messages.length - 1, this.#indexOf(id) + steps));
    return this.#messages[index]!.id;
  }

  /** Every row, oldest first, for a screen `width` wide. */
  rows(width: number, me: string | undefined, now = new Date()): Row[] {
    const layout = messageLayout(width, me);
    const key = `${layout.width}/${layout.nameColumn}/${layout.showTime}/${me ?? ''}`;
    if (key !== this.#layoutKey) {
      this.#lines.clear();
      this.#layoutKey = key;
    }
    const rows: Row[] = [];
    let day = '';
    for (const message of this.#messages) {
      const messageDay = this.#days.get(message.id) ?? dayKey(message.time);
      if (messageDay !== day) {
        day = messageDay;
        rows.push({ line: dayLine(message.time, width, now) });
      }
      for (const line of this.#linesOf(message, layout)) rows.push({ line, messageId: message.id });
    }
    return rows;
  }


  #linesOf(message: ChatMessage, layout: MessageLayout): Line[] {
    let lines = this.#lines.get(message.id);
    if (!lines) {
      lines = messageLines(message, layout);
      this.#lines.set(message.id, lines);
    }
    return lines;
  }

  #insert(messages: readonly ChatMessage[]): number {
    if (messages.length === 0) return 0;
    for (const message of messages) {
      this.#byId.set(message.id, message);
      this.#days.set(message.id, dayKey(message.time));
    }
    const newest = this.#messages.at(-1);
    const sorted = [...messages].sort((a, b) => a.id - b.id);
    // Live messages come in order, after everything shown: append without re-sorting.
    if (!newest || sorted[0]!.id > newest.id) this.#messages.push(...sorted);
    else this.#messages = [...this.#messages, ...sorted].sort((a, b) => a.id - b.id);
    return messages.length;
  }

  #indexOf(id: number): number {
    let low = 0;
    let high = this.#messages.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const current = this.#messages[middle]!.id;
      if (current === id) return middle;
      if (current < id) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}
