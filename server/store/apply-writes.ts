// The write half of the store, run by a worker thread (server/workers/store-task.ts) or inline
// with --workers 0: validate a batch of sends and deletes and apply them to the shared ring in
// order. Nothing here touches the disk or the network; the primary thread journals and
// publishes what was written (server/store/commit-loop.ts).
import { checkText } from '../../protocol/message-text.js';
import type { TaskOutcome } from '../errors.js';
import type { NewMessage, RingBuffer } from '../ring-buffer.js';

export type WriteOp =
  | { kind: 'send'; user: string; text: unknown; clientId: string | null; timeMs: number }
  | { kind: 'delete'; user: string; messageId: number; timeMs: number };

/**
 * The ring had no room for this write without evicting a change that is not on disk yet. Nothing
 * was written; the store tries again once the journal has caught up (server/store/write-queue.ts).
 */
export interface NoRoom {
  ok: false;
  noRoom: true;
}

/** `text` comes back only when normalisation changed it, to keep the reply small. */
export interface Written {
  seq: number;
  text?: string;
}

export type WriteOutcome = TaskOutcome<Written> | NoRoom;

const NO_ROOM: NoRoom = { ok: false, noRoom: true };
/** Unpublished changes are never evicted: a write that would need to is put off instead. */
const KEEP_UNPUBLISHED = { keepUnpublished: true } as const;

export function applyWrites(ring: RingBuffer, ops: readonly WriteOp[]): WriteOutcome[] {
  const outcomes: WriteOutcome[] = new Array(ops.length);
  // Once one write finds no room, every later one waits too, so a batch keeps its order.
  let noRoom = false;
  // Consecutive valid sends go into the ring under one lock hold.
  let run: NewMessage[] = [];
  let runIndexes: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const seqs = noRoom ? [] : ring.appendMessages(run, KEEP_UNPUBLISHED);
    runIndexes.forEach((index, i) => {
      const outcome = outcomes[index]!;
      const seq = seqs[i];
      if (seq === undefined) outcomes[index] = NO_ROOM;
      else if (outcome.ok) outcome.value.seq = seq;
    });
    if (seqs.length < run.length) noRoom = true;
    run = [];
    runIndexes = [];
  };

  ops.forEach((op, index) => {
    if (op.kind === 'send') {
      const check = checkText(op.text);
      if (!check.ok) {
        outcomes[index] = { ok: false, code: check.code, message: check.message };
        return;
      }
      run.push({ user: op.user, text: check.text, timeMs: op.timeMs, clientId: op.clientId });
      runIndexes.push(index);
      outcomes[index] = { ok: true, value: check.text === op.text ? { seq: 0 } : { seq: 0, text: check.text } };
      return;
    }
    flush();
    if (noRoom) {
      outcomes[index] = NO_ROOM;
      return;
    }
    const deletion = ring.deleteMessage(op.messageId, op.user, op.timeMs, KEEP_UNPUBLISHED);
    if (deletion.result === 'deleted') outcomes[index] = { ok: true, value: { seq: deletion.seq } };
    else if (deletion.result === 'no-room') {
      noRoom = true;
      outcomes[index] = NO_ROOM;
    } else if (deletion.result === 'forbidden') {
      outcomes[index] = { ok: false, code: 'FORBIDDEN', message: `message ${op.messageId} is someone else's; you can only delete your own messages` };
    } else {
      outcomes[index] = { ok: false, code: 'NOT_FOUND', message: `there is no message ${op.messageId}, or it was already deleted` };
    }
  });
  flush();
  return outcomes;
}

export function isNoRoom(outcome: WriteOutcome): outcome is NoRoom {
  return !outcome.ok && 'noRoom' in outcome;
}
