// This node's standing in the cluster's Redis: which epoch (incarnation of the data) it has
// joined, whether it runs with the cluster's capacity, and how far Redis's clock is from its own.
//
// A join (JOIN in write-scripts.ts) runs on the follower's connection when the node starts and
// after every reconnect, before the follower reads on; writes name the joined epoch, so none can
// land in a Redis the node has not joined yet (the script answers `stale`). A join that finds
// the epoch gone or changed, or Redis's seq below what the node holds, means Redis lost data:
// the script raises the seq above it and appends a lost mark; the follower rebuilds the ring
// from what Redis still holds when it reads that mark (stream-follower.ts).
import { randomBytes } from 'node:crypto';
import type { EventListener } from '../chat/chat.js';
import type { CommandClient } from './redis-link.js';

export class CapacityError extends Error {}

export interface MembershipOptions {
  capacity: number;
  onEvent: EventListener;
}

/**
 * Reply grace: a script must start this long before the node gives up, so its answer usually
 * still arrives in time (not always: a Redis busy right after the script ran answers late).
 */
const REPLY_GRACE_MS = 250;

export class Membership {
  readonly #capacity: number;
  readonly #onEvent: EventListener;
  /** '' until the first join. */
  #epoch = '';
  /** Redis's clock minus this node's, measured at the last join. */
  #redisAheadMs = 0;

  constructor(options: MembershipOptions) {
    this.#capacity = options.capacity;
    this.#onEvent = options.onEvent;
  }

  get epoch(): string {
    return this.#epoch;
  }

  /**
   * Joins on `client`. `head`: the highest seq this node holds or was handed (0 for none).
   * Returns the seq Redis is at. Throws CapacityError on the first join when the cluster runs
   * with another --capacity; later joins report it loudly and go on (the node is serving).
   */
  async join(client: CommandClient, head: number): Promise<number> {
    const sentMs = Date.now();
    const reply = await client.parleyJoin({
      epoch: head === 0 ? '' : this.#epoch,
      head,
      newEpoch: `${randomBytes(8).toString('hex')}-${sentMs}`,
      capacity: this.#capacity,
    });
    const answeredMs = Date.now();
    this.#redisAheadMs = reply.redisTimeMs - (sentMs + answeredMs) / 2;
    if (reply.capacity !== this.#capacity) {
      const sentence = `this node runs with --capacity ${this.#capacity}, but the cluster keeps ${reply.capacity} changes; start every node with --capacity ${reply.capacity} (to change it for the whole cluster, stop every node and delete parley:capacity in Redis)`;
      if (this.#epoch === '') throw new CapacityError(sentence);
      this.#onEvent('error', 'cluster-capacity-differs', { capacity: this.#capacity, clusterCapacity: reply.capacity, advice: sentence });
    }
    if (reply.lostMark > 0) {
      this.#onEvent('error', 'redis-history-lost', {
        appliedSeq: head,
        lostMark: reply.lostMark,
        epochChanged: reply.epoch !== this.#epoch,
        advice: 'Redis lost changes this node had applied (no AOF, appendfsync everysec and a crash, or a flush); ids go on above them, and clients that saw them are told to reload. See docs/deploy.md',
      });
    }
    this.#epoch = reply.epoch;
    return reply.seq;
  }

  /**
   * The latest time, in Redis's clock, at which a write may still start when this node answers
   * its client at `deadlineMs` (this node's clock).
   */
  startBy(deadlineMs: number): number {
    const leftMs = Math.max(0, deadlineMs - Date.now());
    return deadlineMs - Math.min(REPLY_GRACE_MS, leftMs / 4) + this.#redisAheadMs;
  }
}
