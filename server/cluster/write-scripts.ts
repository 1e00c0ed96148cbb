// The two writes of cluster mode, each one Lua script so Redis runs it atomically: the checks,
// the seq and the stream entry happen together or not at all, whichever node sent it, and a
// Redis that dies mid-script keeps none of it (scripts are applied to the AOF as one unit).
// node-redis sends them with EVALSHA and falls back to EVAL once after a Redis restart (NOSCRIPT).
//
// Both take `floor`, the highest seq the calling node has applied. A Redis that lost its data
// (restarted without AOF) would count from 1 again and hand out ids the nodes already showed for
// other messages; with the floor it continues above anything a node has seen, so a cursor never
// goes backwards. With AOF on (docs/deploy.md) the floor never changes anything.
//
// TIME stamps the message with Redis's clock, not the node's, so times follow the seq order
// even when the nodes' clocks disagree (scripts replicate their effects, so this is allowed).
import { defineScript, type CommandParser } from 'redis';
import { CHANGES_KEY, CLIENT_IDS_KEY, KIND_DELETE, KIND_MESSAGE, SEQ_KEY } from './stream-entry.js';

/** What a script answered: `seq` and `timeMs` are 0 unless the write happened or was a duplicate. */
export interface ScriptReply {
  seq: number;
  outcome: 'sent' | 'duplicate' | 'deleted' | 'not-found' | 'forbidden';
  timeMs: number;
}

const OUTCOMES = new Set<ScriptReply['outcome']>(['sent', 'duplicate', 'deleted', 'not-found', 'forbidden']);

// Shared by both scripts: the next seq (never at or below floor) and Redis's time in ms.
const NEXT_SEQ = `
local function next_seq(floor)
  local seq = redis.call('INCR', KEYS[2])
  if seq <= floor then
    seq = floor + 1
    redis.call('SET', KEYS[2], seq)
  end
  local now = redis.call('TIME')
  return seq, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end
`;

// KEYS: changes, seq, client-ids. ARGV: user, text, clientId ('' for none), client-ids member
// ('' for none), capacity, floor.
const SEND = `${NEXT_SEQ}
local member = ARGV[4]
if member ~= '' then
  local seen = redis.call('ZSCORE', KEYS[3], member)
  if seen then return {tonumber(seen), 'duplicate', 0} end
end
local capacity = tonumber(ARGV[5])
local seq, time = next_seq(tonumber(ARGV[6]))
redis.call('XADD', KEYS[1], 'MAXLEN', '~', capacity, string.format('%d-0', seq),
  'kind', '${KIND_MESSAGE}', 'user', ARGV[1], 'text', ARGV[2], 'time', string.format('%d', time), 'clientId', ARGV[3])
if member ~= '' then
  redis.call('ZADD', KEYS[3], seq, member)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', seq - capacity)
end
return {seq, 'sent', time}
`;

// KEYS: changes, seq. ARGV: message id, user, capacity, floor.
const DELETE = `${NEXT_SEQ}
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

export interface SendArguments {
  user: string;
  text: string;
  /** '' for none. */
  clientId: string;
  /** '' for none. */
  member: string;
  capacity: number;
  floor: number;
}

export interface DeleteArguments {
  messageId: number;
  user: string;
  capacity: number;
  floor: number;
}

export const SCRIPTS = {
  parleySend: defineScript({
    SCRIPT: SEND,
    NUMBER_OF_KEYS: 3,
    parseCommand(parser: CommandParser, args: SendArguments) {
      parser.pushKey(CHANGES_KEY);
      parser.pushKey(SEQ_KEY);
      parser.pushKey(CLIENT_IDS_KEY);
      parser.push(args.user, args.text, args.clientId, args.member, String(args.capacity), String(args.floor));
    },
    transformReply: parseScriptReply,
  }),
  parleyDelete: defineScript({
    SCRIPT: DELETE,
    NUMBER_OF_KEYS: 2,
    parseCommand(parser: CommandParser, args: DeleteArguments) {
      parser.pushKey(CHANGES_KEY);
      parser.pushKey(SEQ_KEY);
      parser.push(String(args.messageId), args.user, String(args.capacity), String(args.floor));
    },
    transformReply: parseScriptReply,
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
