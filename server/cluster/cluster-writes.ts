// The writes of a cluster node: sends and deletes, checked as on one node (server/store/), then
// one Lua script in Redis (write-scripts.ts), then read-your-writes: a write is acknowledged
// once this node's ring has it.
//
// Each write has one time budget (`budgetMs`, 5 s by default) from the moment it starts: every
// Redis command it makes gets what is left, the script must start in Redis a little before the
// budget ends (membership.ts: a script still queued in a hung Redis then never runs, minutes
// later), and the wait for this node's copy uses the rest. A script that started in time but
// whose answer came after the budget may have stored the write, so its sender is told that the
// server could not confirm it (redis-link.ts), never that it was not stored.
import { checkText } from '../../protocol/message-text.js';
import type { ChatMessage } from '../../protocol/message.js';
import type { EventListener, SendResult } from '../chat/chat.js';
import { checkClientId } from '../chat/client-id.js';
import { ApiError } from '../errors.js';
import { RateLimiter } from '../store/rate-limiter.js';
import { retriedMessage } from '../store/ring-reads.js';
import type { HistoryGaps } from './history-gaps.js';
import type { Membership } from './membership.js';
import { RETRY_AFTER_SECONDS, type RedisLink, type Write } from './redis-link.js';
import type { StreamFollower } from './stream-follower.js';
import { CLIENT_IDS_KEY, clientIdMember } from './stream-entry.js';
import type { Guards, ScriptReply } from './write-scripts.js';

/** A stored write's copy gets at least this long, even when the script took the whole budget. */
const MIN_COPY_WAIT_MS = 200;

const SEND: Write = { what: 'store your message', done: 'stored your message', retry: 'a resend with the same clientId is never a duplicate' };
const DELETE: Write = {
  what: 'delete that message',
  done: 'deleted that message',
  retry: 'if it did, the retry answers that the message is already deleted',
};

/** What a stored write was, for the sentence its sender gets when this node's copy does not come. */
type Stored = 'message' | 'deletion';

export interface WritesOptions {
  link: RedisLink;
  membership: Membership;
  follower: StreamFollower;
  gaps: HistoryGaps;
  capacity: number;
  rateLimit: number;
  budgetMs: number;
  onEvent: EventListener;
}

export class ClusterWrites {
  readonly #link: RedisLink;
  readonly #membership: Membership;
  readonly #follower: StreamFollower;
  readonly #gaps: HistoryGaps;
  readonly #limiter: RateLimiter;
  readonly #capacity: number;
  readonly #budgetMs: number;
  readonly #onEvent: EventListener;

  constructor(options: WritesOptions) {
    this.#link = options.link;
    this.#membership = options.membership;
    this.#follower = options.follower;
    this.#gaps = options.gaps;
    this.#limiter = new RateLimiter(options.rateLimit);
    this.#capacity = options.capacity;
    this.#budgetMs = options.budgetMs;
    this.#onEvent = options.onEvent;
  }

  async send(username: string, text: unknown, clientId: unknown): Promise<SendResult> {
    const deadlineMs = Date.now() + this.#budgetMs;
    if (typeof text !== 'string') throw new ApiError('BAD_REQUEST', 'text must be a string');
    const id = checkClientId(clientId);
    const member = id === null ? '' : clientIdMember(username, id);
    // As on one node, a retry of a message that was stored is answered with the original even
    // when the retry itself would be refused (a stricter text rule, a full rate bucket).
    const check = checkText(text);
    if (!check.ok) {
      const original = await this.#sentBefore(member, username, text, deadlineMs);
      if (original) return { message: original, duplicate: true };
      throw new ApiError(check.code, check.message);
    }
    const waitSeconds = this.#limiter.take(username);
    if (waitSeconds > 0) {
      const original = await this.#sentBefore(member, username, text, deadlineMs);
      if (original) return { message: original, duplicate: true };
      throw new ApiError('RATE_LIMITED', `you are sending too fast; wait ${waitSeconds} s and try again`, { retryAfter: waitSeconds });
    }

    const reply = await this.#link.run(
      SEND,
      (redis) =>
        redis.parleySend({
          user: username,
          text: check.text,
          clientId: typeof clientId === 'string' ? clientId : '',
          member,
          ...this.#guards(deadlineMs),
        }),
      deadlineMs - Date.now(),
    );
    this.#refuseUnwritten(reply, SEND.what);
    this.#gaps.noteSeq(reply.seq);
    if (reply.outcome === 'duplicate') return { message: await this.#originalMessage(reply.seq, username, text, deadlineMs), duplicate: true };
    await this.#applied(reply.seq, deadlineMs, 'message');
    return {
      message: { id: reply.seq, user: username, text: check.text, time: new Date(reply.timeMs).toISOString() },
      duplicate: false,
    };
  }

