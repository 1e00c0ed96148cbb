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
}
