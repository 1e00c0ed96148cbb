// The chat's shared memory: a fixed-capacity ring of changes (messages and deletions) in one
// SharedArrayBuffer that every worker attaches to. No I/O, no JSON: the journal makes it durable,
// the store decides what to write.
//
//   buffer  ┌ header ──────────────────────────────────────────────────────────────────────────┐
//           │ LOCK │ HEAD │ PUBLISHED │ OLDEST, USED, ARENA_USED │ ARENA_HEAD (f64, virtual)   │
//           ├ slots: capacity × SLOT_INTS Int32 ───────────────────────────────────────────────┤
//           │ [VERSION SEQ KIND DELETED_AT MESSAGE_ID ARENA_OFFSET USER/TEXT/CLIENT_ID_BYTES]   │
//           ├ slot floats: capacity × SLOT_FLOATS Float64 ─────────────────────────────────────┤
//           │ [TIME_MS ARENA_START (virtual)]                                                   │
//           ├ arena: arenaBytes of UTF-8, a byte ring ─────────────────────────────────────────┤
//           │ ...user|text|clientId...user|text...      (padding) │ wrapped to 0 ...           │
//           └───────────────────────────────────────────────────────────────────────────────────┘
//
//   seq:     OLDEST ............................................ PUBLISHED ........ HEAD
//   slot:    seq % capacity        (a seq lives in exactly one slot: O(1) lookup by id)
//
// - One counter, `seq`, is both the message id and the change cursor. HEAD is the last seq
//   written; the next change gets HEAD + 1 (restore() may leave gaps). Seqs are never reused.
// - A change's strings sit contiguously in the arena. The arena is addressed by a virtual
//   position that only grows (ARENA_HEAD, ARENA_START); the byte offset is position % arenaBytes.
//   A record that would run past the arena's end starts at the next multiple of arenaBytes
//   instead, leaving padding, so one copy reads it.
// - When full, the oldest changes go: writing seq S evicts every change with seq <= S - capacity
//   (its slot is needed) and every change whose ARENA_START is more than arenaBytes behind the
//   new record's end (its bytes are about to be overwritten). A reader whose cursor was evicted
//   gets `missed: true` and continues at OLDEST. A record larger than the whole arena is a
//   RangeError (the store caps text at 4,000 characters first, so this is a safety net).
// - A writer may ask (`keepUnpublished`) never to evict a change above PUBLISHED: the write stops
//   there instead (appendMessages returns fewer seqs, deleteMessage 'no-room'). The store always
//   asks, because such a change is not on disk yet; evicting it would lose a write whose sender is
//   about to be told it succeeded. Publishing makes room, so the store retries after it.
//
// Writers take LOCK, an Atomics mutex (Drepper's three-state futex: 0 free, 1 held, 2 held with
// sleepers). A writer holds it for microseconds (a batch of slot stores and one memcpy per
// message; UTF-8 encoding happens before the lock), so a mutex is simpler than a sequencer
// thread and costs nothing measurable. Every write happens under LOCK, so the writer side never
// races; HEAD, OLDEST, USED, ARENA_USED and the arena/float fields are writer-owned.
//
// Readers never lock. Each slot is a seqlock: a writer makes VERSION odd (Atomics.add) before it
// touches the slot and even again after; eviction stores the new OLDEST, clears SEQ, then adds 2
// to VERSION. A reader loads VERSION, checks SEQ, copies the fields and arena bytes into private
// memory, then loads VERSION again: if it changed or was odd, the slot was evicted under it
// (OLDEST has already moved past it), and the reader skips ahead to OLDEST with `missed: true`.
// Strings are decoded only from the private copy, so a torn read is never turned into a message.
// Version bumps are read-modify-writes (full barriers in V8 on x86 and ARM64), so arena bytes are
// never overwritten before the bump is visible.
//
// DELETED_AT lives in the deleted message's slot outside the seqlock: 0, or the seq of the
// delete change (Atomics.store, set before the delete change is written, under LOCK). Readers
// honour it only when deletedAt <= upTo, so a deletion is invisible until it is published, like
// every other change. PUBLISHED is advanced by publish() once the journal has the changes on
// disk; readers default to it, so nothing unacknowledged is ever served.