  async delete(username: string, messageId: number): Promise<{ cursor: number }> {
    const deadlineMs = Date.now() + this.#budgetMs;
    if (!Number.isSafeInteger(messageId) || messageId < 1) {
      throw new ApiError('NOT_FOUND', `there is no message ${String(messageId)}; ids are positive whole numbers`);
    }
    const reply = await this.#link.run(
      DELETE,
      (redis) =>
        redis.parleyDelete({
          messageId,
          user: username,
          ...this.#guards(deadlineMs),
        }),
      deadlineMs - Date.now(),
    );
    this.#refuseUnwritten(reply, DELETE.what);
    if (reply.outcome === 'forbidden') {
      throw new ApiError('FORBIDDEN', `message ${messageId} is someone else's; you can only delete your own messages`);
    }
    if (reply.outcome !== 'deleted') throw new ApiError('NOT_FOUND', `there is no message ${messageId}, or it was already deleted`);
    this.#gaps.noteSeq(reply.seq);
    await this.#applied(reply.seq, deadlineMs, 'deletion');
    return { cursor: reply.seq };
  }

  /** The fence every write carries: this node's epoch, the deadline in Redis's clock, and the trim bounds. */
  #guards(deadlineMs: number): Guards {
    return {
      epoch: this.#membership.epoch,
      startBy: this.#membership.startBy(deadlineMs),
      capacity: this.#capacity,
      floor: this.#follower.ring.head,
    };
  }

  /** A script that wrote nothing because it came too late or Redis is in another epoch. */
  #refuseUnwritten(reply: ScriptReply, what: string): void {
    if (reply.outcome === 'expired') {
      throw new ApiError('UNAVAILABLE', `the chat store (Redis) did not answer in time, so the server could not ${what}; try again in a few seconds`, {
        retryAfter: RETRY_AFTER_SECONDS,
      });
    }
    if (reply.outcome === 'stale') {
      this.#follower.rejoin();
      throw new ApiError('UNAVAILABLE', `the chat store (Redis) restarted or lost its data, so the server could not ${what} until it has caught up; try again in a few seconds`, {
        retryAfter: RETRY_AFTER_SECONDS,
      });
    }
  }

  /** The message an earlier send with this clientId created, when Redis can say so now. */
  async #sentBefore(member: string, username: string, text: string, deadlineMs: number): Promise<ChatMessage | undefined> {
    if (member === '') return undefined;
    let score: number | null;
    try {
      score = await this.#link.run('look up your earlier message', (redis) => redis.zScore(CLIENT_IDS_KEY, member), deadlineMs - Date.now());
    } catch {
      return undefined; // the refusal the caller is about to give is the better answer
    }
    return score === null ? undefined : this.#originalMessage(score, username, text, deadlineMs);
  }

  async #originalMessage(seq: number, username: string, text: string, deadlineMs: number): Promise<ChatMessage> {
    await this.#applied(seq, deadlineMs, 'message');
    const change = this.#follower.ring.readMessage(seq, this.#follower.ring.published);
    return retriedMessage(change, seq, username, text);
  }

  /**
   * Read-your-writes: waits until this node's ring has published `seq`. A write is acknowledged
   * only then, so an acknowledged write is always visible on the node that took it. When the
   * copy does not come (the follower lost Redis right after the write), the write is stored but
   * the sender is told so with a 503, and a resend with its clientId gets the original.
   */
  async #applied(seq: number, deadlineMs: number, stored: Stored): Promise<void> {
    const waitMs = Math.max(deadlineMs - Date.now(), MIN_COPY_WAIT_MS);
    const outcome = await this.#follower.waitFor(seq, waitMs);
    if (outcome === 'applied') return;
    if (outcome === 'lost') {
      const sentence =
        stored === 'message'
          ? 'the chat store (Redis) lost that message right after storing it (it restarted without its data); please send it again'
          : 'the chat store (Redis) lost that deletion right after storing it (it restarted without its data); reload, and delete the message again if it is still there';
      throw new ApiError('UNAVAILABLE', sentence, { retryAfter: RETRY_AFTER_SECONDS });
    }
    this.#onEvent('warn', 'cluster-copy-late', { seq, waitedMs: waitMs });
    const sentence =
      stored === 'message'
        ? 'that was stored, but this server lost the chat store (Redis) before it could show it; it appears once the connection is back (a resend with the same clientId is never a duplicate)'
        : 'that message was deleted, but this server lost the chat store (Redis) before it could show it; it disappears once the connection is back';
    throw new ApiError('UNAVAILABLE', sentence, { retryAfter: RETRY_AFTER_SECONDS });
  }
}
