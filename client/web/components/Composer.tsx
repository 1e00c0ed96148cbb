// Where messages are written. Enter sends and Shift+Enter starts a new line (except while an
// input method is composing, where Enter confirms the composition). The length is counted the
// way the server counts it (code points after NFC), so the limit shows before a refusal can.
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { MAX_TEXT_LENGTH, countCharacters } from '../../../protocol/limits.js';

/** The counter appears once this few characters are left. */
const COUNTER_FROM_REMAINING = 500;
/** The box grows with its text up to this height, then scrolls. */
const MAX_HEIGHT_PX = 200;

export function Composer({ onSend }: { onSend(text: string): void }) {
  const [text, setText] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);
  const normalized = text.normalize('NFC');
  const length = countCharacters(normalized);
  const remaining = MAX_TEXT_LENGTH - length;
  const isOver = remaining < 0;
  const isEmpty = normalized.trim() === '';
  const isCounting = remaining <= COUNTER_FROM_REMAINING;

  // Ready to type after logging in. Not the autofocus attribute: a browser honours only the
  // first one per page load, and the login form's has used it up. Not on touch screens, where
  // focus would pop the keyboard up over the conversation.
  useLayoutEffect(() => {
    if (matchMedia('(pointer: fine)').matches) box.current?.focus();
  }, []);

  useLayoutEffect(() => {
    const element = box.current!;
    element.style.height = 'auto';
    element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  const submit = () => {
    if (isEmpty || isOver) return;
    onSend(normalized.trim());
    setText('');
    box.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    submit();
  };

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <label for="composer-text" class="sr-only">
        Message
      </label>
      <div class={isOver ? 'field over' : 'field'}>
        <textarea
          id="composer-text"
          ref={box}
          rows={1}
          value={text}
          placeholder="Write a message…"
          aria-describedby="composer-hint composer-count"
          aria-invalid={isOver}
          enterkeyhint="send"
          onInput={(event) => setText((event.currentTarget as HTMLTextAreaElement).value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" class="send" disabled={isEmpty || isOver} aria-label="Send">
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
            <path d="M4 12 20 4l-6 16-2.5-6.5z" fill="currentColor" />
          </svg>
        </button>
      </div>
      <div class={isCounting ? 'composer-foot counting' : 'composer-foot'}>
        <span id="composer-hint" class="hint">
          <kbd>Enter</kbd> to send, <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line
        </span>
        <span id="composer-count" class={isOver ? 'count over' : 'count'} aria-live={isOver ? 'polite' : 'off'}>
          {isCounting &&
            (isOver
              ? `${(-remaining).toLocaleString()} over the ${MAX_TEXT_LENGTH.toLocaleString()}-character limit`
              : `${remaining.toLocaleString()} characters left`)}
        </span>
      </div>
    </form>
  );
}
