// Bracketed paste (xterm's mode 2004): while it is on, the terminal wraps pasted text in
// ESC[200~ ... ESC[201~, so a paste of several lines is text for the composer, not a series of
// Enter keys that would send each line at once.
//
//   keys ... ESC[200~ pasted text, newlines and all ESC[201~ keys ...
//            '------------------- one paste ----------------'
//
// terminal-kit does not know these markers: it would report ESC[200~ as an unknown sequence
// and drop the rest of that read, paste included. So the paste is taken out of the input
// before terminal-kit parses what is left as keys.
import type { Terminal } from 'terminal-kit';

export const ENABLE_BRACKETED_PASTE = '\x1b[?2004h';
export const DISABLE_BRACKETED_PASTE = '\x1b[?2004l';

const START = Buffer.from('\x1b[200~', 'latin1');
const END = Buffer.from('\x1b[201~', 'latin1');
/**
 * A read that ends in the first bytes of a start marker is held until the next read. Not a
 * lone ESC: that is the Escape key, and holding it would delay it until the next key.
 */
const MIN_HELD_START = 2;

export type InputPart = { kind: 'keys'; bytes: Buffer } | { kind: 'paste'; text: string };

/** Splits terminal input into key bytes and pastes. Pure; markers may be split across reads. */
export class PasteSplitter {
  #paste: Buffer[] | undefined;
  #held: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): InputPart[] {
    let data = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    this.#held = Buffer.alloc(0);
    const parts: InputPart[] = [];
    while (data.length > 0) {
      if (this.#paste === undefined) {
        const start = data.indexOf(START);
        if (start === -1) {
          const held = heldPrefix(data, START, MIN_HELD_START);
          if (data.length > held) parts.push({ kind: 'keys', bytes: data.subarray(0, data.length - held) });
          this.#held = Buffer.from(data.subarray(data.length - held));
          break;
        }
        if (start > 0) parts.push({ kind: 'keys', bytes: data.subarray(0, start) });
        this.#paste = [];
        data = data.subarray(start + START.length);
        continue;
      }
      const end = data.indexOf(END);
      if (end === -1) {
        const held = heldPrefix(data, END, 1);
        this.#paste.push(Buffer.from(data.subarray(0, data.length - held)));
        this.#held = Buffer.from(data.subarray(data.length - held));
        break;
      }
      this.#paste.push(data.subarray(0, end));
      parts.push({ kind: 'paste', text: Buffer.concat(this.#paste).toString('utf8') });
      this.#paste = undefined;
      data = data.subarray(end + END.length);
    }
    return parts;
  }
}

/** How many bytes at the end of `data` could be the beginning of `marker` (at least `min`). */
function heldPrefix(data: Buffer, marker: Buffer, min: number): number {
  for (let length = Math.min(marker.length - 1, data.length); length >= min; length--) {
    if (data.subarray(data.length - length).equals(marker.subarray(0, length))) return length;
  }
  return 0;
}

/** The part of terminal-kit's Terminal that parses input; its type definitions leave it out. */
interface InputParser {
  onStdin: (chunk: Buffer) => void;
}

/**
 * Puts the splitter in front of terminal-kit's input parser: keys go on to it, pastes to
 * `onPaste`. Call before `grabInput`, which attaches (and later detaches) `onStdin` to stdin.
 */
export function splitPastes(terminal: Terminal, onPaste: (text: string) => void): void {
  const parser = terminal as unknown as InputParser;
  const parseKeys = parser.onStdin;
  const splitter = new PasteSplitter();
  parser.onStdin = (chunk: Buffer) => {
    for (const part of splitter.push(chunk)) {
      if (part.kind === 'keys') parseKeys(part.bytes);
      else onPaste(part.text);
    }
  };
}
