// The writes of cluster mode, each one Lua script so Redis runs it atomically: the checks, the
// seq and the stream entry happen together or not at all, whichever node sent it, and a Redis
// that dies mid-script keeps none of it (scripts are applied to the AOF as one unit).
// node-redis sends them with EVALSHA and falls back to EVAL once after a Redis restart (NOSCRIPT).
//
// Every send and delete carries two guards, checked before anything is written:
// - `startBy`, a deadline in Redis's clock (TIME), a little before the node answers 503 for a
//   spent time budget. A script still queued in Redis then (a Redis that hung and resumed)
//   stores nothing, so a write its sender gave up on does not appear minutes later. (One that
//   started in time may still answer too late; its sender is told the outcome is unknown.)
// - `epoch`, the parley:epoch the node joined. A Redis that lost its data has none, or another
//   one, so a node cannot write into a history it has not caught up with (join first, below).
//
// Seqs never go backwards: each write takes the next seq above the higher of parley:seq and
// `floor` (the highest seq the calling node has applied), and JOIN, run by every node on every
// (re)connect before it takes writes, raises parley:seq to the stream's last ID and to what the
// node holds. Writes need not look at the stream (XINFO would copy its first and last entries,
// texts included, into every write): parley:seq is set in the same script as every XADD, so
// it cannot fall behind the stream except by a loss that JOIN repairs. A node that finds that Redis lost changes it holds appends a `lost` mark (stream-entry.ts),
// so every node learns which cursors no longer mean what they meant (history-gaps.ts).
//
// TIME stamps the message with Redis's clock, not the node's, so times follow the seq order
// even when the nodes' clocks disagree (scripts replicate their effects, so this is allowed).
import { defineScript, type CommandParser } from 'redis';
import { CAPACITY_KEY, CHANGES_KEY, CLIENT_IDS_KEY, EPOCH_KEY, KIND_DELETE, KIND_LOST, KIND_MESSAGE, SEQ_KEY } from './stream-entry.js';

/** What a write answered: `seq` and `timeMs` are 0 unless the write happened or was a duplicate. */
export interface ScriptReply {
  seq: number;
  /** expired: Redis ran it after `startBy`; stale: Redis is not in the node's epoch. Nothing was written. */
  outcome: 'sent' | 'duplicate' | 'deleted' | 'not-found' | 'forbidden' | 'expired' | 'stale';
  timeMs: number;
}

const OUTCOMES = new Set<ScriptReply['outcome']>(['sent', 'duplicate', 'deleted', 'not-found', 'forbidden', 'expired', 'stale']);

// Shared by every script: Redis's time in ms.
const HELPERS = `
local function now_ms()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end
`;

// JOIN's: the stream's last ID (0 without a stream). XINFO's last-generated-id, not the newest
// entry: XADD refuses any ID at or below it, even when that entry was deleted.
const LAST_SEQ = `
local function last_seq(changes)
  if redis.call('EXISTS', changes) == 0 then return 0 end
  local info = redis.call('XINFO', 'STREAM', changes)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return tonumber(string.match(info[i + 1], '^(%d+)')) end
  end
  return 0
end
`;

// Sends and deletes: the guards, then the next seq (never at or below parley:seq or floor).
// KEYS[1] changes, KEYS[2] seq, KEYS[3] epoch.
const GUARDED = `${HELPERS}
local function refusal(epoch, start_by)
  if now_ms() > tonumber(start_by) then return 'expired' end
  if redis.call('GET', KEYS[3]) ~= epoch then return 'stale' end
  return nil
end
local function next_seq(floor)
  local seq = redis.call('INCR', KEYS[2])
  if seq <= floor then
    seq = floor + 1
    redis.call('SET', KEYS[2], seq)
  end
  return seq, now_ms()
end
`;

// KEYS: changes, seq, epoch, client-ids. ARGV: user, text, clientId ('' for none), client-ids
// member ('' for none), capacity, floor, epoch, startBy.
const SEND = `${GUARDED}
local refused = refusal(ARGV[7], ARGV[8])
if refused then return {0, refused, 0} end
local member = ARGV[4]
if member ~= '' then
  local seen = redis.call('ZSCORE', KEYS[4], member)
  if seen then return {tonumber(seen), 'duplicate', 0} end
end
local capacity = tonumber(ARGV[5])
local seq, time = next_seq(tonumber(ARGV[6]))
redis.call('XADD', KEYS[1], 'MAXLEN', '~', capacity, string.format('%d-0', seq),
  'kind', '${KIND_MESSAGE}', 'user', ARGV[1], 'text', ARGV[2], 'time', string.format('%d', time), 'clientId', ARGV[3])
if member ~= '' then
  redis.call('ZADD', KEYS[4], seq, member)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', seq - capacity)
end
return {seq, 'sent', time}
`;

// KEYS: changes, seq, epoch. ARGV: message id, user, capacity, floor, epoch, startBy.
const DELETE = `${GUARDED}
local refused = refusal(ARGV[5], ARGV[6])
if refused then return {0, refused, 0} end
local id = ARGV[1] .. '-0'
local found = redis.call('XRANGE', KEYS[1], id, id)
if #found == 0 then return {0, 'not-found', 0} end
local fields = found[1][2]
local kind, user
for i = 1, #fields, 2 do
  if fields[i] == 'kind' then kind = fields[i + 1] elseif fields[i] == 'user' then user = fields[i + 1] end
end
if kind ~= '${KIND_MESSAGE}' then return {0, 'not-found', 0} end
if user ~= ARGV[2] then return {0, 'forbidden', 0} end
local seq, time = next_seq(tonumber(ARGV[4]))
redis.call('XDEL', KEYS[1], id)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', tonumber(ARGV[3]), string.format('%d-0', seq),
  'kind', '${KIND_DELETE}', 'user', ARGV[2], 'messageId', ARGV[1], 'time', string.format('%d', time))
return {seq, 'deleted', time}
`;