export interface NewMessage { user: string; text: string; timeMs: number; clientId: string | null }
export type Change =
  | { kind: 'message'; seq: number; user: string; text: string; timeMs: number; clientId: string | null; deletedAt: number }
  | { kind: 'delete'; seq: number; messageId: number; timeMs: number };
export type MessageChange = Change & { kind: 'message' };
export interface RingOptions { capacity?: number; arenaBytes?: number }
export type DeleteResult = { result: 'deleted'; seq: number } | { result: 'not-found' } | { result: 'forbidden' } | { result: 'no-room' };
export interface WriteOptions {
  /** Stop instead of evicting a change above PUBLISHED (see the top of this file). */
  keepUnpublished?: boolean;
}
export type WaitResult = 'ok' | 'timed-out' | 'not-equal';
export interface RingStats { used: number; capacity: number; arenaUsedBytes: number; arenaBytes: number; head: number; oldest: number; published: number }

export const DEFAULT_CAPACITY = 131_072;
export const DEFAULT_ARENA_BYTES = 64 * 1024 * 1024;
/** Seqs are Int32 so that Atomics.wait works on PUBLISHED; 2^31 - 1 changes is decades of chat. */
export const MAX_SEQ = 0x7fff_ffff;

// Header, Int32 indexes. Hot words sit 64 bytes apart so writers spinning on LOCK do not
// invalidate the cache line readers load PUBLISHED from.
const MAGIC = 0;
const CAPACITY = 1;
const ARENA_BYTES = 2;
const LOCK = 16;
const HEAD = 32;
const PUBLISHED = 48;
const OLDEST = 56;
const USED = 57;
const ARENA_USED = 58;
const HEADER_INTS = 64;
// Header, Float64 index (right after the Int32 words).
const ARENA_HEAD = 0;
const HEADER_FLOATS = 8;
const HEADER_BYTES = HEADER_INTS * 4 + HEADER_FLOATS * 8;
const LAYOUT_MAGIC = 0x50524c31; // "PRL1"

// Slot, Int32 fields.
const VERSION = 0;
const SEQ = 1;
const KIND = 2;
const DELETED_AT = 3;
const MESSAGE_ID = 4;
const ARENA_OFFSET = 5;
const USER_BYTES = 6;
const TEXT_BYTES = 7;
const CLIENT_ID_BYTES = 8; // -1 for a null clientId
const SLOT_INTS = 10; // even, so the Float64 table after the slots stays 8-byte aligned
// Slot, Float64 fields.
const TIME_MS = 0;
const ARENA_START = 1;
const SLOT_FLOATS = 2;

const KIND_MESSAGE = 1;
const KIND_DELETE = 2;

// #encodeMessages() returns three Int32 lengths per message, in this order.
const LENGTH_USER = 0;
const LENGTH_TEXT = 1;
const LENGTH_CLIENT_ID = 2; // -1 for a null clientId
const LENGTHS_PER_MESSAGE = 3;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units). */
const MAX_UTF8_BYTES_PER_UNIT = 3;

const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;
const SPINS = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Atomics.waitAsync is in Node 20 but not in the ES2023 lib we compile against.
type WaitAsync = (array: Int32Array, index: number, value: number, timeout?: number) =>
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

export class RingBuffer {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly arenaBytes: number;
  readonly #meta: Int32Array;
  readonly #metaFloats: Float64Array;
  readonly #slots: Int32Array;
  readonly #slotFloats: Float64Array;
  readonly #arena: Uint8Array;
  // Private (non-shared) scratch: writers encode here before taking the lock, readers copy a
  // slot's bytes here before checking its version. One of each per thread, never shared.
  #encoded = new Uint8Array(4096);
  #copied = new Uint8Array(4096);

