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
//                       A deletion also XDELs the message's entry, so a deleted text is not kept
//                       and "already deleted" is "not in the stream".
//   parley:seq          String counter, the last seq handed out (INCR).
//   parley:client-ids   Sorted set: member ["user","clientId"] (JSON), score the seq it created.
//                       Trimmed to the last `capacity` seqs, the window the stream keeps too.
//   parley:session:<h>  String username, h = SHA-256 of the token (base64url); expires 30 days
//                       after its last use (shared-sessions.ts).
//   parley:logouts      Pub/sub channel: h of each ended session, so nodes drop their copy.
import type { Change } from '../ring-buffer.js';

export const CHANGES_KEY = 'parley:changes';
export const SEQ_KEY = 'parley:seq';
export const CLIENT_IDS_KEY = 'parley:client-ids';
export const SESSION_KEY_PREFIX = 'parley:session:';
export const LOGOUT_CHANNEL = 'parley:logouts';

export const KIND_MESSAGE = 'message';
export const KIND_DELETE = 'delete';

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

/** An entry as Redis returned it, or undefined when it is not a change Parley wrote. */
export function parseEntry(id: string, fields: Readonly<Record<string, unknown>>): Change | undefined {
  const seq = seqOf(id);
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
