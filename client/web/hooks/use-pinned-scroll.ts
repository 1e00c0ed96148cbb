// Keeps the message list where a reader expects it:
// - at the bottom while the reader is there (new messages, a growing composer, a rotated phone),
// - still when they have scrolled up to read, counting what arrives below them instead,
// - on the same message when an older page is added above (its height is added to scrollTop;
//   `overflow-anchor: none` in style.css stops Chrome from doing the same a second time),
// - and asking for older history when the reader nears the top.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import { newArrivals, newestId, type Entry } from '../chat-state.js';

/** Closer than this to the bottom counts as "at the bottom". */
const PINNED_SLACK_PX = 48;
/** Closer than this to the top starts loading the previous page, before the reader hits it. */
const LOAD_OLDER_PX = 400;

export interface PinnedScroll {
  /** Messages from others that arrived below the view while the reader was scrolled up. */
  unseen: number;
  onScroll(): void;
  jumpToBottom(): void;
}

export function usePinnedScroll(
  scroller: RefObject<HTMLElement>,
  entries: Entry[],
  isLoaded: boolean,
  onNearTop: () => void,
): PinnedScroll {
  const [unseen, setUnseen] = useState(0);
  const isPinned = useRef(true);
  /** scrollHeight - scrollTop as of the last scroll or render: the bottom-relative position. */
  const fromBottom = useRef(0);
  /** scrollHeight as of the last scroll or render, before what this render added. */
  const lastHeight = useRef(0);
  const seen = useRef<{ first: string | undefined; last: string | undefined; newest: number } | null>(null);
  const nearTop = useRef(onNearTop);
  nearTop.current = onNearTop;

  const measure = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    lastHeight.current = element.scrollHeight;
    fromBottom.current = element.scrollHeight - element.scrollTop;
    isPinned.current = fromBottom.current - element.clientHeight < PINNED_SLACK_PX;
    if (isPinned.current) setUnseen(0);
    if (element.scrollTop < LOAD_OLDER_PX) nearTop.current();
  }, []);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || !isLoaded) return;
    const first = entries[0]?.key;
    const lastEntry = entries[entries.length - 1];
    const newest = newestId(entries);
    const previous = seen.current;
    // Where the reader is now, against the list as it was before this render: a scroll's event
    // reaches onScroll a frame later, and a message arriving in that frame must not be taken for
    // one that arrived while the reader was still at the bottom.
    if (previous && lastHeight.current > 0) {
      fromBottom.current = lastHeight.current - element.scrollTop;
      isPinned.current = fromBottom.current - element.clientHeight < PINNED_SLACK_PX;
    }
    // Your own new message always brings you down to it.
    if (lastEntry?.isMine && lastEntry.state === 'sending' && lastEntry.key !== previous?.last) {
      isPinned.current = true;
    }
    if (isPinned.current) {
      element.scrollTop = element.scrollHeight;
    } else if (previous && first !== previous.first) {
      element.scrollTop = element.scrollHeight - fromBottom.current;
    }
    if (previous && !isPinned.current) {
      const arrived = newArrivals(entries, previous.newest).length;
      if (arrived > 0) setUnseen((count) => count + arrived);
    }
    seen.current = { first, last: lastEntry?.key, newest };
    measure();
  }, [entries, isLoaded]);

  // Size changes (the composer grows, the phone keyboard opens, fonts load) must not unpin.
  useEffect(() => {
    const element = scroller.current;
    if (!element || typeof ResizeObserver !== 'function') return;
    const observer = new ResizeObserver(() => {
      if (isPinned.current) element.scrollTop = element.scrollHeight;
    });
    observer.observe(element);
    if (element.firstElementChild) observer.observe(element.firstElementChild);
    return () => observer.disconnect();
  }, [isLoaded]);

  const jumpToBottom = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    isPinned.current = true;
    setUnseen(0);
    const reduceMotion = matchMedia('(prefers-reduced-motion: reduce)').matches;
    element.scrollTo({ top: element.scrollHeight, behavior: reduceMotion ? 'auto' : 'smooth' });
  }, []);

  return { unseen, onScroll: measure, jumpToBottom };
}
