// The first screen: pick a name. The name is checked here with the server's own rules
// (protocol/username.ts) for an instant answer; whatever the server still refuses is shown the
// same way, in its words, next to the field.
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { login } from '../api.js';
import { checkUsername } from '../../../protocol/username.js';
import { Logo } from './Logo.js';

interface Props {
  /** Why the user is here again (session ended), if there is something to say. */
  notice: string | null;
  onLoggedIn(username: string): void;
}

export function Login({ notice, onLoggedIn }: Props) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [isBusy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  // Not the autofocus attribute: after a logout this form mounts again in the same page load,
  // and a browser honours autofocus only once per load.
  useLayoutEffect(() => input.current?.focus(), []);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (isBusy) return;
    const check = checkUsername(name);
    if (!check.ok) return setError(asSentence(check.message));
    setBusy(true);
    setError(null);
    try {
      onLoggedIn(await login(check.username));
    } catch (error) {
      setError(asSentence((error as Error).message));
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form class="card" onSubmit={submit} noValidate>
        <Logo size={48} />
        <h1>Welcome to Parley</h1>
        <p class="lead">Pick a name to join the conversation.</p>
        {notice && (
          <p class="notice" role="status">
            {asSentence(notice)}
          </p>
        )}
        <label for="username">Your name</label>
        <input
          id="username"
          name="username"
          ref={input}
          value={name}
          autoComplete="username"
          autoCapitalize="off"
          spellcheck={false}
          aria-invalid={error !== null}
          aria-describedby={error ? 'username-error' : undefined}
          onInput={(event) => {
            setName((event.currentTarget as HTMLInputElement).value);
            setError(null);
          }}
        />
        <p id="username-error" class="field-error" role="alert">
          {error ?? ''}
        </p>
        <button type="submit" class="primary" disabled={isBusy}>
          {isBusy ? 'Joining…' : 'Join the chat'}
        </button>
      </form>
    </main>
  );
}

/** The server's wording, starting with a capital and ending with a full stop, as a sentence on a page does. */
function asSentence(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(sentence) ? sentence : `${sentence}.`;
}
