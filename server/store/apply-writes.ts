// The write half of the store, run by a worker thread (server/workers/store-task.ts) or inline
// with --workers 0: validate a batch of sends and deletes and apply them to the shared ring in
// order. Nothing here touches the disk or the network; the primary thread journals and
// publishes what was written (server/store/local-chat.ts).
import { checkText } from '../../protocol/message-text.js';
import type { TaskOutcome } from '../errors.js';
import type { NewMessage, RingBuffer } from '../ring-buffer.js';

export type WriteOp =
  | { kind: 'send'; user: string; text: unknown; clientId: string | null; timeMs: number }
  | { kind: 'delete'; user: string; messageId: number; timeMs: number };

/** `text` comes back only when normalisation changed it, to keep the reply small. */
export type WriteOutcome = TaskOutcome<{ seq: number; text?: string }>;

export function applyWrites(ring: RingBuffer, ops: readonly WriteOp[]): WriteOutcome[] {
  const outcomes: WriteOutcome[] = new Array(ops.length);
  // Consecutive valid sends go into the ring under one lock hold.
  let run: NewMessage[] = [];
  let runIndexes: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const seqs = ring.appendMessages(run);
    runIndexes.forEach((index, i) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) outcome.value.seq = seqs[i]!;
    });
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
    const deletion = ring.deleteMessage(op.messageId, op.user, op.timeMs);
    if (deletion.result === 'deleted') outcomes[index] = { ok: true, value: { seq: deletion.seq } };
    else if (deletion.result === 'forbidden') {
      outcomes[index] = { ok: false, code: 'FORBIDDEN', message: `message ${op.messageId} is someone else's; you can only delete your own messages` };
    } else {
      outcomes[index] = { ok: false, code: 'NOT_FOUND', message: `there is no message ${op.messageId}, or it was already deleted` };
    }
  });
  flush();
  return outcomes;
}
