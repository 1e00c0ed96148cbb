// The logged-in page: a header (name, connection, log out), the conversation, the composer.
import { useRef, useState } from 'preact/hooks';
import { logout } from '../api.js';
import { hueOf, initialOf } from '../format.js';
import { useChat } from '../hooks/use-chat.js';
import { useUnreadTitle } from '../hooks/use-unread-title.js';
import { Composer } from './Composer.js';
import { Logo } from './Logo.js';
import { MessageList } from './MessageList.js';
import { StatusIndicator } from './StatusIndicator.js';

interface Props {
  me: string;
  onLoggedOut(): void;
  /** `reason`: the server's sentence, when it said why. */
  onSessionEnded(reason: string | null): void;
}

export function ChatScreen({ me, onLoggedOut, onSessionEnded }: Props) {
  // While our own log-out is on its way, the session ending is its expected outcome, not news:
  // the server ends this tab's stream with a logout event before it answers the DELETE, and
  // passing that on would flash "your session ended" on the login form (and have it read out).
  const leaving = useRef({ isLeaving: false, hasEnded: false });
  const chat = useChat(me, (reason) => {
    if (leaving.current.isLeaving) leaving.current.hasEnded = true;
    else onSessionEnded(reason);
  });
  const [isLeaving, setLeaving] = useState(false);
  const [logoutError, setLogoutError] = useState<string | null>(null);
  useUnreadTitle(chat.entries, chat.isLoaded);

  const leave = async () => {
    leaving.current = { isLeaving: true, hasEnded: false };
    setLeaving(true);
    try {
      await logout();
      onLoggedOut();
    } catch (error) {
      // The answer was lost, but the session did end: the feed heard so and has stopped.
      if (leaving.current.hasEnded) return onLoggedOut();
      leaving.current.isLeaving = false;
      setLogoutError(`Couldn’t log out: ${(error as Error).message}`);
      setLeaving(false);
    }
  };
  const notice = logoutError ?? chat.notice;

  return (
    <div class="app">
      <h1 class="sr-only">Parley chat</h1>
      <header class="bar">
        <div class="brand">
          <Logo size={28} />
          <span class="name">Parley</span>
        </div>
        <StatusIndicator status={chat.status} transport={chat.transport} />
        <div class="account">
          <span class="me" title={`Logged in as ${me}`}>
            <span class={`avatar small hue${hueOf(me)}`} aria-hidden="true">
              {initialOf(me)}
            </span>
            <span class="me-name">{me}</span>
          </span>
          <button type="button" class="ghost" onClick={leave} disabled={isLeaving}>
            Log out
          </button>
        </div>
      </header>
      {notice && (
        <div class="toast" role="alert">
          <span>{notice}</span>
          <button
            type="button"
            class="link"
            aria-label="Dismiss"
            onClick={() => {
              setLogoutError(null);
              chat.dismissNotice();
            }}
          >
            ✕
          </button>
        </div>
      )}
      <main class="chat">
        <MessageList
          entries={chat.entries}
          isLoaded={chat.isLoaded}
          hasOlder={chat.hasOlder}
          isLoadingOlder={chat.isLoadingOlder}
          onLoadOlder={chat.loadOlder}
          onDelete={chat.remove}
          onRetry={chat.retry}
          onDiscard={chat.discard}
        />
        <Composer onSend={chat.send} />
      </main>
    </div>
  );
}
