// Sessions shared by TCP and HTTP (tokens: server/chat/session-token.ts). Only a token's
// SHA-256 is kept, in memory and in an append-only file, so a leaked data folder does not leak
// live tokens. Sessions survive restarts: the file is replayed on start, and rewritten to the live
// sessions (at start or after any append) once most of its lines are about sessions that ended,
// so a flood of logins and logouts cannot grow it without bound.
//
// Recovery: a crash can tear only the last line (appends are serialised and each is fsynced
// before the login is answered). On start that fragment is cut off the file, not just skipped,
// because the next append would otherwise be glued to it and lost with it at the next start.
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hashToken, newToken } from '../chat/session-token.js';
import { ApiError, shuttingDown } from '../errors.js';
import { syncFolder } from '../sync-folder.js';

export interface StoredSession {
  username: string;
  createdMs: number;
}

type Entry = { op: 'add'; hash: string; username: string; createdMs: number } | { op: 'remove'; hash: string };

/** Most sessions kept at once; the oldest go first, so a login flood cannot exhaust memory. */
const MAX_SESSIONS = 200_000;
/** Tokens whose hash is remembered; the cache starts over when it fills. */
const MAX_CACHED_HASHES = 10_000;
/** Lines about ended sessions the file may hold beyond twice the live ones before a rewrite. */
const COMPACT_SLACK_LINES = 1000;
const NEWLINE = 0x0a;

export class SessionStore {
  readonly #sessions = new Map<string, StoredSession>();
  /**
   * token -> its hash, for live sessions' tokens in use. Every request checks its session, and
   * hashing costs more than the rest of the lookup; the tokens stay in memory only, as they
   * already do in every request being answered.
   */
  readonly #hashes = new Map<string, string>();
  readonly #path: string | null;
  #file: FileHandle | null = null;
  #closed = false;
  #entriesInFile = 0;
  /** Length of the file's whole lines, to cut a failed append back off. */
  #bytesInFile = 0;
  /** After a failed rewrite, the next waits until the file has doubled. */
  #compactRetryAbove = 0;
  #writes: Promise<void> = Promise.resolve();

  private constructor(path: string | null) {
    this.#path = path;
  }