  static create(options: RingOptions = {}): RingBuffer {
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    const arenaBytes = options.arenaBytes ?? DEFAULT_ARENA_BYTES;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 26) {
      throw new RangeError(`ring capacity is ${capacity}; it must be a whole number of slots from 1 to ${1 << 26}`);
    }
    if (!Number.isInteger(arenaBytes) || arenaBytes < 1 || arenaBytes > MAX_SEQ) {
      throw new RangeError(`ring arenaBytes is ${arenaBytes}; it must be a whole number from 1 to ${MAX_SEQ}`);
    }
    const buffer = new SharedArrayBuffer(HEADER_BYTES + capacity * (SLOT_INTS * 4 + SLOT_FLOATS * 8) + arenaBytes);
    const meta = new Int32Array(buffer, 0, HEADER_INTS);
    meta[CAPACITY] = capacity;
    meta[ARENA_BYTES] = arenaBytes;
    meta[OLDEST] = 1;
    Atomics.store(meta, MAGIC, LAYOUT_MAGIC);
    return new RingBuffer(buffer);
  }

  static attach(buffer: SharedArrayBuffer): RingBuffer {
    return new RingBuffer(buffer);
  }

  private constructor(buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_BYTES) {
      throw new TypeError('RingBuffer.attach() needs the SharedArrayBuffer of a ring made by RingBuffer.create()');
    }
    const meta = new Int32Array(buffer, 0, HEADER_INTS);
    const capacity = meta[CAPACITY]!;
    const arenaBytes = meta[ARENA_BYTES]!;
    const slotsAt = HEADER_BYTES;
    const floatsAt = slotsAt + capacity * SLOT_INTS * 4;
    const arenaAt = floatsAt + capacity * SLOT_FLOATS * 8;
    if (Atomics.load(meta, MAGIC) !== LAYOUT_MAGIC || buffer.byteLength !== arenaAt + arenaBytes) {
      throw new TypeError('RingBuffer.attach() got a SharedArrayBuffer that does not hold a ring of this version');
    }
    this.buffer = buffer;
    this.capacity = capacity;
    this.arenaBytes = arenaBytes;
    this.#meta = meta;
    this.#metaFloats = new Float64Array(buffer, HEADER_INTS * 4, HEADER_FLOATS);
    this.#slots = new Int32Array(buffer, slotsAt, capacity * SLOT_INTS);
    this.#slotFloats = new Float64Array(buffer, floatsAt, capacity * SLOT_FLOATS);
    this.#arena = new Uint8Array(buffer, arenaAt, arenaBytes);
  }

  get head(): number {
    return Atomics.load(this.#meta, HEAD);
  }

  get published(): number {
    return Atomics.load(this.#meta, PUBLISHED);
  }

  get oldest(): number {
    return Atomics.load(this.#meta, OLDEST);
  }

  /**
   * Writes the messages with consecutive seqs and returns those seqs: all of them, or with
   * `keepUnpublished` the ones before the first message that would evict an unpublished change.
   */
  appendMessages(messages: NewMessage[], options: WriteOptions = {}): number[] {
    const lengths = this.#encodeMessages(messages);
    const seqs: number[] = [];
    this.#lock();
    try {
      const head = this.#meta[HEAD]!;
      if (head + messages.length > MAX_SEQ) throw new RangeError(`the ring has used every seq up to ${MAX_SEQ}`);
      let at = 0;
      for (let i = 0; i < messages.length; i++) {
        const seq = head + 1 + i;
        const userBytes = lengths[LENGTHS_PER_MESSAGE * i + LENGTH_USER]!;
        const textBytes = lengths[LENGTHS_PER_MESSAGE * i + LENGTH_TEXT]!;
        const clientIdBytes = lengths[LENGTHS_PER_MESSAGE * i + LENGTH_CLIENT_ID]!;
        const size = userBytes + textBytes + Math.max(0, clientIdBytes);
        if (options.keepUnpublished && this.#wouldEvictUnpublished(seq, this.#place(size).end)) break;
        this.#write(seq, KIND_MESSAGE, messages[i]!.timeMs, 0, 0, at, userBytes, textBytes, clientIdBytes);
        at += size;
        seqs.push(seq);
      }
    } finally {
      this.#unlock();
    }
    return seqs;
  }

  deleteMessage(messageId: number, user: string, timeMs: number, options: WriteOptions = {}): DeleteResult {
    const userBytes = this.#encodeOne(user, 0);
    this.#lock();
    try {
      const head = this.#meta[HEAD]!;
      const base = this.#findMessageSlot(messageId, head);
      if (base < 0 || Atomics.load(this.#slots, base + DELETED_AT) !== 0) return { result: 'not-found' };
      if (!this.#sameBytes(base, userBytes)) return { result: 'forbidden' };
      if (head >= MAX_SEQ) throw new RangeError(`the ring has used every seq up to ${MAX_SEQ}`);
      const seq = head + 1;
      if (options.keepUnpublished && this.#wouldEvictUnpublished(seq, this.#place(0).end)) return { result: 'no-room' };
      // Marked before the delete change is written: that write may evict the message, or even
      // reuse its slot, and the mark must not land in whatever takes its place.
      Atomics.store(this.#slots, base + DELETED_AT, seq);
      this.#write(seq, KIND_DELETE, timeMs, messageId, 0, 0, 0, 0, -1);
      return { result: 'deleted', seq };
    } finally {
      this.#unlock();
    }
  }

  restore(change: Change): void {
    const seq = change.seq;
    const lengths = change.kind === 'message' ? this.#encodeMessages([change]) : undefined;
    this.#lock();
    try {
      const head = this.#meta[HEAD]!;
      if (!Number.isInteger(seq) || seq <= head || seq > MAX_SEQ) {
        throw new RangeError(`cannot restore change ${seq}: seqs must be whole numbers above the head (${head}) and at most ${MAX_SEQ}`);
      }
      if (change.kind === 'message') {
        this.#write(seq, KIND_MESSAGE, change.timeMs, 0, change.deletedAt, 0,
          lengths![LENGTH_USER]!, lengths![LENGTH_TEXT]!, lengths![LENGTH_CLIENT_ID]!);
      } else {
        const base = this.#findMessageSlot(change.messageId, head);
        if (base >= 0) Atomics.store(this.#slots, base + DELETED_AT, seq);
        this.#write(seq, KIND_DELETE, change.timeMs, change.messageId, 0, 0, 0, 0, -1);
      }
    } finally {
      this.#unlock();
    }
  }

  publish(seq: number): void {
    let current = Atomics.load(this.#meta, PUBLISHED);
    while (seq > current) {
      const seen = Atomics.compareExchange(this.#meta, PUBLISHED, current, seq);
      if (seen === current) {
        Atomics.notify(this.#meta, PUBLISHED);
        return;
      }
      current = seen;
    }
  }

  /** Blocks the calling thread until PUBLISHED is no longer `after`. */
  waitForPublished(after: number, timeoutMs: number): WaitResult {
    return Atomics.wait(this.#meta, PUBLISHED, after, timeoutMs);
  }

  /** Like waitForPublished() without blocking, for the primary thread's event loop. */
  waitForPublishedAsync(after: number, timeoutMs: number): Promise<WaitResult> {
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    const wait = waitAsync(this.#meta, PUBLISHED, after, timeoutMs);
    if (!wait.async) return Promise.resolve(wait.value);
    // A pending waitAsync does not keep Node's event loop alive; this timer does, until it settles.
    // (An interval, not a timeout of timeoutMs: V8's own timeout may land just after it.)
    const keepAlive = setInterval(() => {}, 1000);
    return wait.value.finally(() => clearInterval(keepAlive));
  }

  readChanges(after: number, limit: number, upTo?: number): { changes: Change[]; last: number; missed: boolean } {
    const end = Math.min(upTo ?? this.published, this.head);
    let oldest = this.oldest;
    let missed = after < oldest - 1;
    const changes: Change[] = [];
    let seq = Math.max(after + 1, oldest);
    while (seq <= end && changes.length < limit) {
      const change = this.#read(seq, end);
      if (change !== undefined) {
        changes.push(change);
        seq++;
        continue;
      }
      oldest = this.oldest;
      if (seq < oldest) {
        missed = true; // evicted while we read: skip to what is still there
        seq = oldest;
      } else {
        seq++; // a gap left by restore()
      }
    }
    const last = changes.length > 0 ? changes[changes.length - 1]!.seq : limit > 0 ? end : Math.min(after, end);
    return { changes, last, missed };
  }

  readHistory(before: number | undefined, limit: number, upTo?: number): MessageChange[] {
    const end = Math.min(upTo ?? this.published, this.head);
    const oldest = this.oldest;
    const found: MessageChange[] = [];
    for (let seq = before === undefined ? end : Math.min(before - 1, end); seq >= oldest && found.length < limit; seq--) {
      const change = this.#read(seq, end);
      if (change === undefined) {
        if (seq < this.oldest) break; // evicted under us; everything older is gone too
        continue;
      }
      if (change.kind === 'message' && change.deletedAt === 0) found.push(change);
    }
    return found.reverse();
  }

  readMessage(id: number, upTo?: number): MessageChange | undefined {
    const end = Math.min(upTo ?? this.published, this.head);
    if (!Number.isInteger(id) || id < 1 || id > end) return undefined;
    const change = this.#read(id, end);
    return change?.kind === 'message' ? change : undefined;
  }

  stats(): RingStats {
    return {
      used: Atomics.load(this.#meta, USED),
      capacity: this.capacity,
      arenaUsedBytes: Atomics.load(this.#meta, ARENA_USED),
      arenaBytes: this.arenaBytes,
      head: this.head,
      oldest: this.oldest,
      published: this.published,
    };
  }

  // Writer side, always under LOCK. Writes one change whose strings are already encoded at
  // #encoded[from..], evicting whatever must go first.
  #write(seq: number, kind: number, timeMs: number, messageId: number, deletedAt: number,
    from: number, userBytes: number, textBytes: number, clientIdBytes: number): void {
    const meta = this.#meta;
    const size = userBytes + textBytes + Math.max(0, clientIdBytes);
    const { start, end } = this.#place(size);

    const head = meta[HEAD]!;
    let oldest = meta[OLDEST]!;
    while (oldest <= head && (oldest <= seq - this.capacity || this.#slotFloats[this.#slotOf(oldest) * SLOT_FLOATS + ARENA_START]! < end - this.arenaBytes)) {
      oldest = this.#evictOldest(oldest, head);
    }
    if (oldest > head) {
      oldest = seq;
      Atomics.store(meta, OLDEST, seq);
    }

    const slot = this.#slotOf(seq);
    const base = slot * SLOT_INTS;
    const slots = this.#slots;
    Atomics.add(slots, base + VERSION, 1); // odd: being written
    slots[base + SEQ] = seq;
    slots[base + KIND] = kind;
    slots[base + MESSAGE_ID] = messageId;
    slots[base + ARENA_OFFSET] = start % this.arenaBytes;
    slots[base + USER_BYTES] = userBytes;
    slots[base + TEXT_BYTES] = textBytes;
    slots[base + CLIENT_ID_BYTES] = clientIdBytes;
    this.#slotFloats[slot * SLOT_FLOATS + TIME_MS] = timeMs;
    this.#slotFloats[slot * SLOT_FLOATS + ARENA_START] = start;
    if (size > 0) this.#arena.set(this.#encoded.subarray(from, from + size), start % this.arenaBytes);
    Atomics.store(slots, base + DELETED_AT, deletedAt);
    Atomics.add(slots, base + VERSION, 1); // even: readable

    this.#metaFloats[ARENA_HEAD] = end;
    Atomics.add(meta, USED, 1);
    Atomics.store(meta, ARENA_USED, end - this.#slotFloats[this.#slotOf(oldest) * SLOT_FLOATS + ARENA_START]!);
    Atomics.store(meta, HEAD, seq);
  }

  // Where the next record of `size` bytes goes in the arena (virtual positions): at ARENA_HEAD,
  // or at the next multiple of arenaBytes when it would run past the arena's end.
  #place(size: number): { start: number; end: number } {
    let start = this.#metaFloats[ARENA_HEAD]!;
    if (size > 0 && (start % this.arenaBytes) + size > this.arenaBytes) start += this.arenaBytes - (start % this.arenaBytes);
    return { start, end: start + size };
  }

  // Under LOCK: whether writing `seq`, ending at arena position `end`, would evict a change above
  // PUBLISHED. Changes are evicted oldest first, so only the oldest unpublished one needs checking.
  #wouldEvictUnpublished(seq: number, end: number): boolean {
    const head = this.#meta[HEAD]!;
    let first = Math.max(this.#meta[OLDEST]!, Atomics.load(this.#meta, PUBLISHED) + 1);
    while (first <= head && this.#slots[this.#slotOf(first) * SLOT_INTS + SEQ] !== first) first++;
    if (first > head) return false;
    return first <= seq - this.capacity || this.#slotFloats[this.#slotOf(first) * SLOT_FLOATS + ARENA_START]! < end - this.arenaBytes;
  }

  // Evicts the change at `oldest` (present by the invariant: OLDEST is a written seq, or
  // HEAD + 1 when the ring is empty) and returns the next present seq, or head + 1.
  #evictOldest(oldest: number, head: number): number {
    let next = oldest + 1;
    while (next <= head && this.#slots[this.#slotOf(next) * SLOT_INTS + SEQ] !== next) next++;
    // OLDEST moves first, so a reader that sees the slot change also sees it evicted.
    Atomics.store(this.#meta, OLDEST, next);
    const base = this.#slotOf(oldest) * SLOT_INTS;
    // SEQ is cleared before VERSION moves: a reader that loads the new VERSION must not still
    // find the old SEQ, or it would copy bytes the next write overwrites without a version change.
    Atomics.store(this.#slots, base + SEQ, 0);
    Atomics.add(this.#slots, base + VERSION, 2);
    Atomics.sub(this.#meta, USED, 1);
    return next;
  }

  // The Int32 base of the slot holding message `id`, or -1. Under LOCK only.
  #findMessageSlot(id: number, head: number): number {
    if (!Number.isInteger(id) || id < this.#meta[OLDEST]! || id > head) return -1;
    const base = this.#slotOf(id) * SLOT_INTS;
    return this.#slots[base + SEQ] === id && this.#slots[base + KIND] === KIND_MESSAGE ? base : -1;
  }

  #sameBytes(base: number, userBytes: number): boolean {
    if (this.#slots[base + USER_BYTES] !== userBytes) return false;
    const offset = this.#slots[base + ARENA_OFFSET]!;
    for (let i = 0; i < userBytes; i++) if (this.#arena[offset + i] !== this.#encoded[i]) return false;
    return true;
  }

  // Encodes every message into #encoded, back to back, before the lock is taken; returns
  // LENGTHS_PER_MESSAGE lengths per message (LENGTH_USER, LENGTH_TEXT, LENGTH_CLIENT_ID).
  #encodeMessages(messages: readonly NewMessage[]): Int32Array {
    let worst = 0;
    for (const message of messages) worst += MAX_UTF8_BYTES_PER_UNIT * (message.user.length + message.text.length + (message.clientId?.length ?? 0));
    if (this.#encoded.length < worst) this.#encoded = new Uint8Array(Math.max(worst, this.#encoded.length * 2));
    const lengths = new Int32Array(LENGTHS_PER_MESSAGE * messages.length);
    let at = 0;
    messages.forEach((message, i) => {
      const userBytes = this.#encodeOne(message.user, at);
      const textBytes = this.#encodeOne(message.text, at + userBytes);
      const clientIdBytes = message.clientId === null ? -1 : this.#encodeOne(message.clientId, at + userBytes + textBytes);
      const size = userBytes + textBytes + Math.max(0, clientIdBytes);
      if (size > this.arenaBytes) {
        throw new RangeError(`a message of ${size} bytes (user, text and clientId in UTF-8) does not fit the ring's ${this.arenaBytes}-byte arena`);
      }
      lengths[LENGTHS_PER_MESSAGE * i + LENGTH_USER] = userBytes;
      lengths[LENGTHS_PER_MESSAGE * i + LENGTH_TEXT] = textBytes;
      lengths[LENGTHS_PER_MESSAGE * i + LENGTH_CLIENT_ID] = clientIdBytes;
      at += size;
    });
    return lengths;
  }

  #encodeOne(text: string, at: number): number {
    if (this.#encoded.length < at + MAX_UTF8_BYTES_PER_UNIT * text.length) {
      const grown = new Uint8Array(Math.max(at + MAX_UTF8_BYTES_PER_UNIT * text.length, this.#encoded.length * 2));
      grown.set(this.#encoded.subarray(0, at));
      this.#encoded = grown;
    }
    return encoder.encodeInto(text, this.#encoded.subarray(at)).written;
  }

  // Reader side, lock-free: the change at `seq`, or undefined when the slot does not hold it
  // (a gap, evicted, or evicted while we copied it).
  #read(seq: number, upTo: number): Change | undefined {
    const slot = this.#slotOf(seq);
    const base = slot * SLOT_INTS;
    const slots = this.#slots;
    const version = Atomics.load(slots, base + VERSION);
    if ((version & 1) !== 0 || Atomics.load(slots, base + SEQ) !== seq) return undefined;
    const kind = slots[base + KIND];
    const timeMs = this.#slotFloats[slot * SLOT_FLOATS + TIME_MS]!;
    if (kind === KIND_DELETE) {
      const messageId = slots[base + MESSAGE_ID]!;
      if (Atomics.load(slots, base + VERSION) !== version) return undefined;
      return { kind: 'delete', seq, messageId, timeMs };
    }
    const offset = slots[base + ARENA_OFFSET]!;
    const userBytes = slots[base + USER_BYTES]!;
    const textBytes = slots[base + TEXT_BYTES]!;
    const clientIdBytes = slots[base + CLIENT_ID_BYTES]!;
    const size = userBytes + textBytes + Math.max(0, clientIdBytes);
    // Lengths read mid-eviction can be anything; never let them index outside the arena.
    if (userBytes < 0 || textBytes < 0 || offset < 0 || offset + size > this.arenaBytes) return undefined;
    if (this.#copied.length < size) this.#copied = new Uint8Array(Math.max(size, this.#copied.length * 2));
    const copied = this.#copied;
    copied.set(this.#arena.subarray(offset, offset + size));
    let deletedAt = Atomics.load(slots, base + DELETED_AT);
    if (Atomics.load(slots, base + VERSION) !== version) return undefined;
    if (deletedAt > upTo) deletedAt = 0;
    const user = decoder.decode(copied.subarray(0, userBytes));
    const text = decoder.decode(copied.subarray(userBytes, userBytes + textBytes));
    const clientId = clientIdBytes < 0 ? null : decoder.decode(copied.subarray(userBytes + textBytes, size));
    return { kind: 'message', seq, user, text, timeMs, clientId, deletedAt };
  }

  #slotOf(seq: number): number {
    return seq % this.capacity;
  }

  // Spin briefly (the holder is almost always done within a few hundred nanoseconds), then
  // sleep on the word. Atomics.wait is allowed on Node's main thread; it blocks only for the
  // length of another thread's write.
  #lock(): void {
    const meta = this.#meta;
    if (Atomics.compareExchange(meta, LOCK, UNLOCKED, LOCKED) === UNLOCKED) return;
    for (let spin = 0; spin < SPINS; spin++) {
      if (Atomics.load(meta, LOCK) === UNLOCKED && Atomics.compareExchange(meta, LOCK, UNLOCKED, LOCKED) === UNLOCKED) return;
    }
    while (Atomics.exchange(meta, LOCK, CONTENDED) !== UNLOCKED) Atomics.wait(meta, LOCK, CONTENDED);
  }

  #unlock(): void {
    if (Atomics.exchange(this.#meta, LOCK, UNLOCKED) === CONTENDED) Atomics.notify(this.#meta, LOCK, 1);
  }
}
