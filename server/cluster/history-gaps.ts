// What a cluster node knows beyond its ring about the cursors clients bring it. Pure: no client,
// no I/O; the follower and the chat feed it what they learn from Redis.
//
//            trimmedBelow        lost (after, upTo]          published   knownHead
//   cursor: ──────┤ gone ├─────────┤ gone ├───── held ─────────────┤ lagging ┤ ahead: gone
//
// - held: the ring can answer (it may still say `missed` for a cursor it evicted).
// - lagging: past this node's newest change but not past what Redis is known to have handed
//   out: another node gave the client a change this node has not copied yet. The node echoes
//   the cursor and the client gets what follows once the copy arrives (no gap, no duplicate).
// - gone: the node cannot continue from it, so the client must start over (reset / missed):
//   - in a lost range: Redis lost changes a node had shown (restart without AOF, a flush, the
//     last second with `appendfsync everysec`), announced by a `lost` mark in the stream. A
//     client that saw them may show messages nobody else has, or an id that now means another
//     message. Cursor 0 (nothing shown yet) is never in one.
//   - below trimmedBelow: this node fell so far behind that Redis may have trimmed changes it
//     had not read yet (stream-follower.ts tells deletions apart where the trim bound allows).
//   - ahead: past everything Redis handed out, while the node is following the stream live (so
//     it would know). Only a cursor from before a data loss can be there. A node that is
//     reconnecting or replaying cannot tell lagging from ahead and assumes lagging. (A change
//     still in the node's socket while a client already asks with its cursor would also look
//     ahead; the client then reloads, which loses nothing.)
import type { LostMark } from './stream-entry.js';

export type CursorStanding = 'held' | 'lagging' | 'gone';

/** Lost ranges remembered; older ones are far below anything a ring still holds. */
const MAX_LOST_RANGES = 64;

export class HistoryGaps {
  #lost: Array<{ after: number; upTo: number }> = [];
  #trimmedBelow = 0;
  #knownHead = 0;
  #lastMark = 0;

  /** The highest seq Redis is known to have handed out (a change, a mark, a write's reply). */
  get knownHead(): number {
    return this.#knownHead;
  }

  /** The seq of the newest lost mark applied, or 0: a cursor a client may hold though no change has it. */
  get lastMark(): number {
    return this.#lastMark;
  }

  noteSeq(seq: number): void {
    if (seq > this.#knownHead) this.#knownHead = seq;
  }

  noteLost(mark: LostMark): void {
    this.noteSeq(mark.seq);
    if (mark.seq > this.#lastMark) this.#lastMark = mark.seq;
    if (mark.upTo <= mark.after) return;
    this.#lost.push({ after: mark.after, upTo: mark.upTo });
    if (this.#lost.length > MAX_LOST_RANGES) this.#lost.shift();
  }

  /** The stream no longer holds anything before `firstKept`, and this node had not read it all. */
  noteTrimmed(firstKept: number): void {
    if (firstKept - 1 > this.#trimmedBelow) this.#trimmedBelow = firstKept - 1;
  }

  /** True when a cursor falls in a lost range or below the trimmed point. */
  isLost(cursor: number): boolean {
    if (cursor < this.#trimmedBelow) return true;
    return this.#lost.some((range) => cursor > range.after && cursor <= range.upTo);
  }

  /**
   * Where `cursor` stands for a node whose ring has published up to `published`; `isFollowing`:
   * the node reads the stream live and has read everything it held when last asked.
   */
  standing(cursor: number, published: number, isFollowing: boolean): CursorStanding {
    if (this.isLost(cursor)) return 'gone';
    if (cursor <= published) return 'held';
    // A lost mark's seq is one too: a reset answer hands it out when it is the newest.
    if (cursor <= this.#knownHead || !isFollowing) return 'lagging';
    return 'gone';
  }
}
