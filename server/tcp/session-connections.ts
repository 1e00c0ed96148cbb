// Which TCP connections are logged in with which session, by token hash
// (server/chat/session-token.ts), so that a session ending anywhere (a logout on another
// connection, over HTTP, or on another cluster node) reaches exactly its connections without a
// scan of every connection.

export interface SessionHolder {
  /** The session this connection was logged in with has ended. */
  endSession(): void;
}

export class SessionConnections {
  readonly #byHash = new Map<string, Set<SessionHolder>>();

  /** Connections indexed, over all sessions. */
  get size(): number {
    let size = 0;
    for (const holders of this.#byHash.values()) size += holders.size;
    return size;
  }

  /** Records that `holder` is now logged in with `hash` (undefined: logged out). */
  move(holder: SessionHolder, from: string | undefined, to: string | undefined): void {
    if (from === to) return;
    if (from !== undefined) {
      const holders = this.#byHash.get(from);
      holders?.delete(holder);
      if (holders?.size === 0) this.#byHash.delete(from);
    }
    if (to !== undefined) {
      let holders = this.#byHash.get(to);
      if (holders === undefined) this.#byHash.set(to, (holders = new Set()));
      holders.add(holder);
    }
  }

  /** Tells every connection logged in with `hash` that its session ended. */
  end(hash: string): void {
    const holders = this.#byHash.get(hash);
    if (holders === undefined) return;
    this.#byHash.delete(hash);
    for (const holder of holders) holder.endSession();
  }
}
