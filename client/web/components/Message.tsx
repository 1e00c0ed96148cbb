// One row of the list. The text goes in as a text node (JSX children), never as HTML, so
// whatever a message contains is shown exactly as typed and nothing in it can run.
import type { Entry } from '../chat-state.js';
import { formatFullTime, formatTime, hueOf, initialOf } from '../format.js';
import type { MenuAnchor } from './ContextMenu.js';

/** Id of the hidden sentence that tells screen-reader users how to reach a message's actions. */
export const ACTIONS_HINT_ID = 'message-actions-hint';

interface Props {
  entry: Entry;
  /** Same author as the row above, a few minutes apart: no avatar or name again. */
  isContinued: boolean;
  /** The one message in the tab order (roving tabindex); the others are reached with arrows. */
  isActive: boolean;
  onFocus(key: string): void;
  /** Opens the actions menu at the pointer (right-click) or at the bubble (keyboard, ⋯, phones). */
  onOpenMenu(entry: Entry, anchor: MenuAnchor): void;
  onRetry(clientId: string): void;
  onDiscard(clientId: string): void;
}

const MENU_KEYS = new Set(['Enter', ' ', 'ContextMenu', 'Delete', 'Backspace']);
/**
 * Where a right-click opens the menu at the bubble instead of at the pointer: on a phone the
 * pointer is a finger on the message (a long press), and a menu there would cover it.
 */
const ANCHOR_AT_BUBBLE = '(max-width: 520px), (pointer: coarse)';

export function Message({ entry, isContinued, isActive, onFocus, onOpenMenu, onRetry, onDiscard }: Props) {
  const hasActions = entry.isMine && entry.id !== null;
  const openAtRow = (element: HTMLElement) => {
    const bubble = element.querySelector('.bubble') ?? element;
    const { left, right, top, bottom } = bubble.getBoundingClientRect();
    onOpenMenu(entry, { x: entry.isMine ? right : left, alignEnd: entry.isMine, top, bottom });
  };

  const onContextMenu = (event: MouseEvent) => {
    if (!hasActions) return; // others' messages keep the browser's own menu (copy, select…)
    event.preventDefault();
    if (matchMedia(ANCHOR_AT_BUBBLE).matches) return openAtRow(event.currentTarget as HTMLElement);
    onOpenMenu(entry, { x: event.clientX, alignEnd: false, top: event.clientY, bottom: event.clientY });
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (!hasActions || event.target !== event.currentTarget) return;
    if (MENU_KEYS.has(event.key) || (event.key === 'F10' && event.shiftKey)) {
      event.preventDefault();
      openAtRow(event.currentTarget as HTMLElement);
    }
  };

  const classes = ['msg', entry.isMine ? 'mine' : 'theirs', isContinued ? 'continued' : '', entry.state];
  return (
    <li
      class={classes.join(' ')}
      data-id={entry.id ?? undefined}
      data-state={entry.state}
      tabIndex={isActive ? 0 : -1}
      aria-describedby={hasActions ? ACTIONS_HINT_ID : undefined}
      onFocus={(event) => event.target === event.currentTarget && onFocus(entry.key)}
      onContextMenu={onContextMenu}
      onKeyDown={onKeyDown}
    >
      {!entry.isMine && (
        <span class={`avatar hue${hueOf(entry.user)}`} aria-hidden="true">
          {isContinued ? '' : initialOf(entry.user)}
        </span>
      )}
      <div class="body">
        <div class={isContinued || entry.isMine ? 'author sr-only' : 'author'}>{entry.isMine ? 'You' : entry.user}</div>
        <div class="bubble">
          <p class="text">{entry.text}</p>
          <span class="stamp">
            <time dateTime={entry.time} title={formatFullTime(entry.time)}>
              {formatTime(entry.time)}
            </time>
            {entry.state === 'sending' && <span class="sending">Sending…</span>}
          </span>
        </div>
        {entry.state === 'failed' && entry.clientId !== null && (
          <div class="send-error" role="alert">
            <span>Not sent. {entry.error}</span>
            <button type="button" class="link" onClick={() => onRetry(entry.clientId!)}>
              Retry
            </button>
            <button type="button" class="link muted" onClick={() => onDiscard(entry.clientId!)}>
              Discard
            </button>
          </div>
        )}
      </div>
      {hasActions && (
        <button
          type="button"
          class="more"
          tabIndex={-1}
          aria-label="Message actions"
          aria-haspopup="menu"
          onClick={(event) => openAtRow((event.currentTarget as HTMLElement).closest('li')!)}
        >
          <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <circle cx="3" cy="8" r="1.5" />
            <circle cx="8" cy="8" r="1.5" />
            <circle cx="13" cy="8" r="1.5" />
          </svg>
        </button>
      )}
    </li>
  );
}
