// Sessions shared by TCP and HTTP (tokens: server/chat/session-token.ts). Only a token's
// SHA-256 is kept, in memory and in an append-only file, so a leaked data folder does not leak
// live tokens. Sessions survive restarts: the file is replayed on start and compacted when most
// of it is logged-out sessions.
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { hashToken, newToken } from '../chat/session-token.js';

export interface StoredSession {
  username: string;
  createdMs: number;
}

type Entry = { op: 'add'; hash: string; username: string; createdMs: number } | { op: 'remove'; hash: string };

/** Most sessions kept at once; the oldest go first, so a login flood cannot exhaust memory. */
const MAX_SESSIONS = 200_000;
/** Tokens whose hash is remembered; the cache starts over when it fills. */
const MAX_CACHED_HASHES = 10_000;

export class SessionStore {
  readonly #sessions = new Map<string, StoredSession>();
  /**
   * token -> its hash, for live sessions' tokens in use. Every request checks its session, and hashing
   * costs more than the rest of the lookup; the tokens stay in memory only, as they already
   * do in every request being answered.
   */
  readonly #hashes = new Map<string, string>();
  readonly #path: string | null;
  #file: FileHandle | null = null;
  #entriesInFile = 0;
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

  /** Creates a session; resolves once it is on disk, so a restart right after keeps it. */
  async create(username: string): Promise<string> {
    const token = newToken();
    const hash = hashToken(token);
    const session = { username, createdMs: Date.now() };
    this.#sessions.set(hash, session);
    if (this.#sessions.size > MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value!;
      this.#sessions.delete(oldest);
      await this.#append({ op: 'remove', hash: oldest });
    }
    await this.#append({ op: 'add', hash, ...session });
    return token;
  }

  async remove(token: string): Promise<void> {
    const hash = hashToken(token);
    if (!this.#sessions.delete(hash)) return;
    await this.#append({ op: 'remove', hash });
  }

  async close(): Promise<void> {
    await this.#writes;
    await this.#file?.close();
    this.#file = null;
  }

  async #load(): Promise<void> {
    if (this.#path === null) return;
    let text = '';
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      // A torn last line (crash mid-write) is skipped; everything before it is intact.
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch {
        continue;
      }
      if (entry.op === 'add') this.#sessions.set(entry.hash, { username: entry.username, createdMs: entry.createdMs });
      else if (entry.op === 'remove') this.#sessions.delete(entry.hash);
      this.#entriesInFile++;
    }
    if (this.#entriesInFile > 2 * this.#sessions.size + 1000) await this.#compact();
    await mkdir(join(this.#path, '..'), { recursive: true });
    this.#file = await open(this.#path, 'a', 0o600);
  }

  async #compact(): Promise<void> {
    const path = this.#path!;
    const temporary = `${path}.tmp`;
    const file = await open(temporary, 'w', 0o600);
    const lines = [...this.#sessions].map(([hash, s]) => JSON.stringify({ op: 'add', hash, ...s })).join('\n');
    await file.writeFile(lines ? `${lines}\n` : '');
    await file.datasync();
    await file.close();
    await rename(temporary, path);
    this.#entriesInFile = this.#sessions.size;
  }

  #append(entry: Entry): Promise<void> {
    if (this.#path === null) return Promise.resolve();
    // Serialised so lines never interleave; each login waits for its own fsync.
    const write = this.#writes.then(async () => {
      if (this.#file === null) return;
      await this.#file.appendFile(`${JSON.stringify(entry)}\n`);
      await this.#file.datasync();
      this.#entriesInFile++;
    });
    this.#writes = write.catch(() => {});
    return write;
  }
}
