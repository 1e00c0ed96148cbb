// Sessions every node shares: `parley:session:<SHA-256 of the token>` -> username in Redis, so
// a login on one node works on all of them and a logout on one ends it on all of them. Tokens
// are made and hashed as in single-node mode (server/store/sessions.ts); Redis never sees one.
//
// Expiry: 30 days after the session was last used. A lookup refreshes it at most once a day per
// node (EXPIRE, fire-and-forget), so a busy reader does not turn every GET into a Redis write
// (and an fsync, with `appendfsync always`).
//
// Redis is asked on every lookup while it is reachable, so a logout anywhere is seen at once.
// While it is not, a node falls back to the sessions it confirmed itself (`#known`), so people
// already logged in can keep reading what the node holds. That copy must not outlive a logout:
// every logout is published on `parley:logouts` and each node drops the session when it hears
// it; and when this node's subscription was cut (it may have missed some), it forgets every copy
// once both the subscription and the command connection are back. Not before: a lookup between
// the two would find neither Redis nor a copy, and a reader would get a 503 in the middle of a
// recovery instead of the answer the copy gave during the outage itself.
import { hashToken, newToken } from '../chat/session-token.js';
import type { Session } from '../chat/chat.js';
import type { RedisLink, Write } from './redis-link.js';
import { LOGOUT_CHANNEL, SESSION_KEY_PREFIX } from './stream-entry.js';

export const SESSION_TTL_SECONDS = 30 * 24 * 60 * 60;
const REFRESH_EVERY_MS = 24 * 60 * 60 * 1000;
/** Most sessions a node remembers for outages; the least recently confirmed go first. */
const MAX_KNOWN = 200_000;
/** Longest token accepted; ours are 43 characters. */
const MAX_TOKEN_LENGTH = 100;

const LOGOUT: Write = {
  what: 'end your session on every server',
  done: 'ended your session on every server',
  retry: 'logging out twice is harmless',
};

interface Known {
  username: string;
  /** When the expiry in Redis was last pushed forward from this node. */
  refreshedMs: number;
}

export class SharedSessions {
  readonly #link: RedisLink;
  readonly #known = new Map<string, Known>();
  readonly #endedListeners = new Set<(tokenHash: string) => void>();

  private constructor(link: RedisLink) {
    this.#link = link;
  }

  static async open(link: RedisLink): Promise<SharedSessions> {
    const sessions = new SharedSessions(link);
    // This node hears its own logouts here too, so every node ends its connections the same way.
    await link.logouts.subscribe(LOGOUT_CHANNEL, (hash) => sessions.#ended(hash));
    // node-redis subscribes again by itself after a reconnect; logouts published in between
    // were missed, so nothing remembered from before can be trusted.
    let wasCut = false;
    const forgetWhenBack = () => {
      if (!wasCut || !link.logouts.isReady || !link.commands.isReady) return;
      wasCut = false;
      sessions.#known.clear();
    };
    link.logouts.on('error', () => (wasCut = true));
    link.logouts.on('ready', forgetWhenBack);
    link.commands.on('ready', forgetWhenBack);
    return sessions;
  }

  async create(username: string): Promise<Session> {
    const token = newToken();
    const hash = hashToken(token);
    await this.#link.run('log you in', (redis) => redis.set(SESSION_KEY_PREFIX + hash, username, { EX: SESSION_TTL_SECONDS }));
    this.#remember(hash, username, Date.now());
    return { token, username };
  }

  async lookup(token: string): Promise<Session | undefined> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const hash = hashToken(token);
    let username: string | null;
    try {
      username = await this.#link.run('check your session', (redis) => redis.get(SESSION_KEY_PREFIX + hash));
    } catch (error) {
      const known = this.#known.get(hash);
      if (known !== undefined) return { token, username: known.username };
      throw error;
    }
    if (username === null) {
      this.#known.delete(hash);
      return undefined;
    }
    const nowMs = Date.now();
    const known = this.#known.get(hash);
    if (known === undefined || nowMs - known.refreshedMs > REFRESH_EVERY_MS) {
      this.#remember(hash, username, nowMs);
      this.#link.commands.expire(SESSION_KEY_PREFIX + hash, SESSION_TTL_SECONDS).catch(() => {});
    } else {
      // Map order is the eviction order: a confirmed session moves to the young end.
      this.#known.delete(hash);
      this.#known.set(hash, known);
    }
    return { token, username };
  }

  /**
   * Ends the session on every node; throws UNAVAILABLE when that cannot be done now, and then
   * changes nothing here either (this node's copy is dropped only once Redis has done it).
   * One MULTI: the key and the announcement go together, in one round trip.
   */
  async remove(token: string): Promise<void> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return;
    const hash = hashToken(token);
    await this.#link.run(LOGOUT, (redis) => redis.multi().del(SESSION_KEY_PREFIX + hash).publish(LOGOUT_CHANNEL, hash).exec());
    this.#ended(hash);
  }

  /** See Chat.onSessionEnded. */
  onEnded(listener: (tokenHash: string) => void): () => void {
    this.#endedListeners.add(listener);
    return () => this.#endedListeners.delete(listener);
  }

  #ended(hash: string): void {
    this.#known.delete(hash);
    for (const listener of this.#endedListeners) listener(hash);
  }

  #remember(hash: string, username: string, refreshedMs: number): void {
    this.#known.delete(hash);
    this.#known.set(hash, { username, refreshedMs });
    if (this.#known.size > MAX_KNOWN) this.#known.delete(this.#known.keys().next().value!);
  }
}
