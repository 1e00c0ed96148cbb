// Which screen to show: nothing while the session check runs (a reload should not flash the
// login form), the login form, or the chat.
import { useEffect, useState } from 'preact/hooks';
import { getSession } from '../api.js';
import { ChatScreen } from './ChatScreen.js';
import { Login } from './Login.js';

type Session =
  | { state: 'checking' }
  | { state: 'out'; notice: string | null }
  | { state: 'in'; username: string };

const SESSION_ENDED = 'Your session has ended. Log in again to keep chatting.';

export function App() {
  const [session, setSession] = useState<Session>({ state: 'checking' });

  useEffect(() => {
    getSession().then(
      (username) => setSession(username === null ? { state: 'out', notice: null } : { state: 'in', username }),
      (error: Error) => setSession({ state: 'out', notice: error.message }),
    );
  }, []);

  switch (session.state) {
    case 'checking':
      return <div class="splash" aria-busy="true" />;
    case 'out':
      return <Login notice={session.notice} onLoggedIn={(username) => setSession({ state: 'in', username })} />;
    case 'in':
      return (
        <ChatScreen
          key={session.username}
          me={session.username}
          onLoggedOut={() => setSession({ state: 'out', notice: null })}
          onSessionEnded={(reason) => setSession({ state: 'out', notice: reason ?? SESSION_ENDED })}
        />
      );
  }
}
