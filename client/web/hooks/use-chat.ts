// The chat for one logged-in user: the state reducer, the live feed, and the actions the screen
// offers (send, retry, discard, delete, load older). Components get plain data and callbacks.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import { ApiError, deleteMessage, fetchMessages, isSessionEnded, newClientId, sendMessage } from '../api.js';
import { initialState, listEntries, reduce, type Entry } from '../chat-state.js';
import { LiveFeed, type LinkStatus, type Transport } from '../live-feed.js';

const OLDER_PAGE_SIZE = 50;

export interface Chat {
  entries: Entry[];
  isLoaded: boolean;
  hasOlder: boolean;
  isLoadingOlder: boolean;
  status: LinkStatus;
  transport: Transport;
  /** A short-lived sentence about something that went wrong outside the list (a failed delete). */
  notice: string | null;
  send(text: string): void;
  retry(clientId: string): void;
  discard(clientId: string): void;
  /** Resolves to whether the message is gone (deleted now, or already), false when refused. */
  remove(id: number): Promise<boolean>;
  loadOlder(): void;
  dismissNotice(): void;
}

export function useChat(me: string, onSessionEnded: (reason: string | null) => void): Chat {
  const [state, dispatch] = useReducer(reduce, me, initialState);
  const [link, setLink] = useState<{ status: LinkStatus; transport: Transport }>({
    status: 'connecting',
    transport: 'events',
  });
  const [isLoadingOlder, setLoadingOlder] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  // Callbacks below outlive renders (a send finishing later, the feed); they read the latest
  // state through refs instead of capturing a stale one.
  const current = useRef({ state, isLoadingOlder, onSessionEnded });
  current.current = { state, isLoadingOlder, onSessionEnded };

  useEffect(() => {
    const feed = new LiveFeed({
      snapshot: (page, hasOlder) => dispatch({ type: 'snapshot', messages: page.messages, hasOlder }),
      changes: ({ messages, deleted }) => dispatch({ type: 'changes', messages, deleted }),
      status: (status, transport) => setLink({ status, transport }),
      sessionEnded: (reason) => current.current.onSessionEnded(reason),
    });
    feed.start();
    return () => feed.stop();
  }, []);

  useEffect(() => {
    if (notice === null) return;
    const timer = setTimeout(() => setNotice(null), 6000);
    return () => clearTimeout(timer);
  }, [notice]);

  const deliver = useCallback(async (clientId: string, text: string) => {
    try {
      dispatch({ type: 'sent', clientId, message: await sendMessage(text, clientId) });
    } catch (error) {
      if (isSessionEnded(error)) current.current.onSessionEnded(null);
      dispatch({ type: 'failed', clientId, error: describeSendError(error) });
    }
  }, []);

  const send = useCallback((text: string) => {
    const clientId = newClientId();
    dispatch({ type: 'queued', clientId, text, time: new Date().toISOString() });
    void deliver(clientId, text);
  }, []);

  const retry = useCallback((clientId: string) => {
    const entry = current.current.state.outbox.find((candidate) => candidate.clientId === clientId);
    if (!entry || entry.state !== 'failed') return;
    dispatch({ type: 'retrying', clientId });
    void deliver(clientId, entry.text);
  }, []);

  const discard = useCallback((clientId: string) => dispatch({ type: 'discarded', clientId }), []);

  const remove = useCallback(async (id: number): Promise<boolean> => {
    try {
      await deleteMessage(id);
    } catch (error) {
      if (isSessionEnded(error)) {
        current.current.onSessionEnded(null);
        return false;
      }
      // 404: already gone (deleted from another tab); the list should agree.
      if (!(error instanceof ApiError && error.status === 404)) {
        setNotice(`Couldn’t delete the message: ${(error as Error).message}`);
        return false;
      }
    }
    dispatch({ type: 'changes', messages: [], deleted: [id] });
    return true;
  }, []);

  const loadOlder = useCallback(async () => {
    const { state, isLoadingOlder } = current.current;
    if (!state.isLoaded || !state.hasOlder || isLoadingOlder) return;
    const oldest = state.messages[0];
    if (!oldest) return dispatch({ type: 'older', messages: [], hasOlder: false });
    setLoadingOlder(true);
    current.current.isLoadingOlder = true;
    try {
      const page = await fetchMessages({ before: oldest.id, limit: OLDER_PAGE_SIZE });
      dispatch({ type: 'older', messages: page.messages, hasOlder: page.messages.length >= OLDER_PAGE_SIZE });
    } catch (error) {
      if (isSessionEnded(error)) return current.current.onSessionEnded(null);
      setNotice(`Couldn’t load earlier messages: ${(error as Error).message}`);
    } finally {
      setLoadingOlder(false);
      current.current.isLoadingOlder = false;
    }
  }, []);

  const entries = useMemo(() => listEntries(state), [state.messages, state.outbox]);
  return {
    entries,
    isLoaded: state.isLoaded,
    hasOlder: state.hasOlder,
    isLoadingOlder,
    status: link.status,
    transport: link.transport,
    notice,
    send,
    retry,
    discard,
    remove,
    loadOlder: () => void loadOlder(),
    dismissNotice: () => setNotice(null),
  };
}

function describeSendError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'NETWORK') return 'No connection.';
    if (error.code === 'RATE_LIMITED' && error.retryAfter !== null) {
      return `Sending too fast; wait ${error.retryAfter} s.`;
    }
    return error.message;
  }
  return 'Something went wrong.';
}
