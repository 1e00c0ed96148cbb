import { MAX_USERNAME_LENGTH, countCharacters } from './limits.js';

export type UsernameCheck = { ok: true; username: string } | { ok: false; message: string };

// Control characters (C0, DEL, C1), bidi overrides and isolates, and zero-width characters
// could make two names look alike or reorder the text around a name, so none is allowed.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u;

/** Normalises (NFC, trimmed) and checks a username; the message says what to change. */
export function checkUsername(raw: unknown): UsernameCheck {
  if (typeof raw !== 'string') return { ok: false, message: 'username must be a string' };
  const username = raw.normalize('NFC').trim();
  const length = countCharacters(username);
  if (length === 0) return { ok: false, message: 'username is empty; choose 1 to 32 characters' };
  if (length > MAX_USERNAME_LENGTH) {
    return {
      ok: false,
      message: `username is ${length} characters; the limit is ${MAX_USERNAME_LENGTH}`,
    };
  }
  const bad = FORBIDDEN.exec(username);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return {
      ok: false,
      message: `username contains U+${code}, an invisible or control character; use visible characters only`,
    };
  }
  return { ok: true, username };
}
