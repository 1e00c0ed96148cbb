// "(3) Parley" in the tab title while the tab is hidden and messages from others arrive; the
// count clears as soon as the tab is visible again.
import { useEffect, useRef, useState } from 'preact/hooks';
import { newArrivals, newestId, type Entry } from '../chat-state.js';

export const BASE_TITLE = 'Parley';

export function useUnreadTitle(entries: Entry[], isLoaded: boolean): void {
  const [unread, setUnread] = useState(0);
  const newest = useRef<number | null>(null);

  useEffect(() => {
    if (!isLoaded) return;
    const previous = newest.current;
    // The newest shown, not the highest ever seen: after a reset the server's ids start again.
    newest.current = newestId(entries);
    if (previous === null || document.visibilityState !== 'hidden') return;
    const arrived = newArrivals(entries, previous).length;
    if (arrived > 0) setUnread((count) => count + arrived);
  }, [entries, isLoaded]);

  useEffect(() => {
    const onVisibility = () => {
      if (document.visibilityState === 'visible') setUnread(0);
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      document.title = BASE_TITLE;
    };
  }, []);

  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${BASE_TITLE}` : BASE_TITLE;
  }, [unread]);
}
