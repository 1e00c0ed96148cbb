// The rules for a message text, shared by the server (which enforces them) and both clients
// (which show them before the server has to refuse).
import { MAX_TEXT_LENGTH, countCharacters } from './limits.js';

export type TextCheck =
  | { ok: true; text: string }
  | { ok: false; code: 'TEXT_EMPTY' | 'TEXT_TOO_LONG' | 'BAD_REQUEST'; message: string };

// Newline and tab are text; every other control character could rewrite a terminal's screen
// (escape sequences) or hide content, so none is accepted.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u;

/** NFC-normalises and checks a message text. */
export function checkText(raw: unknown): TextCheck {
  if (typeof raw !== 'string') {
    return { ok: false, code: 'BAD_REQUEST', message: 'text must be a string' };
  }
  const text = raw.normalize('NFC');
  if (text.trim().length === 0) {
    return { ok: false, code: 'TEXT_EMPTY', message: 'the message is empty; type something to send' };
  }
  const length = countCharacters(text);
  if (length > MAX_TEXT_LENGTH) {
    return {
      ok: false,
      code: 'TEXT_TOO_LONG',
      message: `the message is ${length} characters; the limit is ${MAX_TEXT_LENGTH}, so shorten it or split it`,
    };
  }
  const bad = CONTROL.exec(text);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return { ok: false, code: 'BAD_REQUEST', message: `the message contains the control character U+${code}; remove it` };
  }
  return { ok: true, text };
}
