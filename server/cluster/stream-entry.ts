// What cluster mode keeps in Redis, and how one stream entry becomes a ring change. Pure: no
// client, no I/O, so the Lua scripts (write-scripts.ts), the follower (stream-follower.ts) and
// the tests agree on one layout.
//
//   parley:changes      Stream, the one history and order. Entry ID `<seq>-0`: the sequence part
//                       is the seq, so an entry ID, a cursor and a message id are the same integer
//                       on every node. Fields, always in this order (Redis packs entries with the
//                       fields of the stream's first entry cheaply):
//                         message: kind=message user text time clientId ('' for none)
//                         delete:  kind=delete  user messageId time
//                         lost:    kind=lost    after upTo time
//                       A deletion also XDELs the message's entry, so a deleted text is not kept
//                       and "already deleted" is "not in the stream". A `lost` entry says Redis
//                       lost changes a node had applied (seqs after < seq <= upTo, see
//                       history-gaps.ts); it is no change of the chat and never enters a ring.
//   parley:seq          String counter, the last seq handed out (INCR).
//   parley:epoch        String, `<random hex>-<ms>`, set once by the first node that finds it
//                       missing. It is gone or different exactly when Redis lost its data (or
//                       was flushed), which is how a node learns that what it holds may be gone.
//   parley:capacity     String, the --capacity of the node that set the epoch; every node must
//                       run with it (the stream's trim length and the clientId window).
//   parley:client-ids   Sorted set: member ["user","clientId"] (JSON), score the seq it created.
//                       Trimmed to the last `capacity` seqs, the window the stream keeps too.
//   parley:session:<h>  String username, h = SHA-256 of the token (base64url); expires 30 days
//                       after its last use (shared-sessions.ts).
//   parley:logouts      Pub/sub channel: h of each ended session, so nodes drop their copy.
import type { Change } from '../ring-buffer.js';

export const CHANGES_KEY = 'parley:changes';
export const SEQ_KEY = 'parley:seq';
export const CLIENT_IDS_KEY = 'parley:client-ids';
export const EPOCH_KEY = 'parley:epoch';
export const CAPACITY_KEY = 'parley:capacity';
export const SESSION_KEY_PREFIX = 'parley:session:';
export const LOGOUT_CHANNEL = 'parley:logouts';

export const KIND_MESSAGE = 'message';
export const KIND_DELETE = 'delete';
export const KIND_LOST = 'lost';

/** A `lost` entry: seqs in (after, upTo] may mean something else on a node than in Redis. */
export interface LostMark {
  kind: 'lost';
  seq: number;
  after: number;
  upTo: number;
}

export function entryId(seq: number): string {
  return `${seq}-0`;
}

/** The seq of an entry ID, or NaN when it was not written by Parley. */
export function seqOf(id: string): number {
  const dash = id.indexOf('-');
  if (dash <= 0 || id.slice(dash + 1) !== '0') return Number.NaN;
  const seq = Number(id.slice(0, dash));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : Number.NaN;
}

export function clientIdMember(user: string, clientId: string): string {
  return JSON.stringify([user, clientId]);
}

/** An entry as Redis returned it, or undefined when it is not one Parley wrote. */
export function parseEntry(id: string, fields: Readonly<Record<string, unknown>>): Change | LostMark | undefined {
  const seq = seqOf(id);
  if (fields.kind === KIND_LOST) {
    const after = Number(fields.after);
    const upTo = Number(fields.upTo);
    if (Number.isNaN(seq) || !Number.isSafeInteger(after) || !Number.isSafeInteger(upTo) || after < 0 || upTo < after || upTo >= seq) return undefined;
    return { kind: 'lost', seq, after, upTo };
  }
  const timeMs = Number(fields.time);
  if (Number.isNaN(seq) || !Number.isSafeInteger(timeMs)) return undefined;
  const { kind, user } = fields;
  if (typeof user !== 'string') return undefined;
  if (kind === KIND_MESSAGE) {
    const { text, clientId } = fields;
    if (typeof text !== 'string' || typeof clientId !== 'string') return undefined;
    return { kind: 'message', seq, user, text, timeMs, clientId: clientId === '' ? null : clientId, deletedAt: 0 };
  }
  if (kind === KIND_DELETE) {
    const messageId = Number(fields.messageId);
    if (!Number.isSafeInteger(messageId) || messageId < 1 || messageId >= seq) return undefined;
    return { kind: 'delete', seq, messageId, timeMs };
  }
  return undefined;
}
