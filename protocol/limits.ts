// Limits every edge enforces and every client can show before the server has to refuse.

/** Longest message text, counted in Unicode code points after NFC normalisation. */
export const MAX_TEXT_LENGTH = 4000;
/** Longest username, in code points after NFC normalisation and trimming. */
export const MAX_USERNAME_LENGTH = 32;
/** Longest client-chosen idempotency key. */
export const MAX_CLIENT_ID_LENGTH = 64;
/** Largest TCP frame (one JSON line, in UTF-8 bytes, newline excluded). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Largest HTTP request body. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Default and largest page of messages a read returns. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Longest long-poll wait (`GET /api/messages?wait=S`). */
export const MAX_WAIT_SECONDS = 30;
/**
 * Bytes the server may hold unsent for one SSE stream or TCP connection before it counts as
 * not reading (then a stream is cut off and a TCP client's requests wait; SLOW_CONSUMER).
 */
export const MAX_UNREAD_BYTES = 1024 * 1024;

/** Length the way users and the limits count it: code points, so an emoji is one character. */
export function countCharacters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