  /** Opens the sessions file in `dir`, or keeps sessions in memory only when `dir` is null. */
  static async open(dir: string | null): Promise<SessionStore> {
    const store = new SessionStore(dir === null ? null : join(dir, 'sessions.jsonl'));
    await store.#load();
    return store;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(token: string): StoredSession | undefined {
    if (typeof token !== 'string' || token.length === 0 || token.length > 100) return undefined;
    const cached = this.#hashes.get(token);
    if (cached !== undefined) return this.#sessions.get(cached);
    const hash = hashToken(token);
    const session = this.#sessions.get(hash);
    if (session !== undefined) {
      if (this.#hashes.size >= MAX_CACHED_HASHES) this.#hashes.clear();
      this.#hashes.set(token, hash);
    }
    return session;
  }

  getByHash(hash: string): StoredSession | undefined {
    return this.#sessions.get(hash);
  }

  /**
   * Creates a session; resolves once it is on disk, so a restart right after keeps it. Past
   * MAX_SESSIONS the oldest session ends to make room: `evicted` is its hash.
   */
  async create(username: string): Promise<{ token: string; evicted?: string }> {
    const token = newToken();
    const hash = hashToken(token);
    const session = { username, createdMs: Date.now() };
    this.#sessions.set(hash, session);
    let evicted: string | undefined;
    if (this.#sessions.size > MAX_SESSIONS) {
      evicted = this.#sessions.keys().next().value!;
      this.#sessions.delete(evicted);
      await this.#append({ op: 'remove', hash: evicted });
    }
    try {
      await this.#append({ op: 'add', hash, ...session });
    } catch (error) {
      this.#sessions.delete(hash); // a session the client never learnt of must not linger
      throw error;
    }
    return { token, evicted };
  }

  async remove(token: string): Promise<void> {
    const hash = hashToken(token);
    if (!this.#sessions.delete(hash)) return;
    await this.#append({ op: 'remove', hash });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#writes;
    await this.#file?.close();
    this.#file = null;
  }

  async #load(): Promise<void> {
    const path = this.#path;
    if (path === null) return;
    await mkdir(dirname(path), { recursive: true });
    let data = Buffer.alloc(0);
    try {
      data = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const intact = data.lastIndexOf(NEWLINE) + 1;
    for (const line of data.subarray(0, intact).toString('utf8').split('\n')) {
      const entry = parseEntry(line);
      if (entry === undefined) continue;
      if (entry.op === 'add') this.#sessions.set(entry.hash, { username: entry.username, createdMs: entry.createdMs });
      else this.#sessions.delete(entry.hash);
      this.#entriesInFile++;
    }
    this.#bytesInFile = intact;
    if (this.#shouldCompact()) {
      await this.#compact();
    } else if (intact < data.length) {
      const file = await open(path, 'r+');
      try {
        await file.truncate(intact);
        await file.datasync();
      } finally {
        await file.close();
      }
    }
    this.#file = await open(path, 'a', 0o600);
  }

  #shouldCompact(): boolean {
    return this.#entriesInFile > Math.max(2 * this.#sessions.size + COMPACT_SLACK_LINES, this.#compactRetryAbove);
  }

  // Writes the live sessions to a temporary file and renames it over the old one; a crash at any
  // step leaves one whole file or the other. The caller reopens #file.
  async #compact(): Promise<void> {
    const path = this.#path!;
    const temporary = `${path}.tmp`;
    const file = await open(temporary, 'w', 0o600);
    const lines = [...this.#sessions].map(([hash, s]) => `${JSON.stringify({ op: 'add', hash, ...s })}\n`).join('');
    try {
      await file.writeFile(lines);
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    await syncFolder(dirname(path));
    this.#entriesInFile = this.#sessions.size;
    this.#bytesInFile = Buffer.byteLength(lines);
  }

  // Runs in the #writes chain, so no append lands in the old file after the rename. The next
  // append reopens the file (whichever one is in place).
  async #compactBetweenAppends(): Promise<void> {
    if (!this.#shouldCompact()) return;
    await this.#file?.close();
    this.#file = null;
    try {
      await this.#compact();
    } catch {
      // The old file is still whole; keep appending to it and try again once it has doubled.
      this.#compactRetryAbove = 2 * this.#entriesInFile;
    }
  }

  #append(entry: Entry): Promise<void> {
    if (this.#path === null) return Promise.resolve();
    // Serialised so lines never interleave; each login waits for its own fsync, not a rewrite.
    const write = this.#writes.then(async () => {
      if (this.#closed) throw shuttingDown();
      const file = (this.#file ??= await open(this.#path!, 'a', 0o600));
      const line = `${JSON.stringify(entry)}\n`;
      try {
        await file.appendFile(line);
        await file.datasync();
      } catch (error) {
        // Half a line would swallow the next one; cut it off (the session is refused anyway).
        await file.truncate(this.#bytesInFile).catch(() => {});
        throw error;
      }
      this.#entriesInFile++;
      this.#bytesInFile += Buffer.byteLength(line);
    });
    this.#writes = write.then(() => this.#compactBetweenAppends()).catch(() => {});
    return write;
  }
}

/** One line of the file, or undefined for anything that is not a whole, well-formed entry. */
function parseEntry(line: string): Entry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const entry = value as Record<string, unknown>;
  if (typeof entry.hash !== 'string') return undefined;
  if (entry.op === 'remove') return { op: 'remove', hash: entry.hash };
  if (entry.op === 'add' && typeof entry.username === 'string' && typeof entry.createdMs === 'number') {
    return { op: 'add', hash: entry.hash, username: entry.username, createdMs: entry.createdMs };
  }
  return undefined;
}
