// The scrolling conversation: day separators, grouped rows, older history on the way up, the
// "new messages" pill, the actions menu, and keyboard movement between messages (one tab stop,
// arrows move, Enter or Delete opens the menu of your own message).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { newArrivals, newestId, type Entry } from '../chat-state.js';
import { continuesGroup, dayKey, formatDay } from '../format.js';
import { usePinnedScroll } from '../hooks/use-pinned-scroll.js';
import { ContextMenu, type MenuAnchor } from './ContextMenu.js';
import { ACTIONS_HINT_ID, Message } from './Message.js';
import { NewMessagesPill } from './NewMessagesPill.js';

interface Props {
  entries: Entry[];
  isLoaded: boolean;
  hasOlder: boolean;
  isLoadingOlder: boolean;
  onLoadOlder(): void;
  /** Resolves to whether the message is gone. */
  onDelete(id: number): Promise<boolean>;
  onRetry(clientId: string): void;
  onDiscard(clientId: string): void;
}

interface OpenMenu {
  entry: Entry;
  anchor: MenuAnchor;
  /** The bottom of the list's visible area (the composer starts there). */
  floor: number;
}

const ANNOUNCE_MAX_CHARS = 200;

export function MessageList(props: Props) {
  const { entries, isLoaded, hasOlder, isLoadingOlder } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLOListElement>(null);
  const [activeKey, setActiveKey] = useState<string | null>(null);
  const [menu, setMenu] = useState<OpenMenu | null>(null);
  const { unseen, onScroll, jumpToBottom } = usePinnedScroll(scroller, entries, isLoaded, props.onLoadOlder);
  const announcement = useAnnouncement(entries, isLoaded);

  const active = entries.some((entry) => entry.key === activeKey) ? activeKey : entries[entries.length - 1]?.key;

  const focusRow = (row: Element | undefined) => {
    if (!(row instanceof HTMLElement)) return;
    row.focus();
    row.scrollIntoView({ block: 'nearest' });
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const rows = [...(list.current?.querySelectorAll('li.msg') ?? [])];
    const index = rows.indexOf(document.activeElement as Element);
    if (index === -1) return;
    const moves: Record<string, number> = { ArrowUp: index - 1, ArrowDown: index + 1, Home: 0, End: rows.length - 1 };
    const target = moves[event.key];
    if (target === undefined) return;
    event.preventDefault();
    focusRow(rows[Math.max(0, Math.min(rows.length - 1, target))]);
  };

  const openMenu = useCallback((entry: Entry, anchor: MenuAnchor) => {
    setMenu({ entry, anchor, floor: scroller.current?.getBoundingClientRect().bottom ?? innerHeight });
  }, []);
  const closeMenu = useCallback(
    (restoreFocus: boolean) => {
      if (restoreFocus && menu) rowOf(list.current, menu.entry.key)?.focus();
      setMenu(null);
    },
    [menu],
  );

  const deleteFromMenu = async (entry: Entry) => {
    const index = entries.findIndex((candidate) => candidate.key === entry.key);
    const neighbour = entries[index + 1] ?? entries[index - 1];
    // The menu is closing under the focus: give it back to the message while the delete is on
    // its way, so a refused delete (the message stays, a toast says why) leaves focus on it.
    const isInList = document.activeElement?.closest('.menu, li.msg') != null;
    if (isInList) rowOf(list.current, entry.key)?.focus();
    const isGone = await props.onDelete(entry.id!);
    if (!isGone || !isInList || !neighbour) return;
    // Only now, and only if focus is still on the message (or fell to the page when its row
    // left), move it to the neighbour, so a keyboard user is not dropped at the top of the page.
    const focused = document.activeElement;
    if (focused !== null && focused !== document.body && focused !== rowOf(list.current, entry.key)) return;
    setActiveKey(neighbour.key);
    focusRow(rowOf(list.current, neighbour.key) ?? undefined);
  };

  const rows = [];
  let groupSize = 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const previous = entries[i - 1];
    if (!previous || dayKey(previous.time) !== dayKey(entry.time)) {
      rows.push(
        <li key={`day-${dayKey(entry.time)}`} class="day" aria-hidden="true">
          <span>{formatDay(entry.time)}</span>
        </li>,
      );
    }
    const isContinued = continuesGroup(previous, entry, groupSize);
    groupSize = isContinued ? groupSize + 1 : 1;
    rows.push(
      <Message
        key={entry.key}
        entry={entry}
        isContinued={isContinued}
        isActive={entry.key === active}
        onFocus={setActiveKey}
        onOpenMenu={openMenu}
        onRetry={props.onRetry}
        onDiscard={props.onDiscard}
      />,
    );
  }

  return (
    <div class="list-wrap">
      <div ref={scroller} class="scroller" onScroll={onScroll}>
        <ol ref={list} class="messages" aria-label="Messages" onKeyDown={onKeyDown}>
          {isLoaded && hasOlder && (
            <li class="edge" aria-hidden={!isLoadingOlder}>
              {isLoadingOlder ? <span class="spinner">Loading earlier messages…</span> : ''}
            </li>
          )}
          {isLoaded && !hasOlder && entries.length > 0 && (
            <li class="edge start">This is the beginning of the conversation.</li>
          )}
          {rows}
        </ol>
        {!isLoaded && <p class="placeholder">Loading messages…</p>}
        {isLoaded && entries.length === 0 && (
          <div class="placeholder empty">
            <p class="big">No messages yet</p>
            <p>Say hello and get the conversation going.</p>
          </div>
        )}
      </div>
      <NewMessagesPill count={unseen} onClick={jumpToBottom} />
      <p id={ACTIONS_HINT_ID} class="sr-only">
        Press Enter or Delete for actions.
      </p>
      <div class="sr-only" aria-live="polite">
        {announcement}
      </div>
      {menu && (
        <ContextMenu
          anchor={menu.anchor}
          floor={menu.floor}
          label="Message actions"
          onClose={closeMenu}
          items={[{ label: 'Delete', icon: <TrashIcon />, isDanger: true, onSelect: () => void deleteFromMenu(menu.entry) }]}
        />
      )}
    </div>
  );
}

function TrashIcon() {
  return (
    <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
      <path
        d="M3 4.5h10M6.5 4.5V3h3v1.5m-5 0 .6 8.5h5.8l.6-8.5M7 7v4m2-4v4"
        fill="none"
        stroke="currentColor"
        stroke-width="1.3"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}

function rowOf(list: HTMLElement | null, key: string): HTMLElement | null {
  const index = key.startsWith('m') ? key.slice(1) : null;
  return index === null ? null : (list?.querySelector<HTMLElement>(`li.msg[data-id="${index}"]`) ?? null);
}

/** What a screen reader should say about messages that just arrived from others. */
function useAnnouncement(entries: Entry[], isLoaded: boolean): string {
  const [text, setText] = useState('');
  const newest = useRef<number | null>(null);
  useEffect(() => {
    if (!isLoaded) return;
    const previous = newest.current;
    const arrived = previous === null ? [] : newArrivals(entries, previous);
    // The newest shown, not the highest ever seen: after a reset the server's ids start again.
    newest.current = newestId(entries);
    if (arrived.length === 1) {
      const { user, text } = arrived[0]!;
      setText(`${user}: ${text.length > ANNOUNCE_MAX_CHARS ? `${text.slice(0, ANNOUNCE_MAX_CHARS)}…` : text}`);
    } else if (arrived.length > 1) {
      setText(`${arrived.length} new messages`);
    }
  }, [entries, isLoaded]);
  return text;
}
