// The message and change shapes shared by HTTP, TCP and both clients.

/** A chat message on the wire. `id` is also a cursor: "everything after this message". */
export interface ChatMessage {
  id: number;
  user: string;
  text: string;
  /** ISO 8601 UTC, e.g. 2026-11-23T20:00:00.000Z */
  time: string;
}

/**
 * What changed after a cursor: new messages (oldest first), ids of messages deleted since,
 * and the cursor to ask from next time.
 */
export interface ChangeSet {
  messages: ChatMessage[];
  deleted: number[];
  last: number;
  /**
   * Present when the cursor asked from is not in the server's history: older than anything it
   * still keeps, or newer than anything it has (its history began again, e.g. a `--memory`
   * server restarted). `messages` is then the newest page, and the client should replace
   * everything it shows with it instead of merging.
   */
  reset?: true;
}