// A node (re)joining. Sets the epoch and the capacity when they are missing (a new cluster, or a
// Redis that lost its data), raises parley:seq to the stream's last ID and to `head`, and when
// the node holds seqs Redis no longer has (its epoch is gone, or Redis's seq is below its
// head), appends a lost mark for them: the mark takes the next seq, so every id handed out
// from here on is above everything the node has shown.
// KEYS: changes, seq, epoch, capacity. ARGV: the node's epoch ('' when it holds nothing yet),
// head (the highest seq the node holds or was handed), a new epoch to set if there is none,
// the node's capacity.
// Returns {epoch, seq, lost mark's seq or 0, the cluster's capacity, Redis's time in ms}.
const JOIN = `${HELPERS}${LAST_SEQ}
local time = now_ms()
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[3], epoch)
end
local capacity = redis.call('GET', KEYS[4])
if not capacity then
  capacity = ARGV[4]
  redis.call('SET', KEYS[4], capacity)
end
local stored = tonumber(redis.call('GET', KEYS[2]) or '0')
local seq = math.max(stored, last_seq(KEYS[1]))
local head = tonumber(ARGV[2])
local after = -1
if head > 0 and ARGV[1] ~= '' then
  if ARGV[1] ~= epoch then after = 0 elseif seq < head then after = seq end
end
local mark = 0
if after >= 0 then
  mark = math.max(seq, head) + 1
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', tonumber(capacity), string.format('%d-0', mark),
    'kind', '${KIND_LOST}', 'after', string.format('%d', after), 'upTo', string.format('%d', head), 'time', string.format('%d', time))
  seq = mark
end
seq = math.max(seq, head)
if seq ~= stored then redis.call('SET', KEYS[2], seq) end
return {epoch, seq, mark, capacity, time}
`;

/** What every write script checks or trims by, whatever it writes. */
export interface Guards {
  /** The parley:epoch the node joined. */
  epoch: string;
  /** Latest start in Redis's clock (ms): after it the script does nothing. */
  startBy: number;
  capacity: number;
  floor: number;
}

export interface SendArguments extends Guards {
  user: string;
  text: string;
  /** '' for none. */
  clientId: string;
  /** '' for none. */
  member: string;
}

export interface DeleteArguments extends Guards {
  messageId: number;
  user: string;
}

export interface JoinArguments {
  /** '' when the node holds nothing yet. */
  epoch: string;
  head: number;
  newEpoch: string;
  capacity: number;
}

export interface JoinReply {
  epoch: string;
  seq: number;
  /** The seq of the lost mark this join appended, or 0. */
  lostMark: number;
  capacity: number;
  redisTimeMs: number;
}

export const SCRIPTS = {
  parleySend: defineScript({
    SCRIPT: SEND,
    NUMBER_OF_KEYS: 4,
    parseCommand(parser: CommandParser, args: SendArguments) {
      parser.pushKeys([CHANGES_KEY, SEQ_KEY, EPOCH_KEY, CLIENT_IDS_KEY]);
      parser.push(args.user, args.text, args.clientId, args.member, String(args.capacity), String(args.floor), args.epoch, String(Math.floor(args.startBy)));
    },
    transformReply: parseScriptReply,
  }),
  parleyDelete: defineScript({
    SCRIPT: DELETE,
    NUMBER_OF_KEYS: 3,
    parseCommand(parser: CommandParser, args: DeleteArguments) {
      parser.pushKeys([CHANGES_KEY, SEQ_KEY, EPOCH_KEY]);
      parser.push(String(args.messageId), args.user, String(args.capacity), String(args.floor), args.epoch, String(Math.floor(args.startBy)));
    },
    transformReply: parseScriptReply,
  }),
  parleyJoin: defineScript({
    SCRIPT: JOIN,
    NUMBER_OF_KEYS: 4,
    parseCommand(parser: CommandParser, args: JoinArguments) {
      parser.pushKeys([CHANGES_KEY, SEQ_KEY, EPOCH_KEY, CAPACITY_KEY]);
      parser.push(args.epoch, String(args.head), args.newEpoch, String(args.capacity));
    },
    transformReply: parseJoinReply,
  }),
};

function parseScriptReply(reply: unknown): ScriptReply {
  if (Array.isArray(reply) && reply.length === 3) {
    const [seq, outcome, timeMs] = reply.map((part: unknown) => (typeof part === 'string' ? part : Number(part)));
    if (typeof outcome === 'string' && OUTCOMES.has(outcome as ScriptReply['outcome']) && Number.isSafeInteger(seq) && Number.isSafeInteger(timeMs)) {
      return { seq: seq as number, outcome: outcome as ScriptReply['outcome'], timeMs: timeMs as number };
    }
  }
  throw new TypeError(`a Parley write script answered ${JSON.stringify(reply)}; expected [seq, outcome, time]`);
}

function parseJoinReply(reply: unknown): JoinReply {
  if (Array.isArray(reply) && reply.length === 5) {
    const [epoch, seq, lostMark, capacity, redisTimeMs] = reply.map((part: unknown) => String(part));
    const numbers = [seq, lostMark, capacity, redisTimeMs].map(Number);
    if (epoch !== undefined && epoch !== '' && numbers.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      return { epoch, seq: numbers[0]!, lostMark: numbers[1]!, capacity: numbers[2]!, redisTimeMs: numbers[3]! };
    }
  }
  throw new TypeError(`the Parley join script answered ${JSON.stringify(reply)}; expected [epoch, seq, lostMark, capacity, time]`);
}
